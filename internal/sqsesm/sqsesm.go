package sqsesm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Client is the part of an SQS client a Mapping uses; *sqs.Client
// satisfies it.
type Client interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Invoke calls the function with an event's JSON and returns the JSON of
// its response. A non-nil error is a failed invocation (a function error,
// a crash, a timeout): the whole batch failed. runtimeapi.Function.Invoke
// has this shape; Handler adapts a handler in process.
type Invoke func(ctx context.Context, payload []byte) ([]byte, error)

// Handler invokes h in process through aws-lambda-go's own decoding and
// encoding (lambda.NewHandler), as the Lambda runtime would.
func Handler(h func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) Invoke {
	return lambda.NewHandler(h).Invoke
}

// MaxBatchSize is the most messages one ReceiveMessage returns, and so the
// largest BatchSize.
const MaxBatchSize = 10

// MaxWaitTime is SQS's longest long poll.
const MaxWaitTime = 20 * time.Second

// Config configures a Mapping. The zero value of each optional field means
// its default.
type Config struct {
	// QueueURL is the queue polled (required).
	QueueURL string
	// Region is the records' awsRegion (required: the region of the queue).
	Region string
	// BatchSize is the most records per invocation, 1 to MaxBatchSize
	// (default MaxBatchSize).
	BatchSize int
	// ReportBatchItemFailures reads the function's response as a partial
	// batch response (FunctionResponseTypes: [ReportBatchItemFailures]).
	ReportBatchItemFailures bool
	// WaitTime is the long poll of each ReceiveMessage, at most
	// MaxWaitTime (default 1 s; AWS polls for 20 s).
	WaitTime time.Duration
	// Pollers is how many receive–invoke–delete cycles run at once in Run
	// (default 1).
	Pollers int
	// Log receives a line per failed batch and per SQS error (default
	// slog.Default()).
	Log *slog.Logger
}

// Mapping polls one queue and invokes one function. It is safe for
// concurrent use.
type Mapping struct {
	client Client
	invoke Invoke
	cfg    Config
	arn    string
	log    *slog.Logger
	stats  counters
}

