package doctest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/cli"
)

// flagDocs says where each subcommand's flags are documented: a page and
// the anchor of its section. A subcommand of `lawcket -h` missing here must
// still have a "## lawcket NAME" section in docs/cli.md, which is then where
// its flags must be.
var flagDocs = map[string]string{
	"broadcast": "docs/broadcast.md#from-the-command-line",
	"dev":       "docs/local-dev.md#flags",
}

var (
	helpCommand = regexp.MustCompile(`(?m)^  ([a-z][a-z-]*)\s{2,}\S`)
	helpFlag    = regexp.MustCompile(`(?m)^  -([A-Za-z][\w-]*)`)
	tableFlag   = regexp.MustCompile("(?m)^\\| `--?([A-Za-z][\\w-]*)")
)

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut); code != cli.ExitOK {
		t.Fatalf("lawcket %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String() + errOut.String()
}

// section returns the part of a markdown page under the heading whose
// anchor is id, up to the next heading of the same or a higher level.
func section(page, id string) (string, bool) {
	lines := strings.Split(page, "\n")
	pl := prose(page)
	seen := map[string]int{}
	start, level := -1, 0
	for i, l := range lines {
		if _, ok := pl[i+1]; !ok {
			continue
		}
		m := heading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		lv := len(l) - len(strings.TrimLeft(l, "#"))
		if start >= 0 && lv <= level {
			return strings.Join(lines[start:i], "\n"), true
		}
		a := slug(m[1], seen)
		if start < 0 && a == id {
			start, level = i, lv
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Join(lines[start:], "\n"), true
}

// TestFlagsDocumented checks that every subcommand `lawcket -h` lists has a
// section in docs/cli.md, and that every flag its -h prints is named (-flag
// or --flag) where flagDocs says its flags are documented; a flags table
// (docs/local-dev.md) names no flag the command does not have.
func TestFlagsDocumented(t *testing.T) {
	dir := root(t)
	read := func(page string) string {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(page)))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	cliPage := read("docs/cli.md")
	for _, m := range helpCommand.FindAllStringSubmatch(runCLI(t, "-h"), -1) {
		name := m[1]
		if _, ok := section(cliPage, "lawcket-"+name); !ok {
			t.Errorf("docs/cli.md has no section \"## lawcket %s\" for the subcommand %s", name, name)
			continue
		}
		where := flagDocs[name]
		if where == "" {
			where = "docs/cli.md#lawcket-" + name
		}
		page, id, _ := strings.Cut(where, "#")
		text, ok := section(read(page), id)
		if !ok {
			t.Errorf("%s: no section #%s (the flags of lawcket %s)", page, id, name)
			continue
		}
		help := runCLI(t, name, "-h")
		have := map[string]bool{}
		for _, f := range helpFlag.FindAllStringSubmatch(help, -1) {
			have[f[1]] = true
			mention := regexp.MustCompile(`(^|[^\w-])--?` + regexp.QuoteMeta(f[1]) + `\b`)
			if !mention.MatchString(text) {
				t.Errorf("%s: lawcket %s has the flag -%s, which the section does not name", where, name, f[1])
			}
		}
		for _, f := range tableFlag.FindAllStringSubmatch(text, -1) {
			if !have[f[1]] {
				t.Errorf("%s: the table names the flag %s, which lawcket %s does not have", where, f[1], name)
			}
		}
	}
}
