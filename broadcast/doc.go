// Package broadcast posts one payload to many stored connections (mass
// publish) and cleans up the connections that are gone.
//
// A Sender takes the targets to post to as an iterator
// (iter.Seq2[mgmt.Target, error]: a *dynamo.Table's Targets for one GSI
// value such as room = r1, or every row), posts the payload to each one
// through a Poster (a *mgmt.Client: the API Gateway Management API), removes
// the rows of gone connections through a Remover (the *dynamo.Table) and
// returns a Report of what happened:
//
//   - 2xx: the connection is counted as sent.
//   - 410 Gone: the connection no longer exists; exactly that connection's
//     row is deleted (never the sender's) and counted as gone (and deleted).
//   - 429 LimitExceeded, or a connection that could not be opened: the post
//     was certainly not delivered and is retried with exponential backoff
//     and full jitter, within a bounded number of attempts and a bounded
//     time per connection (WithRetry); a post still failing after that is a
//     failure (reason "throttled" or "error").
//   - 5xx, or the connection reset or closed after the request was written,
//     or a timeout: the payload may have been delivered. By default it is
//     not resent (PostToConnection is not idempotent) and is a failure with
//     reason "ambiguous", counted in Report.Ambiguous.
//   - 413 PayloadTooLarge, 403 Forbidden and any other error: a failure for
//     that connection, with its id and the reason, in Report.Failures.
//
// The package depends on mgmt and the standard library only: not on the
// table, the spec engine or its YAML parser. Any store that yields targets
// and deletes rows by id works.
//
// # Delivery contract
//
// Under the default policy (DefaultRetry, mgmt.AtMostOnce) no live
// connection receives a payload twice from one Send, and none is skipped
// silently: every target read is counted once in Sent, Gone or Failed, and
// every failure is listed (up to WithMaxFailures) with its connection id,
// op, reason and number of HTTP attempts. Report.Attempts counts every HTTP
// attempt and Report.Retries every resend, as made by the SDK's retryer.
// WithRetry(mgmt.Retry{Delivery: mgmt.AtLeastOnce, ...}) also resends
// ambiguous failures: a connection then gets the payload unless every
// attempt fails, and may get it twice. Running a Send again (say, for a
// failed job) delivers again to everyone who got it the first time.
//
// # Lifecycle
//
// Build the Sender once (in main, next to the table and the Management API
// client, which the App can share) and call Send from any handler or
// process:
//
//	table, err := dynamo.NewTable(ctx, spec)
//	client, err := mgmt.New()
//	app := lawcket.New(lawcket.WithManagement(client), ...)
//	sender, err := broadcast.New(client, table)
//	...
//	rep, err := sender.Send(ctx, table.Targets(ctx, dynamo.Selector{Field: "room", Value: room}), body,
//		broadcast.Exclude(ev.Connection.ID))
//
// Options given to New (WithConcurrency, WithRetry, WithMaxFailures,
// WithLogger) hold for every Send; options given to Send (Exclude,
// WithAPIID) hold for that call only.
//
// Each post goes to the client's endpoint for the row's domainName and stage
// (https://{domainName}/{stage}, or mgmt.WithEndpoint /
// LAWCKET_MANAGEMENT_ENDPOINT behind a custom domain). Rows do not store the
// API id: for an endpoint with {apiId}, pass WithAPIID.
//
// Send returns only when every post and every delete it started has finished:
// no goroutine outlives it, which is what a Lambda handler needs (the
// environment freezes once the handler returns).
//
// # Rate
//
// Each Send is paced by one token bucket shared by its workers (WithRate,
// default DefaultRate requests/s, burst: the concurrency), which the
// Management API client waits on before every HTTP attempt, resends
// included (mgmt.Limit). A 429 lowers the rate (to 70%, at most every
// 200 ms, never below 5% of the target); each second without one raises it
// by a tenth of the target. The Report gives the target, the lowest and the
// achieved rate. To split a broadcast of every row, read it as parallel
// Scan segments (dynamo.Selector{Segment, Segments}), give each segment's
// Sender its share of the rate, and add the Reports (Report.Add); package
// fanout runs segments as jobs in other processes.
//
// # Memory and concurrency
//
// Targets are streamed from the iterator (a *dynamo.Table reads page by
// page) and handed to a fixed pool of workers (WithConcurrency, default 32)
// through a channel of concurrency targets, so memory stays flat in the
// number of connections: at any time Send holds at most what the iterator
// holds (one DynamoDB page, at most 1 MB, or dynamo.WithPageSize rows),
// concurrency buffered targets and one per worker. The buffer lets the
// iterator read its next page while the workers post the end of the current
// one. Successful posts are only counted; failures are kept with their ids
// up to WithMaxFailures (default 1000), the rest only counted.
//
// # Cancellation
//
// When ctx is cancelled, Send stops reading targets, lets the in-flight
// posts return (the Poster sees the same ctx), waits for every worker, and
// returns the partial Report with ctx.Err(). The Report is exact for what
// was done: a post cut short by the cancellation is a failure carrying the
// context error (reason "ambiguous" when the request may have been written,
// "canceled" otherwise); targets not reached are not counted. A throttled
// post is not retried when its backoff would end past ctx's deadline. In a
// Lambda handler, give Send a context that ends a little before the
// invocation's, so that the handler still has time to answer:
//
//	deadline, _ := ctx.Deadline()
//	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-500*time.Millisecond))
//	defer cancel()
//
// A Sender is safe for concurrent use: Send may be called from many
// goroutines at once; each call has its own workers and Report.
package broadcast
