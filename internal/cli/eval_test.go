package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const fixedNow = "2026-11-25T01:00:00Z"

func TestEvalGolden(t *testing.T) {
	readme := specDir + "lawcket.yaml"
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"eval-json", []string{"eval", "-c", readme, "-e", eventDir + "connect.json", "--now", fixedNow}, ExitOK},
		{"eval-dynamodb", []string{"eval", "-c", readme, "-e", eventDir + "connect.json", "--now", fixedNow, "--format", "dynamodb"}, ExitOK},
		{"eval-indexes", []string{"eval", "-c", specDir + "indexes.yaml", "-e", eventDir + "connect.json", "--now", fixedNow}, ExitOK},
		{"eval-minimal", []string{"eval", "-c", specDir + "minimal.yaml", "-e", eventDir + "connect-no-query.json", "--now", fixedNow}, ExitOK},
		{"eval-refused", []string{"eval", "-c", readme, "-e", eventDir + "connect-no-query.json", "--now", fixedNow}, ExitFindings},
		{"eval-message", []string{"eval", "-c", readme, "-e", eventDir + "message.json"}, ExitFindings},
		{"eval-disconnect", []string{"eval", "-c", readme, "-e", eventDir + "disconnect.json"}, ExitFindings},
		{"eval-malformed", []string{"eval", "-c", readme, "-e", eventDir + "malformed.json"}, ExitFindings},
		{"eval-wrong-type", []string{"eval", "-c", readme, "-e", eventDir + "wrong-type.json"}, ExitFindings},
		{"eval-empty", []string{"eval", "-c", readme, "-e", eventDir + "empty.json"}, ExitFindings},
		{"eval-not-websocket", []string{"eval", "-c", readme, "-e", eventDir + "not-websocket.json"}, ExitFindings},
		{"eval-missing-event", []string{"eval", "-c", readme, "-e", eventDir + "missing.json"}, ExitFindings},
		{"eval-bad-spec", []string{"eval", "-c", specDir + "bad.yaml", "-e", eventDir + "connect.json"}, ExitFindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			golden(t, tt.name, code, stdout, stderr)
		})
	}
}

// TestEvalStdin reads the event from stdin with -e - and checks it gives the
// same row as the file.
func TestEvalStdin(t *testing.T) {
	event, err := os.ReadFile(eventDir + "connect.json")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"eval", "-c", specDir + "lawcket.yaml", "--now", fixedNow, "-e"}
	code, fromStdin, stderr := run(t, string(event), append(args, "-")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, fromFile, _ := run(t, "", append(args, eventDir+"connect.json")...)
	if fromStdin != fromFile {
		t.Errorf("stdin gives\n%s\nthe file gives\n%s", fromStdin, fromFile)
	}

	code, _, stderr = run(t, "{", append(args, "-")...)
	if code != ExitFindings || !strings.Contains(stderr, "<stdin>:1:2: ") {
		t.Errorf("truncated stdin: exit %d, stderr %q", code, stderr)
	}
}

// TestEvalRow checks the row's content rather than its text: the reserved
// attributes come from the event, the fields from the spec, expiresAt from
// --now + ttl, and the two formats agree.
func TestEvalRow(t *testing.T) {
	args := []string{"eval", "-c", specDir + "lawcket.yaml", "-e", eventDir + "connect.json", "--now", fixedNow}
	code, plain, stderr := run(t, "", args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var row map[string]any
	dec := json.NewDecoder(strings.NewReader(plain))
	dec.UseNumber()
	if err := dec.Decode(&row); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, plain)
	}
	want := map[string]any{
		"connectionId": "BPz8deaBDoECFmg=",
		"domainName":   "abc123.execute-api.eu-west-1.amazonaws.com",
		"stage":        "prod",
		"connectedAt":  json.Number("1795568400000"),
		"expiresAt":    json.Number("1795579200"), // 2026-11-25T01:00:00Z + 3h
		"channel":      "#general",
		"user":         "ada",
		"room":         "r1",
		"team":         "blue",
		"tenant":       "acme",
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("%s = %#v, want %#v", k, row[k], v)
		}
	}
	if plan, _ := row["plan"].(map[string]any); plan["tier"] != "free" {
		t.Errorf("plan = %#v, want {tier: free}", row["plan"])
	}

	code, wire, stderr := run(t, "", append(args, "--format", "dynamodb")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	item, err := attributevalue.UnmarshalMapJSON([]byte(wire))
	if err != nil {
		t.Fatalf("--format dynamodb is not DynamoDB JSON: %v\n%s", err, wire)
	}
	if n, ok := item["expiresAt"].(*types.AttributeValueMemberN); !ok || n.Value != "1795579200" {
		t.Errorf("expiresAt = %#v, want N 1795579200", item["expiresAt"])
	}
	if s, ok := item["connectionId"].(*types.AttributeValueMemberS); !ok || s.Value != "BPz8deaBDoECFmg=" {
		t.Errorf("connectionId = %#v", item["connectionId"])
	}
	back, err := itemJSON(item)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != plain {
		t.Errorf("the formats disagree: dynamodb read back gives\n%s\njson gives\n%s", back, plain)
	}
}

// TestEvalInvalidEvents runs eval over testdata/events/invalid: each one is
// an error naming the file, never a row.
func TestEvalInvalidEvents(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/events/invalid/*.json")
	if len(paths) == 0 {
		t.Fatal("no events in testdata/events/invalid")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			code, stdout, stderr := run(t, "", "eval", "-c", specDir+"minimal.yaml", "-e", path, "--now", fixedNow)
			if code != ExitFindings || stdout != "" || !strings.Contains(stderr, path+":") {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}

// TestEvalEvents runs eval over every event of testdata/events: connect
// events give a row, the others are refused as not connects.
func TestEvalEvents(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/events/*.json")
	if len(paths) == 0 {
		t.Fatal("no events in testdata/events")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var probe struct {
				RequestContext struct{ EventType string } `json:"requestContext"`
			}
			if err := json.Unmarshal(data, &probe); err != nil {
				t.Fatalf("not a JSON event: %v", err)
			}
			code, stdout, stderr := run(t, "", "eval", "-c", specDir+"minimal.yaml", "-e", path, "--now", fixedNow)
			switch probe.RequestContext.EventType {
			case "CONNECT":
				// minimal.yaml has only a literal field: every connect gets a row.
				var row map[string]any
				if code != ExitOK || json.Unmarshal([]byte(stdout), &row) != nil || row["app"] != "chat" || row["connectionId"] == "" {
					t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
			default:
				if code != ExitFindings || !strings.Contains(stderr, "only connect events write rows") || stdout != "" {
					t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
				}
			}
		})
	}
}

func TestPosition(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n}")
	for _, tt := range []struct{ offset, line, col int }{
		{0, 1, 1}, {1, 1, 2}, {2, 2, 1}, {4, 2, 3}, {len(data), 3, 2}, {-5, 1, 1}, {999, 3, 2},
	} {
		if line, col := position(data, tt.offset); line != tt.line || col != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.offset, line, col, tt.line, tt.col)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
