package syncspec_test

import (
	"errors"
	"fmt"

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
