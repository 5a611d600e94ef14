// Package dynalitetest starts dynalite, a DynamoDB-compatible server, for
// integration tests.
//
// Lifecycle: Start launches one dynalite process per call on a free loopback
// port with --createTableMs 0 and stops it with t.Cleanup. dynalite is found in
// the module's node_modules (installed by `make test` from the committed
// package-lock.json) or at $LAWCKET_DYNALITE. When it cannot be started the
// test is skipped, except under CI=true, where it fails: CI must never pass
// by skipping the real server.
//
// Start is safe to call from parallel tests; each call gets its own server.
// Launch does the same outside a test (demos, tools) and returns a stop
// function. Counter (installed with WithCounter, or in front of the server
// with Proxy) counts a client's requests by operation, to assert how many
// DynamoDB calls a lifecycle makes.
package dynalitetest
