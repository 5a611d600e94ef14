// Package fanout splits a broadcast into jobs that run anywhere, and runs
// them: the planner side (Plan, Job.Encode) turns one broadcast into
// serialisable segment jobs and Enqueue puts them on an SQS queue; a Worker
// runs a job (Run) or a batch of SQS records of jobs (HandleSQS, the
// handler of a worker Lambda; the ready binary is cmd/lawcket-fanout).
//
// # Jobs
//
// A Job is a table, a selection (a Query of one index value, or every row
// as Segment of Segments of a DynamoDB parallel Scan), the payload itself
// (any payload API Gateway accepts, 128 KB at most, fits in an SQS message
// even base64-encoded, so no pointer is needed), a share of the rate, and
// the delivery contract. Plan splits a Scan into n segments, each with
// rate/n; a Query is one job (DynamoDB cannot split a Query), except on a
// write-sharded index field (shards: S), where it is S jobs, Shard 0 to
// S-1 of the value, which together reach each of its rows exactly once.
//
// # What is run again
//
// HandleSQS answers batchItemFailures so that SQS delivers again only what
// can run again without delivering twice: a record that is not a valid job
// for this worker (it ends in the queue's dead-letter queue), a job that
// failed before its first post, and, when the job asks for AtLeastOnce, a
// job that stopped half-way. Under the default at-most-once contract a job
// that stopped half-way (the invocation's deadline, the table read failing)
// is not run again, since the connections it reached would get the payload
// twice: its report is logged at Error with how far it got. Per-connection
// failures never fail a record; they are logged with their ids.
//
// # Enqueueing
//
// Enqueue puts planned jobs on an SQS queue (SendMessageBatch, 10 messages
// and 256 KiB a call), resends the entries SQS refused on its side a bounded
// number of times, and reports exactly which jobs are on the queue (with
// their message ids) and which are not. SQS standard queues deliver at least
// once, so a job may rarely run twice: see Enqueue for what that means for
// the connections. Enqueue is tested against fauxqs, an SQS-compatible
// server speaking the AWS JSON protocol (internal/sqstest), and, for the
// resends a real server does not provoke, against a scripted SQSSender;
// the jobs it enqueues are run end to end by cmd/lawcket-fanout's tests
// through a local event source mapping (internal/sqsesm).
//
// # Lifecycle and concurrency
//
// Build one Worker per process (in main, before lambda.Start); it is safe
// for concurrent use. Enqueue is safe for concurrent use if its SQSSender is
// (an *sqs.Client is); it returns when every job is enqueued or failed.
// Each job gets its own broadcast.Sender, whose goroutines have all
// returned when Run returns; a job's posts stop DeadlineMargin before the
// context's deadline.
package fanout
