package cli_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/lawcket/lawcket/internal/cli"
)

// Main is the whole command: arguments in, output on the writers, the exit
// code out.
func ExampleMain() {
	code := cli.Main(context.Background(),
		[]string{"validate", "-c", "../../testdata/cli/spec/lawcket.yaml"},
		os.Stdin, os.Stdout, os.Stderr)
	fmt.Println("exit", code)
	// Output:
	// ok: 6 fields (4 expressions)
	// exit 0
}

// A connect event without the required room is refused, as the sync Lambda
// would refuse the client; the exit code is 1.
func ExampleMain_refused() {
	code := cli.Main(context.Background(),
		[]string{"eval", "-c", "../../testdata/cli/spec/lawcket.yaml", "-e", "-"},
		strings.NewReader(`{"requestContext": {"eventType": "CONNECT", "routeKey": "$connect", "connectionId": "abc="}}`),
		os.Stdout, os.Stdout)
	fmt.Println("exit", code)
	// Output:
	// refused: 400: field room: required, but its expression gave nil
	// exit 1
}

// eval prints the row a connect event would write; --now fixes the clock
// (the spec has no ttl, so here it changes nothing).
func ExampleMain_eval() {
	event := `{"requestContext": {"eventType": "CONNECT", "routeKey": "$connect",
	  "connectionId": "abc=", "domainName": "example.com", "stage": "prod", "connectedAt": 1795568400000}}`
	code := cli.Main(context.Background(),
		[]string{"eval", "-c", "../../testdata/cli/spec/minimal.yaml", "-e", "-", "--now", "2026-11-25T01:00:00Z"},
		strings.NewReader(event), os.Stdout, os.Stdout)
	fmt.Println("exit", code)
	// Output:
	// {
	//   "app": "chat",
	//   "connectedAt": 1795568400000,
	//   "connectionId": "abc=",
	//   "domainName": "example.com",
	//   "stage": "prod"
	// }
	// exit 0
}
