package sqstest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestQueueRoundTrip(t *testing.T) {
	t.Parallel()
	c := Client(Start(t))
	ctx := context.Background()
	q := CreateQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "1"})
	if q.ARN != "arn:aws:sqs:us-east-1:000000000000:jobs" {
		t.Errorf("ARN %q", q.ARN)
	}
	var entries []types.SendMessageBatchRequestEntry
	for i := range 3 {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprint("m", i))})
	}
	sent, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
	if err != nil || len(sent.Successful) != 3 || len(sent.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %+v, %v", sent, err)
	}
	if d := QueueDepth(t, c, q.URL); d != (Depth{Visible: 3}) {
		t.Errorf("depth after send %+v", d)
	}
	got := ReceiveAll(t, c, q.URL, 10)
	if len(got) != 3 {
		t.Fatalf("received %d", len(got))
	}
	if d := QueueDepth(t, c, q.URL); d != (Depth{NotVisible: 3}) {
		t.Errorf("depth in flight %+v", d)
	}
	for _, m := range got {
		if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" || aws.ToString(m.MD5OfBody) == "" {
			t.Errorf("message %s attributes %v md5 %q", aws.ToString(m.MessageId), m.Attributes, aws.ToString(m.MD5OfBody))
		}
	}
	// Delete one; the two others come back after the visibility timeout,
	// received a second time.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: got[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	again := receiveWithin(t, c, q.URL, 2, 5*time.Second)
	for _, m := range again {
		if m.Attributes["ApproximateReceiveCount"] != "2" || aws.ToString(m.MessageId) == aws.ToString(got[0].MessageId) {
			t.Errorf("redelivered %s count %s", aws.ToString(m.MessageId), m.Attributes["ApproximateReceiveCount"])
		}
	}
}

// TestRedrivePolicy pins down what fauxqs does with a RedrivePolicy: a
// message is delivered maxReceiveCount times, and the next receive moves it
// to the dead-letter queue (same id and body) instead of delivering it.
func TestRedrivePolicy(t *testing.T) {
	t.Parallel()
	c := Client(Start(t))
	ctx := context.Background()
	q, dlq := CreateQueueWithDLQ(t, c, "jobs", 2, map[string]string{"VisibilityTimeout": "1"})
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("poison")})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		got := receiveWithin(t, c, q.URL, 1, 5*time.Second)
		if got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(n) {
			t.Fatalf("receive %d: count %s", n, got[0].Attributes["ApproximateReceiveCount"])
		}
	}
	if d := QueueDepth(t, c, dlq.URL); d.Total() != 0 {
		t.Fatalf("dead-letter queue before the third receive: %+v", d)
	}
	// The third receive (once the visibility timeout ended) moves it.
	deadline := time.Now().Add(5 * time.Second)
	for QueueDepth(t, c, dlq.URL).Visible == 0 && time.Now().Before(deadline) {
		if got := ReceiveAll(t, c, q.URL, 10); len(got) != 0 {
			t.Fatalf("delivered a third time: %+v", got[0].Attributes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := QueueDepth(t, c, q.URL); d.Total() != 0 {
		t.Errorf("source queue after the move: %+v", d)
	}
	dead := ReceiveAll(t, c, dlq.URL, 10)
	if len(dead) != 1 || aws.ToString(dead[0].MessageId) != aws.ToString(sent.MessageId) || aws.ToString(dead[0].Body) != "poison" {
		t.Fatalf("dead-letter queue holds %+v", dead)
	}
}

func TestOversizeRefused(t *testing.T) {
	t.Parallel()
	c := Client(Start(t))
	q := CreateQueue(t, c, "small", map[string]string{"MaximumMessageSize": "1024"})
	out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("big"), MessageBody: aws.String(string(make([]byte, 2000)) + "x")},
		{Id: aws.String("ok"), MessageBody: aws.String("x")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 1 || len(out.Failed) != 1 || !out.Failed[0].SenderFault || aws.ToString(out.Failed[0].Id) != "big" {
		t.Errorf("%+v", out)
	}
}

func TestLaunchStop(t *testing.T) {
	t.Parallel()
	Start(t) // skip (or fail under CI) like every integration test when fauxqs is missing
	endpoint, stop, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Client(endpoint).ListQueues(context.Background(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := Client(endpoint).ListQueues(context.Background(), &sqs.ListQueuesInput{}, func(o *sqs.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Error("fauxqs still answers after stop")
	}
}

// receiveWithin receives n messages from queueURL within d, failing the
// test otherwise.
func receiveWithin(t *testing.T, c *sqs.Client, queueURL string, n int, d time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	for end := time.Now().Add(d); len(got) < n && time.Now().Before(end); {
		got = append(got, ReceiveAll(t, c, queueURL, n-len(got))...)
		if len(got) < n {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(got) != n {
		t.Fatalf("received %d of %d messages within %v", len(got), n, d)
	}
	return got
}

// TestMissingServer: a fauxqs that is not there is an error naming where
// it was looked for (Start turns it into a skip, or a failure under CI).
func TestMissingServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LAWCKET_FAUXQS", dir)
	_, err := start(func(func()) { t.Error("cleanup registered for a server that did not start") })
	if err == nil || !strings.Contains(err.Error(), "LAWCKET_FAUXQS="+dir) {
		t.Errorf("err = %v", err)
	}
}

// TestRedrivePolicyToNowhere: fauxqs accepts a RedrivePolicy naming a queue
// that does not exist (AWS refuses it) and then never moves the message.
func TestRedrivePolicyToNowhere(t *testing.T) {
	t.Parallel()
	c := Client(Start(t))
	ctx := context.Background()
	q := CreateQueue(t, c, "jobs", map[string]string{"VisibilityTimeout": "0", "RedrivePolicy": RedrivePolicy("arn:aws:sqs:us-east-1:000000000000:nowhere", 1)})
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		got := receiveWithin(t, c, q.URL, 1, 5*time.Second)
		if got[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(n) {
			t.Fatalf("receive %d: count %s", n, got[0].Attributes["ApproximateReceiveCount"])
		}
	}
}
