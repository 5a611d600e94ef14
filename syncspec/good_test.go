package syncspec_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

func event(t testing.TB, name string) *events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	req := lawckettest.ReadEvent(t, filepath.Join("..", "testdata", "events", name+".json"))
	return &req
}

func TestGoodSpecsLoad(t *testing.T) {
	files, _ := filepath.Glob("../testdata/spec/good/*.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d good specs", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			spec, err := syncspec.Load(file, syncspec.WithLookupEnv(envOf("STAGE_NAME", "prod")))
			if err != nil {
				t.Fatal(err)
			}
			if spec.Table == "" || spec.Program == nil || spec.File != file {
				t.Fatalf("incomplete spec %+v", spec)
			}
			if _, err := spec.Evaluate(event(t, "connect")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExampleSpec(t *testing.T) {
	spec, err := syncspec.Load("../testdata/spec/good/example.yaml", syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Table != "Connections" || spec.TTL != 3*time.Hour || !reflect.DeepEqual(spec.Env, []string{"STAGE_NAME"}) {
		t.Fatalf("got table %q ttl %v env %v", spec.Table, spec.TTL, spec.Env)
	}
	var names []string
	for _, f := range spec.Fields {
		names = append(names, f.Name)
	}
	if want := "channel plan user room team tenant"; strings.Join(names, " ") != want {
		t.Fatalf("fields %v, want %s in file order", names, want)
	}
	room, ok := spec.Field("room")
	if !ok || !room.Index || !room.Required || room.Type != eval.String || room.Line != 10 || room.Column != 3 {
		t.Fatalf("room: %+v", room)
	}
	if idx := spec.IndexFields(); len(idx) != 1 || idx[0].Name != "room" {
		t.Fatalf("IndexFields: %+v", idx)
	}
	tenant, _ := spec.Field("tenant")
	if tenant.Type != eval.String {
		t.Fatalf("tenant type %v", tenant.Type)
	}

	req := event(t, "connect-authorizer")
	req.QueryStringParameters["room"] = "lobby"
	req.Headers["X-Team"] = "Red"
	req.RequestContext.Authorizer.(map[string]any)["tenantId"] = "acme"
	out, err := spec.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"channel": "#general", "plan": map[string]any{"tier": "free"}, "user": "anonymous",
		"room": "lobby", "team": "red", "tenant": "acme",
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("got %v\nwant %v", out, want)
	}

	// No query string: user is anonymous, and the required room refuses.
	_, err = spec.Evaluate(event(t, "connect-no-query"))
	var r *eval.Refusal
	if !errors.As(err, &r) || r.Field != "room" {
		t.Fatalf("got %v, want a refusal naming room", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	missing, err := os.ReadFile("../testdata/spec/bad/missing-table.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := []byte("table: Connections\nttl: 3h\n")
	tests := []struct {
		name  string
		data  []byte
		env   []string
		table string
		ttl   time.Duration
		err   string
	}{
		{"file", good, nil, "Connections", 3 * time.Hour, ""},
		{"table override", good, []string{"LAWCKET_TABLE", "Other"}, "Other", 3 * time.Hour, ""},
		{"ttl override", good, []string{"LAWCKET_TTL", "90m"}, "Connections", 90 * time.Minute, ""},
		{"table from env only", missing, []string{"LAWCKET_TABLE", "FromEnv"}, "FromEnv", 2 * time.Hour, ""},
		{"empty means unset", good, []string{"LAWCKET_TABLE", "", "LAWCKET_TTL", ""}, "Connections", 3 * time.Hour, ""},
		{"bad ttl names the variable", good, []string{"LAWCKET_TTL", "3x"}, "", 0, `LAWCKET_TTL: invalid duration "3x"`},
		{"negative ttl", good, []string{"LAWCKET_TTL", "-1h"}, "", 0, `LAWCKET_TTL: invalid duration "-1h": must be positive`},
		{"bad table names the variable", good, []string{"LAWCKET_TABLE", "a b"}, "", 0, `LAWCKET_TABLE: invalid table name "a b"`},
		{"env errors come first", missing, []string{"LAWCKET_TTL", "x"}, "", 0, "LAWCKET_TTL: invalid duration \"x\": want a Go duration such as 3h or 90m\nspec.yaml:1:1: table: table is required"},
		{"an invalid file value is reported under an override", []byte("table: a b\n"), []string{"LAWCKET_TABLE", "Good"}, "", 0, `spec.yaml:1:8: table: invalid table name "a b"`},
		{"an override of an invalid file value", []byte("table: [x]\nttl: 3h\n"), []string{"LAWCKET_TABLE", "Good"}, "", 0, `spec.yaml:1:8: table: must be a table name`},
		{"other LAWCKET_ variables ignored", good, []string{"LAWCKET_SPEC", "x.yaml", "LAWCKET_FOO", "bar"}, "Connections", 3 * time.Hour, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := syncspec.Parse("spec.yaml", tt.data, syncspec.WithLookupEnv(envOf(tt.env...)))
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error starting %q", err, tt.err)
				}
				var errs syncspec.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("%T is not syncspec.Errors", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Table != tt.table || spec.TTL != tt.ttl {
				t.Fatalf("got %q %v, want %q %v", spec.Table, spec.TTL, tt.table, tt.ttl)
			}
		})
	}
}

func TestEnvAllowlist(t *testing.T) {
	data := []byte("table: T12\nenv: [STAGE_NAME, UNSET]\nfields:\n  s:\n    expr: env.STAGE_NAME\n  u:\n    expr: env.UNSET ?? \"none\"\n")
	lookup := envOf("STAGE_NAME", "prod", "HOME", "/root")
	spec, err := syncspec.Parse("spec.yaml", data, syncspec.WithLookupEnv(lookup))
	if err != nil {
		t.Fatal(err)
	}
	out, err := spec.Evaluate(event(t, "connect"))
	if err != nil || out["s"] != "prod" || out["u"] != "none" {
		t.Fatalf("got %v, %v", out, err)
	}
	// HOME is set, but not allowlisted: a compile error.
	_, err = syncspec.Parse("spec.yaml", []byte("table: T12\nfields:\n  h:\n    expr: env.HOME\n"), syncspec.WithLookupEnv(lookup))
	if err == nil || !strings.Contains(err.Error(), "spec.yaml:4:15: fields.h.expr: env.HOME is not allowlisted") {
		t.Fatalf("got %v", err)
	}
}

func TestReservedConnectionID(t *testing.T) {
	// A field named connectionId is rejected at load...
	_, err := syncspec.Parse("spec.yaml", []byte("table: T12\nfields:\n  connectionId:\n    expr: query.connectionId\n"), syncspec.WithLookupEnv(noEnv))
	if err == nil || !strings.Contains(err.Error(), "spec.yaml:3:3: fields.connectionId: connectionId is reserved") {
		t.Fatalf("got %v", err)
	}
	// ...and a query parameter named connectionId stays data.
	spec, err := syncspec.Parse("spec.yaml", []byte("table: T12\nfields:\n  asked:\n    expr: query.connectionId\n"), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatal(err)
	}
	req := event(t, "connect")
	req.QueryStringParameters["connectionId"] = "evil"
	out, err := spec.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out["connectionId"]; ok || out["asked"] != "evil" {
		t.Fatalf("got %v", out)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := syncspec.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
}

func TestScalarTableName(t *testing.T) {
	spec, err := syncspec.Parse("spec.yaml", []byte("table: 123\n"), syncspec.WithLookupEnv(noEnv))
	if err != nil || spec.Table != "123" {
		t.Fatalf("got %v, %v", spec, err)
	}
}

func TestWithEvalOptions(t *testing.T) {
	data := []byte("table: T12\nfields:\n  n:\n    expr: 1 + 2 + 3 + 4 + 5\n")
	if _, err := syncspec.Parse("spec.yaml", data, syncspec.WithLookupEnv(noEnv)); err != nil {
		t.Fatal(err)
	}
	_, err := syncspec.Parse("spec.yaml", data, syncspec.WithLookupEnv(noEnv), syncspec.WithEvalOptions(eval.Options{MaxNodes: 3}))
	if err == nil || !strings.Contains(err.Error(), "fields.n.expr: compilation failed: expression exceeds maximum allowed nodes") {
		t.Fatalf("got %v, want a node-budget error at the expression", err)
	}
}
