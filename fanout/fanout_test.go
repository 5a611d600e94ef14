package fanout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

const spec = `table: Connections
fields:
  room:
    expr: query.room
    required: true
    index: true
`

// env is a dynalite table with rows, a recording Management API and a
// Worker over them.
type env struct {
	table  *dynamo.Table
	client *dynamodb.Client
	api    *lawckettest.Server
	worker *fanout.Worker
	logs   *bytes.Buffer
}

func newEnv(t *testing.T, rooms map[string]string) *env {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	sp, err := syncspec.Parse("lawcket.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	c := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, c, dynamo.TableDefinition(sp, sp.Table))
	table, err := dynamo.NewTable(context.Background(), sp, dynamo.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	for id, room := range rooms {
		_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("Connections"), Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: id},
			"domainName":   &types.AttributeValueMemberS{Value: "example.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"room":         &types.AttributeValueMemberS{Value: room},
		}})
		if err != nil {
			t.Fatal(err)
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
	w, err := fanout.NewWorker(mc, table, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{table: table, client: c, api: api, worker: w, logs: &logs}
}

func records(t *testing.T, jobs ...fanout.Job) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	for i, j := range jobs {
		b, err := j.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: string(b), EventSource: "aws:sqs"})
	}
	return ev
}

func TestJobEncoding(t *testing.T) {
	j := fanout.Job{Broadcast: "b1", Table: "Connections", Segment: 2, Segments: 4, Payload: []byte(`{"x":1}`), Rate: 500, Exclude: "c1", APIID: "api", AtLeastOnce: true}
	b, err := j.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := fanout.Decode(b)
	if err != nil || back.Broadcast != j.Broadcast || back.Segment != 2 || string(back.Payload) != `{"x":1}` || back.Rate != 500 || !back.AtLeastOnce {
		t.Errorf("Decode(Encode) = %+v, %v", back, err)
	}
	if sel := back.Selector(); sel != (dynamo.Selector{Segment: 2, Segments: 4}) {
		t.Errorf("selector %+v", sel)
	}
	// The largest payload API Gateway takes fits in an SQS message.
	j.Payload = bytes.Repeat([]byte("x"), 128*1024)
	if b, err := j.Encode(); err != nil || len(b) > fanout.MaxJobBytes {
		t.Errorf("a 128 KB payload: %d bytes, %v", len(b), err)
	}
	for name, body := range map[string]string{
		"not JSON":        "{",
		"unknown field":   `{"table":"T","payload":"eA==","bogus":1}`,
		"no table":        `{"payload":"eA=="}`,
		"no payload":      `{"table":"T"}`,
		"split query":     `{"table":"T","field":"room","value":"r","segments":2,"payload":"eA=="}`,
		"bad segment":     `{"table":"T","segment":4,"segments":4,"payload":"eA=="}`,
		"negative rate":   `{"table":"T","rate":-1,"payload":"eA=="}`,
		"trailing data":   `{"table":"T","payload":"eA=="} {}`,
		"value, no field": `{"table":"T","value":"r","payload":"eA=="}`,
	} {
		if _, err := fanout.Decode([]byte(body)); err == nil {
			t.Errorf("%s: Decode accepted %s", name, body)
		}
	}
}

func TestPlan(t *testing.T) {
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b", Table: "T", Payload: []byte("x"), Rate: 1000}, 4)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("Plan = %v, %v", jobs, err)
	}
	for i, j := range jobs {
		if j.Segment != i || j.Segments != 4 || j.Rate != 250 {
			t.Errorf("job %d = %+v", i, j)
		}
	}
	if jobs, err := fanout.Plan(fanout.Job{Table: "T", Field: "room", Value: "r", Payload: []byte("x")}, 1); err != nil || len(jobs) != 1 || jobs[0].Segments != 0 {
		t.Errorf("query plan = %+v, %v", jobs, err)
	}
	if _, err := fanout.Plan(fanout.Job{Table: "T", Field: "room", Value: "r", Payload: []byte("x")}, 2); err == nil {
		t.Error("a Query was split")
	}
	if _, err := fanout.Plan(fanout.Job{Table: "T", Payload: []byte("x")}, 0); err == nil {
		t.Error("0 segments planned")
	}
}

