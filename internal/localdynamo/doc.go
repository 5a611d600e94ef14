// Package localdynamo is the embedded DynamoDB of `lawcket dev`: an
// in-memory DynamoDB-compatible HTTP server on a loopback port, plus the
// helpers the gateway uses with any local endpoint (a client with local
// credentials, creating a table unless it exists).
//
// # Lifecycle
//
// Start serves an empty store on a free loopback port; URL is its endpoint;
// Close stops it and its data is gone.
//
// # Concurrency
//
// The server serves any number of concurrent requests; Client, IsLoopback
// and EnsureTable are safe for concurrent use.
package localdynamo
