package doctest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTranscript(t *testing.T) {
	tests := []struct {
		name string
		md   string
		want []step // nil with wantErr "" means a not-checked block
		err  string
	}{
		{
			name: "commands, output, status",
			md: "```console\n$ lawcket validate -c a.yaml\nok: 1 field\n$ echo $?\n0\n" +
				"$ LAWCKET_TTL=x lawcket eval -e - --data '{\"a\": 1}' < ev.json\n```\n",
			want: []step{
				{line: 2, args: []string{"lawcket", "validate", "-c", "a.yaml"}, want: []string{"ok: 1 field"}, wantFirst: 3, code: "0"},
				{line: 6, env: []string{"LAWCKET_TTL=x"}, args: []string{"lawcket", "eval", "-e", "-", "--data", `{"a": 1}`}, stdin: "ev.json"},
			},
		},
		{
			name: "continuation line",
			md:   "```console\n$ lawcket table \\\n  --format sam\nx\n```\n",
			want: []step{{line: 2, args: []string{"lawcket", "table", "--format", "sam"}, want: []string{"x"}, wantFirst: 4}},
		},
		{name: "not checked", md: "```console\n# not checked: needs a server\n$ lawcket dev\n```\n"},
		{name: "not checked without reason", md: "```console\n# not checked:\n$ lawcket dev\n```\n", err: "needs a reason"},
		{name: "another command", md: "```console\n$ ls\n```\n", err: "only lawcket commands"},
		{name: "a pipe", md: "```console\n$ lawcket eval | jq\n```\n", err: "not supported"},
		{name: "output first", md: "```console\nhello\n```\n", err: "starts with"},
		{name: "echo without status", md: "```console\n$ lawcket version\n$ echo $?\n```\n", err: "followed by the status"},
		{name: "unterminated quote", md: "```console\n$ lawcket eval --data 'x\n```\n", err: "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs, err := blocks(tt.md)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := parseTranscript(bs[0])
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if tr != nil {
					t.Fatalf("got %+v, want a not-checked block", tr)
				}
				return
			}
			if !reflect.DeepEqual(tr.steps, tt.want) {
				t.Errorf("steps:\n got %+v\nwant %+v", tr.steps, tt.want)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	bs, err := blocks("text\n```yaml file=typo.yaml\na: 1\n```\n\n```\nplain\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].lang != "yaml" || bs[0].attrs["file"] != "typo.yaml" || bs[0].line != 2 ||
		!reflect.DeepEqual(bs[0].body, []string{"a: 1"}) || bs[1].lang != "" {
		t.Errorf("blocks = %+v", bs)
	}
	if _, err := blocks("```go\nunclosed\n"); err == nil {
		t.Error("an unclosed block is not an error")
	}
}

func TestNormalize(t *testing.T) {
	got := normalize("lawcket (devel) go1.26.8 linux/amd64\nlawcket v1.0.0 go1.27rc1 darwin/arm64")
	want := "lawcket (devel) GOVERSION GOOS/GOARCH\nlawcket v1.0.0 GOVERSION GOOS/GOARCH"
	if got != want {
		t.Errorf("normalize = %q, want %q", got, want)
	}
}

func TestAnchors(t *testing.T) {
	got := anchors("# Local development: `lawcket dev`\n```\n# not a heading\n```\n## lawcket-sync: the sync, no code\n## Flags\n## Flags\n### [The chat](x.md) **example**\n")
	for _, id := range []string{"local-development-lawcket-dev", "lawcket-sync-the-sync-no-code", "flags", "flags-1", "the-chat-example"} {
		if !got[id] {
			t.Errorf("no anchor %q in %v", id, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block became a heading")
	}
}

// TestIndentedBlocks: a fence inside a list item is a block too, its body
// without the fence's indentation (a transcript there is run like any).
func TestIndentedBlocks(t *testing.T) {
	bs, err := blocks("- a step:\n\n  ```console\n  $ lawcket version\n    indented output\n  ```\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].lang != "console" || len(bs[0].body) != 2 || bs[0].body[0] != "$ lawcket version" || bs[0].body[1] != "  indented output" {
		t.Fatalf("blocks = %+v", bs)
	}
}

// TestLongerFences: a block opened by four backticks holds lines of three
// and ends at a fence at least as long; a markdown block's own blocks
// follow it, at their lines in the page.
func TestLongerFences(t *testing.T) {
	bs, err := blocks("````markdown\n```console\n$ lawcket dev\n```\n````\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].lang != "markdown" || len(bs[0].body) != 3 ||
		bs[1].lang != "console" || bs[1].line != 2 || len(bs[1].body) != 1 || bs[1].body[0] != "$ lawcket dev" {
		t.Fatalf("blocks = %+v", bs)
	}
}
