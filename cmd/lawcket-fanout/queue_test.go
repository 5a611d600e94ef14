package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/cli"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/sqsesm"
	"github.com/lawcket/lawcket/internal/sqstest"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// queueEnv is the distributed path on real servers: dynalite, fauxqs, a
// recording Management API, and the lawcket-fanout bootstrap under the
// Runtime API emulator, fed by a local SQS event source mapping.
type queueEnv struct {
	db     *dynamodb.Client
	sqs    *sqs.Client
	api    *lawckettest.Server
	fn     *runtimeapi.Function
	output *testsupport.SyncBuffer
	// invocations records every invocation of the function: the event
	// and the response.
	mu          sync.Mutex
	invocations []invocation
	ddbEndpoint string
	sqsEndpoint string
}

type invocation struct {
	event events.SQSEvent
	resp  events.SQSEventResponse
	err   error
}

// newQueueEnv starts the servers and the bootstrap with concurrency
// processes; config is the worker's LAWCKET_CONFIG ("": the package's spec
// beside the bootstrap).
func newQueueEnv(t *testing.T, concurrency int, config string) *queueEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	bootstrap := buildBootstrap(t)
	e := &queueEnv{ddbEndpoint: dynalitetest.Start(t), sqsEndpoint: sqstest.Start(t), api: lawckettest.NewServer(), output: &testsupport.SyncBuffer{}}
	t.Cleanup(e.api.Close)
	e.db = dynalitetest.Client(e.ddbEndpoint)
	e.sqs = sqstest.Client(e.sqsEndpoint)
	dir := filepath.Dir(bootstrap)
	fn, err := runtimeapi.StartFunction(context.Background(), runtimeapi.FunctionConfig{
		Output:       e.output,
		Command:      []string{bootstrap},
		Dir:          dir,
		FunctionName: "lawcket-fanout",
		Timeout:      60 * time.Second,
		Concurrency:  concurrency,
		Env: []string{
			"AWS_ENDPOINT_URL_DYNAMODB=" + e.ddbEndpoint,
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
			"LAWCKET_MANAGEMENT_ENDPOINT=" + e.api.Endpoint("{stage}"),
			"LAWCKET_CONFIG=" + config, "LAWCKET_TABLE=", "LAWCKET_METRICS_NAMESPACE=",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Close)
	e.fn = fn
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("function output:\n%s", e.output.String())
		}
	})
	return e
}

// invoke is the mapping's Invoke: the bootstrap, recorded.
func (e *queueEnv) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := e.fn.Invoke(ctx, payload)
	inv := invocation{err: err}
	_ = json.Unmarshal(payload, &inv.event)
	if err == nil {
		_ = json.Unmarshal(out, &inv.resp)
	}
	e.mu.Lock()
	e.invocations = append(e.invocations, inv)
	e.mu.Unlock()
	return out, err
}

// runs returns, per message body, the ApproximateReceiveCount of each run
// and whether that run was reported in batchItemFailures.
func (e *queueEnv) runs() map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string][]string{}
	for _, inv := range e.invocations {
		failed := map[string]bool{}
		for _, f := range inv.resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, r := range inv.event.Records {
			run := r.Attributes["ApproximateReceiveCount"]
			switch {
			case inv.err != nil:
				run += " error"
			case failed[r.MessageId]:
				run += " retry"
			default:
				run += " done"
			}
			out[r.Body] = append(out[r.Body], run)
		}
	}
	return out
}

// mapping returns the event source mapping of q to the bootstrap.
func (e *queueEnv) mapping(t *testing.T, q sqstest.Queue, cfg sqsesm.Config) *sqsesm.Mapping {
	t.Helper()
	cfg.QueueURL, cfg.Region, cfg.ReportBatchItemFailures = q.URL, sqstest.Region, true
	m, err := sqsesm.New(context.Background(), e.sqs, e.invoke, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// createTable creates the spec's table and seeds n rows, c-0000 …; the rows
// for which gone is true belong to connections that have closed (the
// Management API answers 410). It returns the live and the gone ids.
func (e *queueEnv) createTable(t *testing.T, n int, gone func(int) bool) (live, closed []string) {
	t.Helper()
	sp, err := syncspec.Parse("lawcket.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	dynalitetest.CreateTable(t, e.db, dynamo.TableDefinition(sp, ""))
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	var batch []types.WriteRequest
	flush := func() {
		req := map[string][]types.WriteRequest{"Connections": batch}
		for len(req) > 0 {
			out, err := e.db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				t.Fatalf("BatchWriteItem: %v", err)
			}
			req = out.UnprocessedItems
		}
		batch = batch[:0]
	}
	for i := range n {
		id := fmt.Sprintf("c-%04d", i)
		if gone(i) {
			closed = append(closed, id)
		} else {
			live = append(live, id)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: id},
			"domainName":   &types.AttributeValueMemberS{Value: "abc.execute-api.us-east-1.amazonaws.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: now},
			"room":         &types.AttributeValueMemberS{Value: "r" + strconv.Itoa(i%7)},
		}}})
		if len(batch) == 25 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	e.api.Gone(closed...)
	return live, closed
}

