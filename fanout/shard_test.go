package fanout_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

const shardedSpec = `table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 8
`

// newShardedEnv is env over a table whose room is sharded 8 ways, its
// rows written by the sync plugin (BuildItem, one PutItem each): n rows
// in room, the ids ROOM-NNN.
func newShardedEnv(t testing.TB, rooms map[string]int) *env {
	t.Helper()
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	sp, err := syncspec.Parse("lawcket.yaml", []byte(shardedSpec))
	if err != nil {
		t.Fatal(err)
	}
	c := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, c, dynamo.TableDefinition(sp, sp.Table))
	p, err := dynamo.NewPlugin(ctx, sp, dynamo.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	for room, n := range rooms {
		for i := range n {
			req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.ConnectionID(fmt.Sprintf("%s-%03d", room, i)))
			if err := p.OnConnect(ctx, &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
				t.Fatal(err)
			}
		}
	}
	api := lawckettest.NewServer()
	t.Cleanup(api.Close)
	mc, err := mgmt.New(mgmt.WithEndpoint(api.Endpoint("{stage}")), mgmt.WithAWSConfig(aws.Config{
		Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, err := fanout.NewWorker(mc, p.Table(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{table: p.Table(), client: c, api: api, worker: w, logs: &logs}
}

func TestJobShards(t *testing.T) {
	j := fanout.Job{Broadcast: "b", Table: "T", Field: "room", Value: "lobby", Shard: 3, Shards: 8, Payload: []byte("x")}
	b, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"shard":3,"shards":8`) {
		t.Errorf("encoded %s", b)
	}
	back, err := fanout.Decode(b)
	if err != nil || back.Shard != 3 || back.Shards != 8 {
		t.Fatalf("Decode(Encode) = %+v, %v", back, err)
	}
	if sel := back.Selector(); sel != (dynamo.Selector{Field: "room", Value: "lobby", Shard: 3, Shards: 8}) {
		t.Errorf("selector %+v", sel)
	}
	for name, body := range map[string]string{
		"shard past shards":   `{"table":"T","field":"room","value":"r","shard":8,"shards":8,"payload":"eA=="}`,
		"negative shard":      `{"table":"T","field":"room","value":"r","shard":-1,"shards":8,"payload":"eA=="}`,
		"one shard":           `{"table":"T","field":"room","value":"r","shard":0,"shards":1,"payload":"eA=="}`,
		"too many shards":     `{"table":"T","field":"room","value":"r","shard":0,"shards":65,"payload":"eA=="}`,
		"shard, no shards":    `{"table":"T","field":"room","value":"r","shard":2,"payload":"eA=="}`,
		"shards, no field":    `{"table":"T","shard":1,"shards":4,"payload":"eA=="}`,
		"shards and segments": `{"table":"T","field":"room","value":"r","shard":1,"shards":4,"segment":1,"segments":2,"payload":"eA=="}`,
		"shards as a string":  `{"table":"T","field":"room","value":"r","shard":1,"shards":"4","payload":"eA=="}`,
	} {
		if _, err := fanout.Decode([]byte(body)); err == nil {
			t.Errorf("%s: Decode accepted %s", name, body)
		}
	}
}

func TestPlanShards(t *testing.T) {
	base := fanout.Job{Broadcast: "b", Table: "T", Field: "room", Value: "lobby", Shards: 8, Payload: []byte("x"), Rate: 800}
	jobs, err := fanout.Plan(base, 1)
	if err != nil || len(jobs) != 8 {
		t.Fatalf("Plan = %v, %v", jobs, err)
	}
	for i, j := range jobs {
		if j.Shard != i || j.Shards != 8 || j.Segments != 0 || j.Rate != 100 || j.Field != "room" {
			t.Errorf("job %d = %+v", i, j)
		}
	}
	if _, err := fanout.Plan(base, 2); err == nil {
		t.Error("a sharded Query was split into Scan segments")
	}
	base.Shard = 2
	if _, err := fanout.Plan(base, 1); err == nil {
		t.Error("planned from a base naming a shard")
	}
	base.Shard, base.Shards = 0, 100
	if _, err := fanout.Plan(base, 1); err == nil {
		t.Error("planned 100 shards")
	}
}

// TestWorkerShards: a broadcast to a room sharded 8 ways, planned as 8
// jobs and run by the worker's SQS handler, reaches every connection of
// the room exactly once and no other; each job reaches its shard only.
func TestWorkerShards(t *testing.T) {
	e := newShardedEnv(t, map[string]int{"lobby": 120, "attic": 10})
	e.api.Gone("lobby-007")
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "hot", Table: "Connections", Field: "room", Value: "lobby",
		Shards: e.table.Shards("room"), Payload: []byte("hello"), Rate: 800}, 1)
	if err != nil || len(jobs) != 8 {
		t.Fatalf("Plan = %d jobs, %v", len(jobs), err)
	}
	for i, j := range jobs {
		before := len(e.api.Posts())
		resp, err := e.worker.HandleSQS(context.Background(), records(t, j))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("job %d: HandleSQS = %+v, %v", i, resp, err)
		}
		for _, p := range e.api.Posts()[before:] {
			if k := dynamo.ShardOf(p.ConnectionID, 8); k != i {
				t.Errorf("job of shard %d posted to %s, of shard %d", i, p.ConnectionID, k)
			}
		}
	}
	for i := range 120 {
		id := fmt.Sprintf("lobby-%03d", i)
		want := 1
		if id == "lobby-007" {
			want = 0
		}
		if got := len(e.api.Delivered(id)); got != want {
			t.Errorf("%s received %d, want %d", id, got, want)
		}
	}
	if n := len(e.api.Posts()); n != 120 {
		t.Errorf("%d posts, want 120 (the lobby, once each)", n)
	}
	if _, err := e.table.Get(context.Background(), "lobby-007"); err == nil {
		t.Error("the gone row is still stored")
	}
	if n := strings.Count(e.logs.String(), `"shards":8`); n < 8 {
		t.Errorf("%d log lines name the shards:\n%s", n, e.logs)
	}
}
