// Package sqsesm is a local SQS event source mapping: it polls an SQS queue
// and invokes a function with batches of its messages as
// events.SQSEvent, the way AWS Lambda's event source mapping for SQS does,
// and deletes what the function processed. Tests use it to run a worker
// Lambda (cmd/lawcket-fanout under internal/runtimeapi, or a handler in
// process through Handler) against a real SQS-compatible server
// (internal/sqstest), so that redelivery, partial batch responses and the
// dead-letter queue are the queue's own.
//
// # What it does, and where AWS says so
//
// Semantics follow "Using Lambda with Amazon SQS" and "Handling errors
// for an SQS event source in Lambda" of the AWS Lambda Developer Guide
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
//
//   - A poll is one ReceiveMessage of up to BatchSize messages (default
//     10), with every system attribute and message attribute, long polling
//     for WaitTime. Each message becomes a record: messageId,
//     receiptHandle, body, attributes (ApproximateReceiveCount,
//     SentTimestamp, SenderId, ApproximateFirstReceiveTimestamp, …),
//     messageAttributes, md5OfBody, md5OfMessageAttributes, eventSource
//     "aws:sqs", eventSourceARN (the queue's QueueArn) and awsRegion.
//   - The function returns normally: every record is deleted
//     (DeleteMessageBatch), unless ReportBatchItemFailures is on and the
//     response lists records in batchItemFailures: those are not deleted,
//     and come back when the queue's visibility timeout ends (with
//     ApproximateReceiveCount one higher, until the queue's RedrivePolicy
//     moves them to its dead-letter queue). An empty or null
//     batchItemFailures, or an empty or null response, is a complete
//     success.
//   - The function fails (its error, a crash, a timeout), or, with
//     ReportBatchItemFailures, its response is invalid — not a JSON
//     object, an itemIdentifier empty or null (a wrong key name reads as
//     null), or one that is not a message of the batch: the whole batch
//     failed and nothing is deleted. Without ReportBatchItemFailures a
//     response is never read.
//   - Lambda never changes a message's visibility: what is not deleted is
//     received again after the visibility timeout. Deletes that fail leave
//     their messages on the queue to run again (SQS delivers at least
//     once; so does this).
//
// Not emulated: the batching window (MaximumBatchingWindowInSeconds) and
// batches over 10 (one ReceiveMessage is one batch), scaling the pollers
// with the queue's backlog (Pollers is fixed), backing off after function
// errors, filters, and FIFO ordering across batches.
//
// # Lifecycle and concurrency
//
// New checks the configuration and reads the queue's ARN once. Run polls
// with Pollers goroutines until its context ends and returns when they all
// have (a batch being processed when ctx ends has its function invocation
// cancelled: nothing of it is deleted, as when a Lambda invocation times
// out). Poll runs one receive–invoke–delete cycle. A Mapping is safe for
// concurrent use; Invoke is called from several goroutines at once when
// Pollers > 1.
package sqsesm
