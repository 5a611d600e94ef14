package sqstest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestRoundTrip sends a batch and receives and deletes it through the
// pinned SDK, proving client and server speak the same protocol.
func TestRoundTrip(t *testing.T) {
	c := Client(Start(t))
	url := CreateQueue(t, c, "roundtrip")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String(`{"n":1}`)},
		{Id: aws.String("b"), MessageBody: aws.String(`{"n":2}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 0 {
		t.Fatalf("SendMessageBatch: %d successful, %d failed", len(out.Successful), len(out.Failed))
	}
	got := map[string]bool{}
	for len(got) < 2 && ctx.Err() == nil {
		r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			got[aws.ToString(m.Body)] = true
			if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !got[`{"n":1}`] || !got[`{"n":2}`] {
		t.Errorf("received %v", got)
	}
}
