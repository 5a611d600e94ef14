package fanout_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
)

// A broadcast to everyone, planned as 4 Scan segments sharing 2,000
// requests/s; each job is one SQS message.
func ExamplePlan() {
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "news-42", Table: "Connections", Payload: []byte(`{"news":"hi"}`), Rate: 2000}, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := jobs[1].Encode()
	fmt.Println(len(jobs), string(b))
	// Output:
	// 4 {"broadcast":"news-42","table":"Connections","segment":1,"segments":4,"payload":"eyJuZXdzIjoiaGkifQ==","rate":500}
}

// A broadcast to a room whose index field is sharded 8 ways (shards: 8)
// is 8 Query jobs, one per shard, sharing 8,000 requests/s.
func ExamplePlan_shards() {
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "goal-7", Table: "Connections", Field: "room", Value: "final",
		Shards: 8, Payload: []byte(`{"goal":7}`), Rate: 8000}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := jobs[5].Encode()
	fmt.Println(len(jobs), string(b))
	// Output:
	// 8 {"broadcast":"goal-7","table":"Connections","field":"room","value":"final","segment":0,"segments":0,"shard":5,"shards":8,"payload":"eyJnb2FsIjo3fQ==","rate":1000}
}

// sized stands for a table of a million rows (a *dynamo.Table in a real
// program): Count stops at limit+1, ItemCount is DescribeTable's.
type sized struct{ rows int }

func (s sized) Name() string { return "Connections" }

func (s sized) Count(_ context.Context, _ dynamo.Selector, limit int) (int, bool, error) {
	if s.rows > limit {
		return limit + 1, false, nil
	}
	return s.rows, true, nil
}

func (s sized) ItemCount(context.Context) (int64, error) { return int64(s.rows), nil }

// A broadcast to a million connections at 8,000 posts/s: more than the
// 10,000 rows run locally, so it goes to the queue, in ⌈8,000 / 1,600⌉ = 5
// Scan segments of 1,600 posts/s each; 1,000,000 / 8,000 = 125 s.
func ExamplePlanner_Decide() {
	p := fanout.Planner{Table: sized{rows: 1000000}, Queue: noQueue{}, QueueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/lawcket-fanout"}
	d, err := p.Decide(context.Background(), fanout.Job{Broadcast: "news-42", Table: "Connections", Payload: []byte(`{"news":"hi"}`), Rate: 8000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Mode, d.Segments, d.Rows, d.Estimate, d.Seconds, d.Jobs[0].Rate)
	fmt.Println(d.Reason)
	// Output:
	// queue 5 1000000 item count 125 1600
	// queue: more than the local max 10000 rows in table Connections (the count stopped at 10001); ⌈rate 8000/s ÷ 1600/s per worker⌉ = 5 Scan segments
}

// noQueue stands for an *sqs.Client (Decide sends nothing).
type noQueue struct{}

func (noQueue) SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return nil, errors.New("not sent")
}
