// Package e2e holds the end-to-end tests of the local gateway (`lawcket dev`,
// internal/devgw) running the built chat example (examples/chat): real
// WebSocket clients (github.com/coder/websocket), the table read through the
// gateway's DynamoDB endpoint with the AWS SDK, the Management API called
// with the SDK's apigatewaymanagementapi client, and a headless chromium
// driven over the DevTools protocol.
//
// Lifecycle: the chat binary and the lawcket command are built once per test
// run into a temporary directory; each test starts its own gateway (free
// loopback port, embedded DynamoDB) and stops it at cleanup. Tests do not
// share state and may run in parallel.
//
// The browser test needs chromium (Debian: apt-get install -y chromium). It
// skips when chromium is missing, except under CI=true, where it fails.
package e2e