// checkDelivered checks that every live connection got payload exactly
// once, that no gone one got anything, and that the table holds the live
// rows only.
func (e *queueEnv) checkDelivered(t *testing.T, live, closed []string, payload string) {
	t.Helper()
	for _, id := range live {
		got := e.api.Delivered(id)
		if len(got) != 1 || string(got[0]) != payload {
			t.Errorf("%s received %q, want %s once", id, got, payload)
		}
	}
	for _, id := range closed {
		if got := e.api.Delivered(id); len(got) != 0 {
			t.Errorf("gone %s received %q", id, got)
		}
		out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("Connections"),
			Key: map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: id}}})
		if err != nil || out.Item != nil {
			t.Errorf("gone row %s still stored (%v)", id, err)
		}
	}
	scan, err := e.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("Connections"), Select: types.SelectCount})
	if err != nil || int(scan.Count) != len(live) {
		t.Errorf("the table holds %d rows (%v), want the %d live ones", scan.Count, err, len(live))
	}
}

// cliReport is what `lawcket broadcast --queue` prints.
type cliReport struct {
	Broadcast string `json:"broadcast"`
	Queue     string `json:"queue"`
	fanout.EnqueueReport
}

// enqueueWithCLI runs the lawcket command with args as a user's shell
// would, the endpoints in the environment, and returns its enqueue report.
func (e *queueEnv) enqueueWithCLI(t *testing.T, args ...string) (cliReport, string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SQS": e.sqsEndpoint, "AWS_ENDPOINT_URL_DYNAMODB": e.ddbEndpoint,
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"LAWCKET_MANAGEMENT_ENDPOINT": "", "LAWCKET_TABLE": "",
	} {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("lawcket %s exited %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	var rep cliReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report %s: %v", stdout.String(), err)
	}
	return rep, stdout.String()
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestQueueEndToEnd is the distributed broadcast as a user runs it: `lawcket
// broadcast --all --segments 4 --queue URL` (the real CLI, configured by
// the environment) puts 4 Scan-segment jobs on a real SQS-compatible
// queue; an event source mapping feeds them, 2 a batch, to lawcket-fanout
// workers (2 at once) under the Runtime API emulator; every live one of
// 1,000 connections gets the payload once, every gone row is deleted, and
// the queue ends empty.
func TestQueueEndToEnd(t *testing.T) {
	e := newQueueEnv(t, 2, "")
	live, closed := e.createTable(t, 1000, func(i int) bool { return i%40 == 7 })
	q, dlq := sqstest.CreateQueueWithDLQ(t, e.sqs, "lawcket-fanout", 3, map[string]string{"VisibilityTimeout": "60"})

	// The enqueuer: a user's shell, with the endpoints in the environment.
	specPath := filepath.Join(t.TempDir(), "lawcket.yaml")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, out := e.enqueueWithCLI(t, "broadcast", "-c", specPath, "--all", "--segments", "4", "--rate", "8000",
		"--queue", q.URL, "--name", "e2e-1", "--data", `{"text":"hello"}`)
	if rep.Broadcast != "e2e-1" || rep.Queue != q.URL || rep.Jobs != 4 || rep.Enqueued != 4 || rep.Calls != 1 || len(rep.Messages) != 4 || len(rep.Failures) != 0 {
		t.Fatalf("enqueue report %s", out)
	}
	if d := sqstest.QueueDepth(t, e.sqs, q.URL); d != (sqstest.Depth{Visible: 4}) {
		t.Fatalf("queue after enqueue %+v", d)
	}

	// The workers.
	m := e.mapping(t, q, sqsesm.Config{BatchSize: 2, Pollers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	waitFor(t, 60*time.Second, "the 4 jobs run and deleted", func() bool { return m.Stats().Deleted == 4 })
	cancel()
	<-done

	e.checkDelivered(t, live, closed, `{"text":"hello"}`)
	if d := sqstest.QueueDepth(t, e.sqs, q.URL); d != (sqstest.Depth{}) {
		t.Errorf("queue at the end %+v", d)
	}
	if d := sqstest.QueueDepth(t, e.sqs, dlq.URL); d != (sqstest.Depth{}) {
		t.Errorf("dead-letter queue at the end %+v", d)
	}
	if s := m.Stats(); s.Records != 4 || s.ItemFailures+s.FunctionErrors+s.InvalidResponses+s.ReceiveErrors+s.DeleteErrors != 0 {
		t.Errorf("mapping stats %+v", s)
	}
	for body, runs := range e.runs() {
		if len(runs) != 1 || runs[0] != "1 done" {
			t.Errorf("job %.60s… runs %v, want one", body, runs)
		}
	}
	if n := len(e.api.Posts()); n != len(live)+len(closed) {
		t.Errorf("%d posts, want one per row (%d)", n, len(live)+len(closed))
	}
}

// TestQueueRedelivery: jobs that fail before any post (the table does not
// exist yet) are reported in batchItemFailures, come back after the
// visibility timeout, and succeed once the table is there, each connection
// getting the payload once; records that are not jobs for this worker fail
// every time and end in the dead-letter queue after maxReceiveCount
// receives, by the queue's own redrive.
func TestQueueRedelivery(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, 1, "")
	q, dlq := sqstest.CreateQueueWithDLQ(t, e.sqs, "lawcket-fanout", 2, map[string]string{"VisibilityTimeout": "1"})
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b-redelivery", Table: "Connections", Payload: []byte(`{"text":"again"}`), Rate: 4000}, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := jobs[0]
	other.Table, other.Segment, other.Segments = "Other", 0, 0
	if rep, err := fanout.Enqueue(context.Background(), e.sqs, q.URL, append(jobs, other)); err != nil || rep.Enqueued != 3 {
		t.Fatalf("enqueue %+v, %v", rep, err)
	}
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(`{"not":"a job"}`)}); err != nil {
		t.Fatal(err)
	}
	m := e.mapping(t, q, sqsesm.Config{})
	ctx := context.Background()

	// First receive: every record fails (no table), none is deleted.
	b, err := m.Poll(ctx)
	if err != nil || len(b.Records) != 4 || len(b.Left) != 4 || b.FunctionError != nil || b.InvalidResponse != nil {
		t.Fatalf("first batch %+v, %v", b, err)
	}
	live, closed := e.createTable(t, 100, func(i int) bool { return i%10 == 3 })

	// Then poll as the mapping does until the queue is empty.
	waitFor(t, 30*time.Second, "the queue empty", func() bool {
		if _, err := m.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		return sqstest.QueueDepth(t, e.sqs, q.URL).Total() == 0
	})
	e.checkDelivered(t, live, closed, `{"text":"again"}`)

	bodies := map[string]string{}
	for i, j := range append(jobs, other) {
		b, err := j.Encode()
		if err != nil {
			t.Fatal(err)
		}
		bodies[string(b)] = []string{"segment 0", "segment 1", "other table"}[i]
	}
	bodies[`{"not":"a job"}`] = "not a job"
	want := map[string][]string{
		"segment 0":   {"1 retry", "2 done"},
		"segment 1":   {"1 retry", "2 done"},
		"other table": {"1 retry", "2 retry"},
		"not a job":   {"1 retry", "2 retry"},
	}
	for body, runs := range e.runs() {
		if name := bodies[body]; fmt.Sprint(runs) != fmt.Sprint(want[name]) {
			t.Errorf("%s: runs %v, want %v", name, runs, want[name])
		}
	}
	dead := sqstest.ReceiveAll(t, e.sqs, dlq.URL, 10)
	var names []string
	for _, d := range dead {
		names = append(names, bodies[aws.ToString(d.Body)])
	}
	if len(dead) != 2 || !(names[0] == "other table" && names[1] == "not a job" || names[0] == "not a job" && names[1] == "other table") {
		t.Errorf("dead-letter queue holds %v", names)
	}
}

