package stack_test

import (
	"fmt"

	"github.com/lawcket/lawcket/internal/stack"
	"github.com/lawcket/lawcket/syncspec"
)

// The policy of the app's function is derived from what it calls: the row
// operations on the table, Query on the declared index only, and POST to
// this API's connections.
func ExampleFunction_Statements() {
	spec, err := syncspec.Parse("lawcket.yaml", []byte(`
table: chat-connections
fields:
  room: {expr: query.room, required: true, index: true}
api:
  routes: [send]
`), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := stack.New(spec, stack.Options{Shape: stack.Sync})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range s.Functions {
		fmt.Println(f.ID)
		for _, st := range f.Statements() {
			fmt.Println(" ", st.Sid, st.Actions)
		}
	}
	for _, r := range s.Routes {
		fmt.Println(r.Key, "→", r.Function.ID)
	}
	// Output:
	// AppFunction
	//   ConnectionsTable [dynamodb:GetItem dynamodb:DeleteItem]
	//   ConnectionsTableIndexes [dynamodb:Query]
	//   ManageConnections [execute-api:ManageConnections]
	// SyncFunction
	//   ConnectionsTable [dynamodb:PutItem dynamodb:DeleteItem]
	// $connect → SyncFunction
	// $disconnect → SyncFunction
	// $default → AppFunction
	// send → AppFunction
}