// New returns a Mapping of the queue cfg.QueueURL to invoke, after reading
// the queue's QueueArn (the records' eventSourceARN).
func New(ctx context.Context, c Client, invoke Invoke, cfg Config) (*Mapping, error) {
	var errs []error
	if c == nil || invoke == nil {
		errs = append(errs, errors.New("needs an SQS client and a function to invoke"))
	}
	if cfg.QueueURL == "" {
		errs = append(errs, errors.New("no queue URL"))
	}
	if cfg.Region == "" {
		errs = append(errs, errors.New("no region (the records' awsRegion)"))
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = MaxBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("batch size %d: want 1 to %d", cfg.BatchSize, MaxBatchSize))
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = time.Second
	}
	if cfg.WaitTime < 0 || cfg.WaitTime > MaxWaitTime || cfg.WaitTime%time.Second != 0 {
		errs = append(errs, fmt.Errorf("wait time %v: want whole seconds up to %v", cfg.WaitTime, MaxWaitTime))
	}
	if cfg.Pollers == 0 {
		cfg.Pollers = 1
	}
	if cfg.Pollers < 1 {
		errs = append(errs, fmt.Errorf("%d pollers: want at least 1", cfg.Pollers))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sqsesm: %w", err)
	}
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(cfg.QueueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("sqsesm: queue %s: %w", cfg.QueueURL, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return nil, fmt.Errorf("sqsesm: queue %s has no QueueArn", cfg.QueueURL)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Mapping{client: c, invoke: invoke, cfg: cfg, arn: arn, log: log.With("queue", arn)}, nil
}

// ARN is the queue's ARN, the eventSourceARN of the records.
func (m *Mapping) ARN() string { return m.arn }

// Batch is the outcome of one poll.
type Batch struct {
	// Records is the event's records, in the order received (empty when
	// the poll received nothing).
	Records []events.SQSMessage
	// Response is the function's response, as it answered.
	Response []byte
	// FunctionError is the invocation's error; InvalidResponse says why a
	// partial batch response was refused. Either fails the whole batch.
	FunctionError   error
	InvalidResponse error
	// Deleted lists the message ids whose delete SQS accepted (a message
	// received again since, under a newer receipt handle, stays on the
	// queue all the same); Left those left on it to be received again
	// (listed in batchItemFailures, in a failed batch, or whose delete
	// failed).
	Deleted []string
	Left    []string
}

// Poll receives one batch, invokes the function with it and deletes what it
// processed. The error is non-nil only when SQS could not be reached
// (ReceiveMessage or DeleteMessageBatch failed); the function's failures
// are in the Batch.
func (m *Mapping) Poll(ctx context.Context) (Batch, error) {
	var b Batch
	out, err := m.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(m.cfg.QueueURL),
		MaxNumberOfMessages:         int32(m.cfg.BatchSize),
		WaitTimeSeconds:             int32(m.cfg.WaitTime / time.Second),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		if ctx.Err() == nil { // a poll cut short by the caller is no SQS error
			m.stats.receiveErrors.Add(1)
		}
		return b, fmt.Errorf("sqsesm: receive from %s: %w", m.cfg.QueueURL, err)
	}
	if len(out.Messages) == 0 {
		return b, nil
	}
	b.Records = make([]events.SQSMessage, len(out.Messages))
	for i, msg := range out.Messages {
		b.Records[i] = m.record(msg)
	}
	m.stats.batches.Add(1)
	m.stats.records.Add(int64(len(b.Records)))
	payload, err := json.Marshal(events.SQSEvent{Records: b.Records})
	if err != nil {
		return b, fmt.Errorf("sqsesm: encode the event: %w", err)
	}
	b.Response, b.FunctionError = m.invoke(ctx, payload)
	failed := map[string]bool{}
	switch {
	case b.FunctionError != nil:
		m.stats.functionErrors.Add(1)
		m.log.WarnContext(ctx, "sqsesm: invocation failed: the whole batch is left for the visibility timeout",
			"records", len(b.Records), "error", b.FunctionError)
	case m.cfg.ReportBatchItemFailures:
		failed, b.InvalidResponse = itemFailures(b.Response, b.Records)
		if b.InvalidResponse != nil {
			m.stats.invalidResponses.Add(1)
			m.log.WarnContext(ctx, "sqsesm: invalid partial batch response: the whole batch failed",
				"records", len(b.Records), "error", b.InvalidResponse)
		}
	}
	var del []events.SQSMessage
	for _, r := range b.Records {
		if b.FunctionError != nil || b.InvalidResponse != nil || failed[r.MessageId] {
			b.Left = append(b.Left, r.MessageId)
			continue
		}
		del = append(del, r)
	}
	m.stats.itemFailures.Add(int64(len(failed)))
	if len(del) == 0 {
		return b, nil
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(del))
	for i, r := range del {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r.ReceiptHandle)}
	}
	dout, err := m.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.cfg.QueueURL), Entries: entries})
	if err != nil {
		m.stats.deleteErrors.Add(int64(len(del)))
		for _, r := range del {
			b.Left = append(b.Left, r.MessageId)
		}
		return b, fmt.Errorf("sqsesm: delete %d processed messages from %s (they will be received again): %w", len(del), m.cfg.QueueURL, err)
	}
	notDeleted := map[string]bool{}
	for _, f := range dout.Failed {
		notDeleted[aws.ToString(f.Id)] = true
		m.log.WarnContext(ctx, "sqsesm: delete refused: the message will be received again", "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
	}
	for i, r := range del {
		if notDeleted[strconv.Itoa(i)] {
			m.stats.deleteErrors.Add(1)
			b.Left = append(b.Left, r.MessageId)
			continue
		}
		b.Deleted = append(b.Deleted, r.MessageId)
	}
	m.stats.deleted.Add(int64(len(b.Deleted)))
	return b, nil
}

