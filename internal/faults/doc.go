// Package faults is the DynamoDB half of lawcket's fault suite: a reverse
// proxy, put in front of dynalite, that injects the failures a DynamoDB
// client meets in production, per request, with DynamoDB's own error shapes:
// throttling (ProvisionedThroughputExceededException, ThrottlingException,
// RequestLimitExceeded), 500 InternalServerError and 503
// ServiceUnavailable, a connection reset before the request reaches the
// table, and three ways for a request to be applied while its answer is
// lost: a truncated body, an answer after the caller's deadline, and a reset
// after the table applied it.
//
// A Rule picks the Fault of each request from its operation, its
// connectionId and its attempt number. The Proxy logs every request with the
// fault it got, so tests can check invariants (no client accepted without
// its row, no row left for a refused client when cleanup could reach
// DynamoDB) across every fault.
//
// # Lifecycle and concurrency
//
// Start a Proxy per test with New and Close it; Close waits for requests in
// flight, late answers included. A Proxy is safe for concurrent use; its
// rule is called from many goroutines and must be too.
package faults
