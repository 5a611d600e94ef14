package fanout_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/sqstest"
)

// BenchmarkEnqueue puts broadcasts of 100 jobs on a real SQS-compatible
// server (fauxqs on loopback) with fanout.Enqueue (SendMessageBatch, 10 a
// call and 256 KiB at most) side by side with the baseline of one
// SendMessage per job, for small (1 KB) and large (64 KB, two to a batch)
// payloads. jobs/s is the figure (ns/op is per broadcast of 100 jobs); the
// queue is purged between broadcasts, outside the timer.
func BenchmarkEnqueue(b *testing.B) {
	c := sqstest.Client(sqstest.Start(b))
	ctx := context.Background()
	const perBroadcast = 100
	for _, payload := range []int{1024, 64 * 1024} {
		jobs, err := fanout.Plan(fanout.Job{Broadcast: "bench", Table: "Connections", Payload: bytes.Repeat([]byte("x"), payload)}, perBroadcast)
		if err != nil {
			b.Fatal(err)
		}
		bodies := make([]string, len(jobs))
		for i, j := range jobs {
			body, err := j.Encode()
			if err != nil {
				b.Fatal(err)
			}
			bodies[i] = string(body)
		}
		for _, way := range []string{"batch", "one-per-call"} {
			b.Run(fmt.Sprintf("payload=%dKB/%s", payload/1024, way), func(b *testing.B) {
				q := sqstest.CreateQueue(b, c, fmt.Sprintf("bench-%d-%s", payload, way), nil)
				var calls int
				var elapsed time.Duration
				for b.Loop() {
					start := time.Now()
					switch way {
					case "batch":
						rep, err := fanout.Enqueue(ctx, c, q.URL, jobs)
						if err != nil {
							b.Fatal(err)
						}
						calls += rep.Calls
					default:
						for _, body := range bodies {
							if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
								b.Fatal(err)
							}
							calls++
						}
					}
					elapsed += time.Since(start)
					b.StopTimer()
					if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.URL)}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(perBroadcast*b.N)/elapsed.Seconds(), "jobs/s")
				b.ReportMetric(float64(calls)/float64(b.N), "calls/broadcast")
			})
		}
	}
}
