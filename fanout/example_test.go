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
