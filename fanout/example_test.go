package fanout_test

import (
	"fmt"

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
