// Package broadcast posts one payload to many stored connections (mass
// publish) and cleans up the connections that are gone.
//
// A Sender reads the selected rows from a Store (a *dynamo.Table: one GSI
// value such as room = r1, or every row), posts the payload to each one
// through a Poster (a *lawcket.Poster: the API Gateway Management API) and
// returns a Report of what happened:
//
//   - 2xx: the connection is counted as sent.
//   - 410 Gone: the connection no longer exists; exactly that connection's
//     row is deleted (never the sender's) and counted as gone (and deleted).
//   - 429 LimitExceeded: the post is retried with exponential backoff and
//     full jitter, within a bounded number of attempts and a bounded time per
//     connection (WithRetry, WithBackoff); a post still throttled after that
//     is a failure.
//   - 413 PayloadTooLarge, 403 Forbidden and any other error: a failure for
//     that connection, with its id and the reason, in Report.Failures.
//
// # Lifecycle
//
// Build the Sender once (in main, next to the table and the poster) and call
// Send from any handler or process:
//
//	table, err := dynamo.NewTable(ctx, spec)
//	poster, err := lawcket.NewPoster(ctx, broadcast.PosterOptions(broadcast.DefaultConcurrency)...)
//	sender, err := broadcast.New(table, poster)
//	...
//	rep, err := sender.Send(ctx, dynamo.Selector{Field: "room", Value: room}, body,
//		broadcast.Exclude(ev.Connection.ID))
//
// Each post goes to the Poster's endpoint for the row's domainName and stage
// (https://{domainName}/{stage}, or lawcket.WithPosterEndpoint /
// LAWCKET_MANAGEMENT_ENDPOINT behind a custom domain). Rows do not store the
// API id: for an endpoint with {apiId}, pass WithAPIID.
//
// Send returns only when every post and every delete it started has finished:
// no goroutine outlives it, which is what a Lambda handler needs (the
// environment freezes once the handler returns).
//
// # Memory and concurrency
//
// Rows are streamed page by page from the Store and handed to a fixed pool of
// workers (WithConcurrency, default 32) through a channel of concurrency
// rows, so memory stays flat in the number of connections: at any time Send
// holds at most one page of rows (inside the Store's iterator; a DynamoDB
// page is at most 1 MB, or dynamo.WithPageSize rows), concurrency buffered
// rows and one row per worker. The buffer lets the Store read its next page
// while the workers post the end of the current one.
// Successful posts are only counted; failures are kept with their ids up to
// WithMaxFailures (default 1000), the rest only counted.
//
// # Cancellation
//
// When ctx is cancelled, Send stops reading rows, lets the in-flight posts
// return (the Poster sees the same ctx), waits for every worker, and returns
// the partial Report with ctx.Err(). The Report is exact for what was done:
// a post cut short by the cancellation is a failure carrying the context
// error; rows not reached are not counted. A throttled post is not retried
// when its backoff would end past ctx's deadline. In a Lambda handler, give
// Send a context that ends a little before the invocation's, so that the
// handler still has time to answer:
//
//	deadline, _ := ctx.Deadline()
//	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-500*time.Millisecond))
//	defer cancel()
//
// # Throttling and the SDK's retryer
//
// The AWS SDK's standard retryer also retries LimitExceededException (3
// attempts by default) and 5xx answers. Send does its own, bounded retries for
// 429s, so build the Poster used for broadcasts with the SDK's throttle
// retries turned off, or the two multiply: PosterOptions gives the options.
//
// A Sender is safe for concurrent use: Send may be called from many
// goroutines at once; each call has its own workers and Report.
package broadcast
