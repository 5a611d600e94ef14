// Package sqstest starts sqslite, an SQS-compatible server, for integration
// tests.
//
// sqslite (npm, pinned by the module's package-lock.json and installed by
// `make test`) speaks the SQS Query protocol, which is why the module pins
// github.com/aws/aws-sdk-go-v2/service/sqs at v1.26.0, the newest version
// the Go module proxy serves that still speaks it (docs/scale.md).
//
// Lifecycle: Start launches one sqslite process per call on a free loopback
// port and stops it with t.Cleanup. sqslite is found in the module's
// node_modules or at $LAWCKET_SQSLITE (its bin/cli.js). When it cannot be
// started the test is skipped, except under CI=true, where it fails: CI must
// never pass by skipping the real server.
//
// Start is safe to call from parallel tests; each call gets its own server.
// Client returns an SQS client for an endpoint with static test credentials.
package sqstest
