package syncspec_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/syncspec"
)

func ExampleParse() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(`
table: Connections
ttl: 2h
fields:
  channel: "#general"
  user:
    expr: query.user ?? "anonymous"
  room:
    expr: query.room
    required: true
    index: true
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Table, spec.TTL)
	for _, f := range spec.Fields {
		fmt.Printf("%s index=%v type=%v\n", f.Name, f.Index, f.Type)
	}
	row, err := spec.Evaluate(&events.APIGatewayWebsocketProxyRequest{
		QueryStringParameters: map[string]string{"room": "lobby"},
	})
	fmt.Println(row, err)
	// Output:
	// Connections 2h0m0s
	// channel index=false type=any
	// user index=false type=any
	// room index=true type=string
	// map[channel:#general room:lobby user:anonymous] <nil>
}

func ExampleErrors() {
	_, err := syncspec.Parse("lawcket.yaml", []byte(`
tabel: Connections
fields:
  connectionId: x
  room:
    expr: query.room ?? usr
`))
	fmt.Println(err)

	var errs syncspec.Errors
	if errors.As(err, &errs) {
		fmt.Println(len(errs), "problems; the first at line", errs[0].Line)
	}
	// Output:
	// lawcket.yaml:2:1: tabel: unknown key tabel (did you mean table?)
	// lawcket.yaml:2:1: table: table is required (or set LAWCKET_TABLE)
	// lawcket.yaml:4:3: fields.connectionId: connectionId is reserved: lawcket writes it itself
	// lawcket.yaml:6:25: fields.room.expr: unknown name usr
	//  | query.room ?? usr
	//  | ..............^
	// 4 problems; the first at line 2
}

func ExampleLoad() {
	// WithLookupEnv stands in for the process environment (LAWCKET_TABLE,
	// LAWCKET_TTL and the env: allowlist); without it, Load reads os env.
	env := map[string]string{"LAWCKET_TABLE": "Connections-prod", "STAGE_NAME": "prod"}
	spec, err := syncspec.Load("../testdata/spec/good/example.yaml", syncspec.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Table, spec.TTL, spec.Env)
	for _, f := range spec.IndexFields() {
		fmt.Printf("index %s (%s) at %d:%d\n", f.Name, f.Type, f.Line, f.Column)
	}
	// Output:
	// Connections-prod 3h0m0s [STAGE_NAME]
	// index room (string) at 10:3
}

// A function's main loads its spec once: $LAWCKET_CONFIG, else lawcket.yaml
// beside the bootstrap.
func ExampleLoadFunction() {
	dir, err := os.MkdirTemp("", "spec")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "lawcket.yaml")
	if err := os.WriteFile(path, []byte("table: Connections\nttl: 2h\n"), 0o644); err != nil {
		panic(err)
	}
	getenv := func(k string) string { // os.Getenv in a real main
		if k == syncspec.EnvConfig {
			return path
		}
		return ""
	}
	spec, err := syncspec.LoadFunction(getenv, syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(spec.Table, spec.TTL)
	// Output: Connections 2h0m0s
}