// record is the event record of a received message.
func (m *Mapping) record(msg types.Message) events.SQSMessage {
	attrs := make(map[string]events.SQSMessageAttribute, len(msg.MessageAttributes))
	for k, v := range msg.MessageAttributes {
		attrs[k] = events.SQSMessageAttribute{StringValue: v.StringValue, BinaryValue: v.BinaryValue,
			StringListValues: v.StringListValues, BinaryListValues: v.BinaryListValues, DataType: aws.ToString(v.DataType)}
	}
	sys := make(map[string]string, len(msg.Attributes))
	for k, v := range msg.Attributes {
		sys[k] = v
	}
	return events.SQSMessage{
		MessageId:              aws.ToString(msg.MessageId),
		ReceiptHandle:          aws.ToString(msg.ReceiptHandle),
		Body:                   aws.ToString(msg.Body),
		Md5OfBody:              aws.ToString(msg.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(msg.MD5OfMessageAttributes),
		Attributes:             sys,
		MessageAttributes:      attrs,
		EventSourceARN:         m.arn,
		EventSource:            "aws:sqs",
		AWSRegion:              m.cfg.Region,
	}
}

// partialBatchResponse is events.SQSEventResponse with a null
// itemIdentifier told from an empty one.
type partialBatchResponse struct {
	BatchItemFailures []struct {
		ItemIdentifier *string `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

// itemFailures reads a partial batch response: the ids of the records to
// leave on the queue, or why the response fails the whole batch.
func itemFailures(resp []byte, recs []events.SQSMessage) (map[string]bool, error) {
	failed := map[string]bool{}
	resp = bytes.TrimSpace(resp)
	if len(resp) == 0 || bytes.Equal(resp, []byte("null")) {
		return failed, nil // an empty or null response: complete success
	}
	var r partialBatchResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, fmt.Errorf("response is not a partial batch response: %w", err)
	}
	inBatch := make(map[string]bool, len(recs))
	for _, rec := range recs {
		inBatch[rec.MessageId] = true
	}
	for i, f := range r.BatchItemFailures {
		switch {
		case f.ItemIdentifier == nil:
			return nil, fmt.Errorf("batchItemFailures[%d] has no itemIdentifier", i)
		case *f.ItemIdentifier == "":
			return nil, fmt.Errorf("batchItemFailures[%d].itemIdentifier is empty", i)
		case !inBatch[*f.ItemIdentifier]:
			return nil, fmt.Errorf("batchItemFailures[%d].itemIdentifier %q is not a message of the batch", i, *f.ItemIdentifier)
		}
		failed[*f.ItemIdentifier] = true
	}
	return failed, nil
}

// Run polls until ctx ends, with cfg.Pollers cycles at once, and returns
// when every poller has stopped. SQS errors are logged and retried after a
// growing pause (up to 2 s); function failures only leave their messages
// on the queue.
func (m *Mapping) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range m.cfg.Pollers {
		wg.Go(func() {
			pause := 50 * time.Millisecond
			for ctx.Err() == nil {
				_, err := m.Poll(ctx)
				if err == nil || ctx.Err() != nil {
					pause = 50 * time.Millisecond
					continue
				}
				m.log.WarnContext(ctx, "sqsesm: poll", "error", err, "retryIn", pause)
				t := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
				}
				pause = min(2*pause, 2*time.Second)
			}
		})
	}
	wg.Wait()
}

// Stats counts what a Mapping did since New.
type Stats struct {
	Batches          int64 // invocations (polls that received something)
	Records          int64 // records invoked with (a message received twice counts twice)
	Deleted          int64 // deletes SQS accepted after processing (with a receipt handle that is no longer the latest, SQS accepts a delete and deletes nothing)
	ItemFailures     int64 // records listed in valid partial batch responses
	FunctionErrors   int64 // failed invocations
	InvalidResponses int64 // partial batch responses refused
	ReceiveErrors    int64 // failed ReceiveMessage calls (not counting those the context cut short)
	DeleteErrors     int64 // processed messages whose delete failed
}

// Stats returns the counts so far.
func (m *Mapping) Stats() Stats {
	s := &m.stats
	return Stats{s.batches.Load(), s.records.Load(), s.deleted.Load(), s.itemFailures.Load(), s.functionErrors.Load(),
		s.invalidResponses.Load(), s.receiveErrors.Load(), s.deleteErrors.Load()}
}

type counters struct {
	batches, records, deleted, itemFailures, functionErrors, invalidResponses, receiveErrors, deleteErrors atomic.Int64
}
