// Package sqstest starts fauxqs, an SQS-compatible server speaking SQS's
// AWS JSON protocol (the one github.com/aws/aws-sdk-go-v2/service/sqs
// v1.28 and later speak), for integration tests, and offers the helpers
// those tests share: a Client with static credentials, CreateQueue (with a
// dead-letter queue and its RedrivePolicy), QueueDepth and ReceiveAll.
//
// # Lifecycle
//
// Start launches one node process per call, running the embedded
// fauxqs.mjs: fauxqs's buildApp listening on 127.0.0.1 and a port the
// kernel picks (never 0.0.0.0:4566, where fauxqs's own CLI binds). Start
// returns once that process prints where it listens — the port it bound,
// never another server's — and answers ListQueues. t.Cleanup stops it by
// closing its stdin (node then exits; a test binary killed any other way
// closes the pipe too, so no server outlives its test), killing it after
// 2 s. fauxqs is found in node_modules/fauxqs in the working directory or
// above (installed by `make test` from the committed package-lock.json),
// or in the directory $LAWCKET_FAUXQS. When node or fauxqs is missing the
// test is skipped, except under CI=true, where it fails: CI must never
// pass by skipping the real server. Launch does the same outside a test
// and returns a stop function.
//
// # What fauxqs does (1.9.2, read in its dist/sqs and tested here)
//
// Messages, receipt handles, visibility timeouts (a message not deleted
// comes back when its timeout ends, with ApproximateReceiveCount one
// higher), long polling, batches (10 entries; the whole batch at most
// 1 MiB; each message at most the queue's MaximumMessageSize, 1 MiB by
// default, refused with SenderFault true above it) and the
// Approximate… counts, which are exact. A RedrivePolicy is honoured
// lazily: a message received maxReceiveCount times is moved to the
// dead-letter queue by the next ReceiveMessage that would have delivered
// it again (the source queue counts it as visible until then), keeping its
// message id and body; a RedrivePolicy naming no existing queue is
// accepted and ignored (AWS refuses it). Queue URLs are
// http://sqs.REGION.localhost:PORT/000000000000/NAME: the server knows a
// queue by its URL, while the SDK sends every call to the client's
// endpoint (AWS_ENDPOINT_URL_SQS, or Client's BaseEndpoint).
//
// # Concurrency
//
// Start is safe to call from parallel tests; each call gets its own
// server, with its own queues. The helpers are safe for concurrent use (an
// *sqs.Client is).
package sqstest
