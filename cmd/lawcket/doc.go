// Command lawcket validates a lawcket.yaml, dry-runs the row a connect event
// writes, prints the table definition, broadcasts to stored connections and
// runs a local API Gateway WebSocket gateway. See the README.
//
// Lifecycle: main builds nothing itself; it hands os.Args, the standard
// streams and a context cancelled by SIGINT/SIGTERM to internal/cli.Main and
// exits with the code it returns (0 ok, 1 findings, 2 usage). Every
// subcommand is a function of its arguments and streams, tested with buffers.
package main
