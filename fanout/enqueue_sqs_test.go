package fanout_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/sqstest"
)

// TestEnqueueOnSQS puts 25 planned jobs on a real SQS-compatible server
// (fauxqs): 3 SendMessageBatch calls, and every job is on the queue once,
// under the message id the report gives it.
func TestEnqueueOnSQS(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q := sqstest.CreateQueue(t, c, "lawcket-fanout", nil)
	jobs := planned(t, 25, 100)
	rep, err := fanout.Enqueue(context.Background(), c, q.URL, jobs)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Jobs != 25 || rep.Enqueued != 25 || rep.Failed != 0 || rep.Calls != 3 || rep.Resent != 0 || len(rep.Messages) != 25 || len(rep.Failures) != 0 {
		t.Fatalf("report %+v", rep)
	}
	segment := map[string]int{} // message id → segment, from the report
	for i, m := range rep.Messages {
		if m.Index != i || m.Segment != i || m.Attempts != 1 || m.MessageID == "" {
			t.Errorf("message %+v", m)
		}
		if _, dup := segment[m.MessageID]; dup {
			t.Errorf("message id %s given twice", m.MessageID)
		}
		segment[m.MessageID] = m.Segment
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d != (sqstest.Depth{Visible: 25}) {
		t.Errorf("queue %+v", d)
	}
	got := sqstest.ReceiveAll(t, c, q.URL, 100)
	if len(got) != 25 {
		t.Fatalf("%d messages on the queue, want 25", len(got))
	}
	seen := map[int]bool{}
	for _, m := range got {
		job, err := fanout.Decode([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatalf("message %s: %v", aws.ToString(m.MessageId), err)
		}
		seg, ok := segment[aws.ToString(m.MessageId)]
		if !ok || seg != job.Segment || seen[seg] || job.Segments != 25 || job.Broadcast != "b" || !bytes.Equal(job.Payload, jobs[seg].Payload) {
			t.Errorf("message %s holds segment %d/%d (report: %d, %v)", aws.ToString(m.MessageId), job.Segment, job.Segments, seg, ok)
		}
		seen[seg] = true
	}
}

// TestEnqueueRefusals: a job too big for an SQS message is refused before
// anything is sent; messages the server refuses (over the queue's
// MaximumMessageSize: SenderFault) are failures, not resent, and the
// others are on the queue.
func TestEnqueueRefusals(t *testing.T) {
	t.Parallel()
	c := sqstest.Client(sqstest.Start(t))
	q := sqstest.CreateQueue(t, c, "small", map[string]string{"MaximumMessageSize": "1024"})
	ctx := context.Background()

	huge := planned(t, 3, 10)
	huge[1].Payload = bytes.Repeat([]byte("x"), 200*1024) // 273 KB in base64
	rep, err := fanout.Enqueue(ctx, c, q.URL, huge)
	if err == nil || !strings.Contains(err.Error(), "job 1") || !strings.Contains(err.Error(), "nothing enqueued") || rep.Calls != 0 || rep.Enqueued != 0 {
		t.Errorf("oversize job: %+v, %v", rep, err)
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d.Total() != 0 {
		t.Errorf("queue after the oversize job: %+v", d)
	}

	jobs := planned(t, 12, 10)
	for _, i := range []int{3, 10} {
		jobs[i].Payload = bytes.Repeat([]byte("y"), 2000) // over 1024 bytes as a message
	}
	rep, err = fanout.Enqueue(ctx, c, q.URL, jobs)
	if err == nil || !strings.Contains(err.Error(), "2 of 12 jobs not enqueued") {
		t.Errorf("err = %v", err)
	}
	if rep.Enqueued != 10 || rep.Failed != 2 || rep.Calls != 2 || rep.Resent != 0 || len(rep.Failures) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for k, f := range rep.Failures {
		if f.Index != []int{3, 10}[k] || f.Segment != f.Index || !f.SenderFault || f.Code != "InvalidParameterValue" || f.Attempts != 1 || f.Ambiguous {
			t.Errorf("failure %+v", f)
		}
	}
	if d := sqstest.QueueDepth(t, c, q.URL); d != (sqstest.Depth{Visible: 10}) {
		t.Errorf("queue %+v, want the 10 enqueued", d)
	}
}

// TestEnqueueCallFailures: a queue that does not exist fails every call
// with SQS's answer (not ambiguous: nothing was enqueued); a server that
// is gone fails them without one (ambiguous).
func TestEnqueueCallFailures(t *testing.T) {
	t.Parallel()
	endpoint := sqstest.Start(t)
	c := sqstest.Client(endpoint)
	q := sqstest.CreateQueue(t, c, "jobs", nil)
	rep, err := fanout.Enqueue(context.Background(), c, q.URL+"-missing", planned(t, 12, 10))
	if err == nil || rep.Failed != 12 || rep.Calls != 2 || rep.Failures[0].Ambiguous || !strings.Contains(rep.Failures[0].Error, "does not exist") {
		t.Errorf("missing queue: %+v, %v", rep, err)
	}

	gone, stop, err := sqstest.Launch()
	if err != nil {
		t.Fatal(err)
	}
	gc := sqstest.Client(gone, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	gq := sqstest.CreateQueue(t, gc, "jobs", nil)
	stop()
	rep, err = fanout.Enqueue(context.Background(), gc, gq.URL, planned(t, 3, 10))
	if err == nil || rep.Failed != 3 || rep.Calls != 1 || !rep.Failures[0].Ambiguous {
		t.Errorf("server gone: %+v, %v", rep, err)
	}
}
