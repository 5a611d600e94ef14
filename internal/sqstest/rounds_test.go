package sqstest

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// TestManyRounds sends and receives 25 messages on each of 60 queues, as
// the fan-out tests do, and checks that every round receives all 25 and
// that the SDK never had to retry a call (a retried ReceiveMessage hides
// the first attempt's messages for the visibility timeout: see Client).
func TestManyRounds(t *testing.T) {
	t.Parallel()
	var calls, attempts atomic.Int64
	var failed atomic.Value
	c := Client(Start(t), func(o *sqs.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			if err := s.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				calls.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before); err != nil {
				return err
			}
			return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("countAttempts", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				attempts.Add(1)
				out, md, err := next.HandleFinalize(ctx, in)
				if err != nil {
					failed.Store(err.Error())
				}
				return out, md, err
			}), "Retry", middleware.After)
		})
	})
	ctx := context.Background()
	for round := range 60 {
		q := CreateQueue(t, c, fmt.Sprintf("round-%02d", round), nil)
		for b := range 3 {
			var entries []types.SendMessageBatchRequestEntry
			for i := b * 10; i < min(25, b*10+10); i++ {
				entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprintf(`{"segment":%d}`, i))})
			}
			if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries}); err != nil {
				t.Fatal(err)
			}
		}
		if got := ReceiveAll(t, c, q.URL, 100); len(got) != 25 {
			t.Fatalf("round %d: received %d of 25 (attempt error: %v)", round, len(got), failed.Load())
		}
	}
	if calls.Load() != attempts.Load() {
		t.Errorf("%d calls took %d HTTP attempts: the SDK retried (last attempt error: %v)", calls.Load(), attempts.Load(), failed.Load())
	}
}