// TestWorkerSegments: a broadcast to everyone planned as 4 segment jobs and
// run by the worker's SQS handler reaches every connection exactly once,
// deletes the gone rows and fails no record.
func TestWorkerSegments(t *testing.T) {
	rooms := map[string]string{}
	for i := range 40 {
		rooms[fmt.Sprintf("c-%02d", i)] = fmt.Sprintf("r%d", i%2)
	}
	e := newEnv(t, rooms)
	e.api.Gone("c-07", "c-33")
	jobs, err := fanout.Plan(fanout.Job{Broadcast: "b1", Table: "Connections", Payload: []byte("hello"), Rate: 400}, 4)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.worker.HandleSQS(context.Background(), records(t, jobs[:2]...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleSQS = %+v, %v", resp, err)
	}
	resp, err = e.worker.HandleSQS(context.Background(), records(t, jobs[2:]...))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleSQS = %+v, %v", resp, err)
	}
	for id := range rooms {
		want := 1
		if id == "c-07" || id == "c-33" {
			want = 0
		}
		if got := len(e.api.Delivered(id)); got != want {
			t.Errorf("%s received %d, want %d", id, got, want)
		}
	}
	if n := len(e.api.Posts()); n != 40 {
		t.Errorf("%d posts, want 40", n)
	}
	for _, id := range []string{"c-07", "c-33"} {
		if _, err := e.table.Get(context.Background(), id); err == nil {
			t.Errorf("gone row %s still stored", id)
		}
	}
	if strings.Count(e.logs.String(), "fanout: job done") != 4 {
		t.Errorf("logs:\n%s", e.logs)
	}
}

// TestWorkerRecordFailures: what SQS is told to deliver again.
func TestWorkerRecordFailures(t *testing.T) {
	rooms := map[string]string{}
	for i := range 20 {
		rooms[fmt.Sprintf("c-%02d", i)] = "r1"
	}
	e := newEnv(t, rooms)
	good := fanout.Job{Broadcast: "ok", Table: "Connections", Field: "room", Value: "r1", Payload: []byte("x")}
	otherTable := good
	otherTable.Table, otherTable.Broadcast = "Elsewhere", "other"
	notIndexed := good
	notIndexed.Field, notIndexed.Broadcast = "user", "notindexed"
	ev := records(t, good, otherTable, notIndexed)
	ev.Records = append(ev.Records, events.SQSMessage{MessageId: "garbage", Body: "not a job"})
	resp, err := e.worker.HandleSQS(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if strings.Join(ids, ",") != "m1,m2,garbage" {
		t.Errorf("batch item failures %v, want m1 (other table), m2 (not indexed: nothing posted), garbage", ids)
	}
	if n := len(e.api.Posts()); n != 20 {
		t.Errorf("%d posts, want 20 (the good job only)", n)
	}

	// A job stopped half-way by the deadline: not again under at most once
	// (the connections it reached would get the payload twice), again under
	// at least once.
	// The posts are answered after 5 s, the job has 2.5 s: long enough to
	// read its rows and send every post even on a loaded machine, too short
	// for the answers.
	e.api.SetDefault(lawckettest.Answer(200).After(5 * time.Second))
	for _, atLeastOnce := range []bool{false, true} {
		j := good
		j.AtLeastOnce = atLeastOnce
		ctx, cancel := context.WithTimeout(context.Background(), fanout.DeadlineMargin+2500*time.Millisecond)
		resp, err := e.worker.HandleSQS(ctx, records(t, j))
		cancel()
		if err != nil || (len(resp.BatchItemFailures) == 1) != atLeastOnce {
			t.Errorf("at least once %v: %+v, %v", atLeastOnce, resp, err)
		}
	}
	if !strings.Contains(e.logs.String(), "not run again (at most once)") {
		t.Errorf("the stopped job is not logged:\n%s", e.logs)
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(e.logs.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
	}
}
