package sqsesm_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/lawcket/lawcket/internal/sqsesm"
	"github.com/lawcket/lawcket/internal/sqstest"
)

// send puts one message per body on q and returns their message ids.
func send(t *testing.T, c *sqs.Client, q sqstest.Queue, bodies ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, b := range bodies {
		out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("job")}}})
		if err != nil {
			t.Fatal(err)
		}
		ids[b] = aws.ToString(out.MessageId)
	}
	return ids
}

func newMapping(t *testing.T, c *sqs.Client, q sqstest.Queue, invoke sqsesm.Invoke, cfg sqsesm.Config) *sqsesm.Mapping {
	t.Helper()
	cfg.QueueURL, cfg.Region = q.URL, sqstest.Region
	cfg.Log = slog.New(slog.NewTextHandler(t.Output(), nil))
	m, err := sqsesm.New(context.Background(), c, invoke, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEventRecords(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q := sqstest.CreateQueue(t, c, "jobs", nil)
	ids := send(t, c, q, "a", "b", "c")
	var got events.SQSEvent
	m := newMapping(t, c, q, sqsesm.Handler(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got = ev
		return events.SQSEventResponse{}, nil
	}), sqsesm.Config{ReportBatchItemFailures: true})
	b, err := m.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 3 || len(b.Deleted) != 3 || len(b.Left) != 0 {
		t.Fatalf("event %d records, batch %+v", len(got.Records), b)
	}
	for _, r := range got.Records {
		sum := md5.Sum([]byte(r.Body))
		if r.MessageId != ids[r.Body] || r.ReceiptHandle == "" || r.Md5OfBody != hex.EncodeToString(sum[:]) ||
			r.EventSource != "aws:sqs" || r.EventSourceARN != q.ARN || r.AWSRegion != "us-east-1" ||
			r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" ||
			r.MessageAttributes["kind"].DataType != "String" || aws.ToString(r.MessageAttributes["kind"].StringValue) != "job" || r.Md5OfMessageAttributes == "" {
			t.Errorf("record %+v", r)
		}
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d.Total() != 0 {
		t.Errorf("queue after a successful batch: %+v", d)
	}
	if s := m.Stats(); s != (sqsesm.Stats{Batches: 1, Records: 3, Deleted: 3}) {
		t.Errorf("stats %+v", s)
	}
	// An empty queue: the poll waits WaitTime and invokes nothing.
	if b, err := m.Poll(context.Background()); err != nil || len(b.Records) != 0 {
		t.Errorf("empty poll %+v, %v", b, err)
	}
}

// TestPartialBatch: the records listed in batchItemFailures stay on the
// queue and come back after the visibility timeout; the others are gone.
func TestPartialBatch(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q := sqstest.CreateQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "1"})
	send(t, c, q, "a", "b", "c", "d")
	var mu sync.Mutex
	runs := map[string][]string{} // body → ApproximateReceiveCount of each run
	m := newMapping(t, c, q, sqsesm.Handler(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			runs[r.Body] = append(runs[r.Body], r.Attributes["ApproximateReceiveCount"])
			if (r.Body == "b" || r.Body == "d") && len(runs[r.Body]) == 1 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}), sqsesm.Config{ReportBatchItemFailures: true})
	b, err := m.Poll(context.Background())
	if err != nil || len(b.Deleted) != 2 || len(b.Left) != 2 {
		t.Fatalf("first batch %+v, %v", b, err)
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d != (sqstest.Depth{NotVisible: 2}) {
		t.Errorf("after the partial batch: %+v", d)
	}
	for end := time.Now().Add(5 * time.Second); sqstest.QueueDepth(t, c, q.URL).Total() > 0 && time.Now().Before(end); {
		if _, err := m.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{"a": {"1"}, "b": {"1", "2"}, "c": {"1"}, "d": {"1", "2"}}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	if s := m.Stats(); s.Deleted != 4 || s.ItemFailures != 2 || s.Records != 6 || s.FunctionErrors+s.InvalidResponses != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestWholeBatchFails: a function error, or an invalid partial batch
// response, deletes nothing; without ReportBatchItemFailures the response
// is not read.
func TestWholeBatchFails(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	for i, tc := range []struct {
		name    string
		resp    func(ids []string) string
		err     error
		report  bool
		invalid string // InvalidResponse contains
		deleted int
	}{
		{name: "function error", resp: func([]string) string { return "" }, err: errors.New("boom"), report: true},
		{name: "not JSON", resp: func([]string) string { return "ok" }, report: true, invalid: "not a partial batch response"},
		{name: "not an object", resp: func([]string) string { return `["x"]` }, report: true, invalid: "not a partial batch response"},
		{name: "empty itemIdentifier", resp: func([]string) string { return `{"batchItemFailures":[{"itemIdentifier":""}]}` }, report: true, invalid: "is empty"},
		{name: "wrong key", resp: func(ids []string) string { return `{"batchItemFailures":[{"messageId":"` + ids[0] + `"}]}` }, report: true, invalid: "no itemIdentifier"},
		{name: "unknown id", resp: func([]string) string { return `{"batchItemFailures":[{"itemIdentifier":"nope"}]}` }, report: true, invalid: "not a message of the batch"},
		{name: "null list", resp: func([]string) string { return `{"batchItemFailures":null}` }, report: true, deleted: 2},
		{name: "null response", resp: func([]string) string { return `null` }, report: true, deleted: 2},
		{name: "not read without ReportBatchItemFailures", resp: func(ids []string) string { return `{"batchItemFailures":[{"itemIdentifier":"` + ids[0] + `"}]}` }, deleted: 2},
		{name: "function error without ReportBatchItemFailures", resp: func([]string) string { return "" }, err: errors.New("boom")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := sqstest.CreateQueue(t, c, fmt.Sprint("q", i), nil)
			send(t, c, q, "a", "b")
			m := newMapping(t, c, q, func(_ context.Context, payload []byte) ([]byte, error) {
				var ev events.SQSEvent
				if err := json.Unmarshal(payload, &ev); err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range ev.Records {
					ids = append(ids, r.MessageId)
				}
				return []byte(tc.resp(ids)), tc.err
			}, sqsesm.Config{ReportBatchItemFailures: tc.report})
			b, err := m.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Records) != 2 || len(b.Deleted) != tc.deleted || len(b.Left) != 2-tc.deleted || (b.FunctionError != nil) != (tc.err != nil) {
				t.Errorf("batch %+v", b)
			}
			if tc.invalid == "" && b.InvalidResponse != nil || tc.invalid != "" && (b.InvalidResponse == nil || !strings.Contains(b.InvalidResponse.Error(), tc.invalid)) {
				t.Errorf("InvalidResponse = %v, want %q", b.InvalidResponse, tc.invalid)
			}
			if d := sqstest.QueueDepth(t, c, q.URL); d != (sqstest.Depth{NotVisible: 2 - tc.deleted}) {
				t.Errorf("queue %+v", d)
			}
		})
	}
}

