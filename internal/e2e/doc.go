// Package e2e holds the end-to-end tests of the local gateway (`lawcket dev`,
// internal/devgw) running the built chat example (examples/chat): real
// WebSocket clients (github.com/coder/websocket), the table read through the
// gateway's DynamoDB endpoint with the AWS SDK, the Management API called
// with the SDK's apigatewaymanagementapi client, and a headless chromium
// driven over the DevTools protocol.
//
// Lifecycle: the chat binary and the lawcket command are built once per test
// run (go build, into a temporary directory removed by TestMain); each test
// starts its own gateway (in-process devgw.Gateway on a free loopback port
// with the embedded DynamoDB, or `lawcket dev` as a process for the CLI test
// and the benchmark) and stops it at cleanup. Tests share no state; they run
// one after another, as the gateway and its handler processes already keep
// the machine's cores busy.
//
// The browser test needs chromium (Debian: apt-get install -y chromium, or
// $LAWCKET_CHROMIUM). It skips when chromium is missing, except under CI=true,
// where it fails. The dynalite variant follows internal/dynalitetest's rule
// (skip locally without Node, fail under CI=true). Set E2E_VERBOSE=1 to see
// the gateway's and the handler's output of passing tests too.
package e2e