// TestQueueVisibilityTooShort shows why the queue's visibility timeout must
// exceed the worker's run (the stack sets six times its timeout): a job
// still running when its visibility timeout ends is received again by
// another worker and runs again, every connection getting the payload
// again; and each run's delete then carries a receipt handle that is no
// longer the latest, which SQS accepts without deleting anything. So the
// job runs once per visibility timeout until the redrive moves it to the
// dead-letter queue (here after 2 receives: twice, both runs complete).
func TestQueueVisibilityTooShort(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t, 2, "")
	live, _ := e.createTable(t, 10, func(int) bool { return false })
	e.api.SetDefault(lawckettest.Answer(200).After(2 * time.Second)) // each post takes 2 s
	q, dlq := sqstest.CreateQueueWithDLQ(t, e.sqs, "lawcket-fanout", 2, map[string]string{"VisibilityTimeout": "1"})
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b-slow", Table: "Connections", Payload: []byte(`{"text":"slow"}`)}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fanout.Enqueue(context.Background(), e.sqs, q.URL, jobs); err != nil {
		t.Fatal(err)
	}
	m := e.mapping(t, q, sqsesm.Config{BatchSize: 1, Pollers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	waitFor(t, 30*time.Second, "both runs over and the job in the dead-letter queue", func() bool {
		return m.Stats().Deleted == 2 && sqstest.QueueDepth(t, e.sqs, dlq.URL).Visible == 1
	})
	cancel()
	<-done
	for _, id := range live {
		if got := e.api.Delivered(id); len(got) != 2 {
			t.Errorf("%s received %d times, want twice (the job ran twice)", id, len(got))
		}
	}
	for _, runs := range e.runs() {
		if fmt.Sprint(runs) != "[1 done 2 done]" {
			t.Errorf("runs %v, want a first and a second receive, both done", runs)
		}
	}
	if d := sqstest.QueueDepth(t, e.sqs, q.URL); d != (sqstest.Depth{}) {
		t.Errorf("queue at the end %+v", d)
	}
}

const shardedSpec = `table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
    shards: 4
`

// TestQueueShardedRoom: `lawcket broadcast --where room=final --queue URL`
// on a room sharded 4 ways (rows written by the sync plugin, so with their
// shard key) puts one job per shard on the queue, and the workers reach
// every connection of the room exactly once, and no other.
func TestQueueShardedRoom(t *testing.T) {
	specPath := filepath.Join(t.TempDir(), "lawcket.yaml")
	if err := os.WriteFile(specPath, []byte(shardedSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newQueueEnv(t, 2, specPath)
	sp, err := syncspec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	dynalitetest.CreateTable(t, e.db, dynamo.TableDefinition(sp, ""))
	p, err := dynamo.NewPlugin(context.Background(), sp, dynamo.WithClient(e.db))
	if err != nil {
		t.Fatal(err)
	}
	var live, closed, others []string
	seen, shards := map[string]bool{}, map[int]bool{}
	for room, n := range map[string]int{"final": 120, "other": 20} {
		for i := range n {
			id := fmt.Sprintf("%s-%03d", room, i)
			if !dynalitetest.IndexSafe(seen, id) {
				continue
			}
			req := lawckettest.Connect(lawckettest.Query("room", room), lawckettest.ConnectionID(id))
			if err := p.OnConnect(context.Background(), &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
				t.Fatal(err)
			}
			switch {
			case room == "other":
				others = append(others, id)
			case i%15 == 4:
				closed = append(closed, id)
			default:
				live = append(live, id)
			}
			if room == "final" {
				shards[dynamo.ShardOf(id, 4)] = true
			}
		}
	}
	if len(shards) != 4 {
		t.Fatalf("the room's rows are in %d shards of 4: the test would not cover them all", len(shards))
	}
	e.api.Gone(closed...)
	q := sqstest.CreateQueue(t, e.sqs, "lawcket-fanout", map[string]string{"VisibilityTimeout": "60"})

	rep, out := e.enqueueWithCLI(t, "broadcast", "-c", specPath, "--where", "room=final", "--rate", "4000",
		"--queue", q.URL, "--name", "e2e-shard", "--data", `{"goal":1}`)
	if rep.Jobs != 4 || rep.Enqueued != 4 || len(rep.Failures) != 0 {
		t.Fatalf("enqueue report %s", out)
	}
	m := e.mapping(t, q, sqsesm.Config{BatchSize: 1, Pollers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	waitFor(t, 60*time.Second, "the 4 shard jobs run and deleted", func() bool { return m.Stats().Deleted == 4 })
	cancel()
	<-done

	for _, id := range live {
		if got := e.api.Delivered(id); len(got) != 1 || string(got[0]) != `{"goal":1}` {
			t.Errorf("%s received %q, want the goal once", id, got)
		}
	}
	for _, id := range append(closed, others...) {
		if got := e.api.Delivered(id); len(got) != 0 {
			t.Errorf("%s received %q, want nothing", id, got)
		}
	}
	for _, id := range closed {
		out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("Connections"),
			Key: map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: id}}})
		if err != nil || out.Item != nil {
			t.Errorf("gone row %s still stored (%v)", id, err)
		}
	}
	if n := len(e.api.Posts()); n != len(live)+len(closed) {
		t.Errorf("%d posts, want one per row of the room (%d)", n, len(live)+len(closed))
	}
	if d := sqstest.QueueDepth(t, e.sqs, q.URL); d != (sqstest.Depth{}) {
		t.Errorf("queue at the end %+v", d)
	}
	shardOf := map[int]bool{}
	for _, inv := range e.invocations {
		for _, r := range inv.event.Records {
			j, err := fanout.Decode([]byte(r.Body))
			if err != nil || j.Field != "room" || j.Value != "final" || j.Shards != 4 {
				t.Errorf("job %+v, %v", j, err)
			}
			shardOf[j.Shard] = true
		}
	}
	if len(shardOf) != 4 {
		t.Errorf("the jobs ran shards %v, want 0 to 3", shardOf)
	}
}
