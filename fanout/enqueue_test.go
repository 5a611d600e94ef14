package fanout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/lawcket/lawcket/fanout"
)

// scriptedQueue answers SendMessageBatch: entries whose job segment is in
// refuse are refused (SenderFault per the map) the first times[seg] sends.
type scriptedQueue struct {
	calls    [][]string // entry ids per call
	sizes    []int
	refuse   map[int]bool // segment → SenderFault
	times    map[int]int  // segment → how many sends are refused
	sent     map[int]int
	callErr  error
	messages int
}

func (q *scriptedQueue) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	if len(in.Entries) > fanout.MaxBatchEntries {
		return nil, fmt.Errorf("%d entries", len(in.Entries))
	}
	if q.callErr != nil {
		return nil, q.callErr
	}
	out := &sqs.SendMessageBatchOutput{}
	var ids []string
	size := 0
	for _, e := range in.Entries {
		ids = append(ids, aws.ToString(e.Id))
		size += len(aws.ToString(e.MessageBody))
		j, err := fanout.Decode([]byte(aws.ToString(e.MessageBody)))
		if err != nil {
			return nil, err
		}
		if fault, ok := q.refuse[j.Segment]; ok && q.sent[j.Segment] < q.times[j.Segment] {
			q.sent[j.Segment]++
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: fault})
			continue
		}
		q.messages++
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String(fmt.Sprint("m-", j.Segment))})
	}
	q.calls = append(q.calls, ids)
	q.sizes = append(q.sizes, size)
	return out, nil
}

func planned(t *testing.T, n, payload int) []fanout.Job {
	t.Helper()
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b", Table: "Connections", Payload: bytes.Repeat([]byte("x"), payload)}, n)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func TestEnqueueBatchesAndResends(t *testing.T) {
	q := &scriptedQueue{refuse: map[int]bool{4: false, 7: true, 9: false}, times: map[int]int{4: 1, 7: 1, 9: 99}, sent: map[int]int{}}
	rep, err := fanout.Enqueue(context.Background(), q, "http://q", planned(t, 23, 10))
	if err == nil || !strings.Contains(err.Error(), "2 of 23 jobs not enqueued") {
		t.Errorf("err = %v", err)
	}
	// 3 calls of 10, 10, 3; then segments 4 and 9 again; then 9 a third time.
	want := []int{10, 10, 3, 2, 1}
	if len(q.calls) != len(want) {
		t.Fatalf("calls %v", q.calls)
	}
	for i, n := range want {
		if len(q.calls[i]) != n {
			t.Errorf("call %d has %d entries, want %d", i, len(q.calls[i]), n)
		}
	}
	if rep.Jobs != 23 || rep.Enqueued != 21 || rep.Failed != 2 || rep.Calls != 5 || rep.Resent != 3 || q.messages != 21 {
		t.Errorf("report %+v, %d messages", rep, q.messages)
	}
	if len(rep.Failures) != 2 || rep.Failures[0].Segment != 7 || !rep.Failures[0].SenderFault || rep.Failures[0].Attempts != 1 ||
		rep.Failures[1].Segment != 9 || rep.Failures[1].SenderFault || rep.Failures[1].Attempts != fanout.EnqueueAttempts || rep.Failures[1].Code != "InternalError" {
		t.Errorf("failures %+v", rep.Failures)
	}
	for k, m := range rep.Messages {
		if m.MessageID != fmt.Sprint("m-", m.Segment) || (m.Segment == 4) != (m.Attempts == 2) || (k > 0 && rep.Messages[k-1].Index >= m.Index) {
			t.Errorf("message %+v", m)
		}
	}
}

func TestEnqueueBatchBytes(t *testing.T) {
	q := &scriptedQueue{sent: map[int]int{}}
	// Jobs of about 100 KB: two fit in a 256 KiB batch, three do not.
	rep, err := fanout.Enqueue(context.Background(), q, "http://q", planned(t, 5, 70*1024))
	if err != nil || rep.Enqueued != 5 {
		t.Fatalf("%+v, %v", rep, err)
	}
	for i, s := range q.sizes {
		if s > fanout.MaxBatchBytes || len(q.calls[i]) != map[bool]int{true: 1, false: 2}[i == 2] {
			t.Errorf("call %d: %d entries, %d bytes", i, len(q.calls[i]), s)
		}
	}
}

func TestEnqueueCallError(t *testing.T) {
	q := &scriptedQueue{callErr: errors.New("connection reset")}
	rep, err := fanout.Enqueue(context.Background(), q, "http://q", planned(t, 12, 10))
	if err == nil || rep.Failed != 12 || rep.Enqueued != 0 || rep.Calls != 2 || !rep.Failures[0].Ambiguous {
		t.Errorf("%+v, %v", rep, err)
	}
	if _, err := fanout.Enqueue(context.Background(), q, "http://q", []fanout.Job{{Table: "T"}}); err == nil || !strings.Contains(err.Error(), "nothing enqueued") {
		t.Errorf("invalid job: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = fanout.Enqueue(ctx, &scriptedQueue{}, "http://q", planned(t, 3, 10))
	if err == nil || rep.Failed != 3 || rep.Calls != 0 {
		t.Errorf("cancelled: %+v, %v", rep, err)
	}
}