// TestRunDeadLetter: under Run, a record that always fails is received
// maxReceiveCount times, then the queue's redrive moves it to the
// dead-letter queue; the others run once.
func TestRunDeadLetter(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q, dlq := sqstest.CreateQueueWithDLQ(t, c, "jobs", 2, map[string]string{"VisibilityTimeout": "1"})
	ids := send(t, c, q, "a", "poison", "b", "c")
	var mu sync.Mutex
	runs := map[string]int{}
	m := newMapping(t, c, q, sqsesm.Handler(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			runs[r.Body]++
			if r.Body == "poison" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}), sqsesm.Config{ReportBatchItemFailures: true, BatchSize: 2, Pollers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	for end := time.Now().Add(10 * time.Second); sqstest.QueueDepth(t, c, dlq.URL).Visible == 0 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"a": 1, "b": 1, "c": 1, "poison": 2}; fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs %v, want %v", runs, want)
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d.Total() != 0 {
		t.Errorf("source queue %+v", d)
	}
	if s := m.Stats(); s.Records != 5 || s.Deleted != 3 || s.ItemFailures != 2 || s.ReceiveErrors+s.DeleteErrors+s.FunctionErrors+s.InvalidResponses != 0 {
		t.Errorf("stats %+v", s)
	}
	dead := sqstest.ReceiveAll(t, c, dlq.URL, 10)
	if len(dead) != 1 || aws.ToString(dead[0].MessageId) != ids["poison"] {
		t.Errorf("dead-letter queue %+v", dead)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q := sqstest.CreateQueue(t, c, "jobs", nil)
	nop := func(context.Context, []byte) ([]byte, error) { return nil, nil }
	for _, tc := range []struct {
		cfg  sqsesm.Config
		want string
	}{
		{sqsesm.Config{Region: "us-east-1"}, "no queue URL"},
		{sqsesm.Config{QueueURL: q.URL}, "no region"},
		{sqsesm.Config{QueueURL: q.URL, Region: "us-east-1", BatchSize: 11}, "batch size 11"},
		{sqsesm.Config{QueueURL: q.URL, Region: "us-east-1", WaitTime: 1500 * time.Millisecond}, "wait time 1.5s"},
		{sqsesm.Config{QueueURL: q.URL, Region: "us-east-1", Pollers: -1}, "-1 pollers"},
		{sqsesm.Config{QueueURL: q.URL + "-missing", Region: "us-east-1"}, "does not exist"},
	} {
		if _, err := sqsesm.New(context.Background(), c, nop, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := sqsesm.New(context.Background(), nil, nil, sqsesm.Config{}); err == nil || !strings.Contains(err.Error(), "needs an SQS client") {
		t.Errorf("nil client: %v", err)
	}
	m, err := sqsesm.New(context.Background(), c, nop, sqsesm.Config{QueueURL: q.URL, Region: "us-east-1"})
	if err != nil || m.ARN() != q.ARN {
		t.Errorf("%v, %v", m, err)
	}
}
