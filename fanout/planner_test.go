package fanout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/metrics"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// countingTable is the real dynalite table, with its reads counted (to
// show what each mode reads).
type countingTable struct {
	*dynamo.Table
	mu            sync.Mutex
	counts, items int
}

func (c *countingTable) Count(ctx context.Context, sel dynamo.Selector, limit int) (int, bool, error) {
	c.mu.Lock()
	c.counts++
	c.mu.Unlock()
	return c.Table.Count(ctx, sel, limit)
}

func (c *countingTable) ItemCount(ctx context.Context) (int64, error) {
	c.mu.Lock()
	c.items++
	c.mu.Unlock()
	return c.Table.ItemCount(ctx)
}

// plannerEnv is newEnv with rows in rooms of the given sizes, and a
// planner over it with a scripted queue.
func plannerEnv(t *testing.T, sizes map[string]int) (*env, *countingTable, *scriptedQueue, fanout.Planner) {
	t.Helper()
	rooms := map[string]string{}
	for room, n := range sizes {
		for i := range n {
			rooms[fmt.Sprintf("%s-%02d", room, i)] = room
		}
	}
	e := newEnv(t, rooms)
	ct := &countingTable{Table: e.table}
	q := &scriptedQueue{sent: map[int]int{}}
	return e, ct, q, fanout.Planner{Table: ct, Worker: e.worker, Queue: q, QueueURL: "https://sqs.example/jobs"}
}

func job(field, value string, rate float64) fanout.Job {
	return fanout.Job{Broadcast: "b", Table: "Connections", Field: field, Value: value, Payload: []byte("hi"), Rate: rate}
}

// TestPlannerAuto: Auto runs locally up to LocalMax rows (exactly LocalMax
// included) and queues from LocalMax+1; an empty room is local.
func TestPlannerAuto(t *testing.T) {
	e, ct, q, p := plannerEnv(t, map[string]int{"five": 5, "six": 6})
	p.LocalMax = 5
	ctx := context.Background()

	out, err := p.Broadcast(ctx, job("room", "five", 0))
	d := out.Decision
	if err != nil || d.Mode != fanout.Local || d.Asked != fanout.Auto || d.Rows != 5 || d.Estimate != "exact" || d.Segments != 1 {
		t.Fatalf("5 rows, local max 5: %+v, %v", d, err)
	}
	if out.Report == nil || out.Report.Sent != 5 || out.Enqueue != nil || len(e.api.Posts()) != 5 || len(q.calls) != 0 {
		t.Errorf("local run: report %+v, enqueue %+v, %d posts, %d SQS calls", out.Report, out.Enqueue, len(e.api.Posts()), len(q.calls))
	}
	if !strings.Contains(d.Reason, "local: 5 rows in room=five, at most the local max 5") {
		t.Errorf("reason %q", d.Reason)
	}

	e.api.Forget()
	out, err = p.Broadcast(ctx, job("room", "six", 0))
	d = out.Decision
	if err != nil || d.Mode != fanout.Queue || d.Rows != 6 || d.Estimate != "more than" || d.Segments != 1 {
		t.Fatalf("6 rows, local max 5: %+v, %v", d, err)
	}
	if out.Enqueue == nil || out.Enqueue.Enqueued != 1 || out.Report != nil || len(e.api.Posts()) != 0 {
		t.Errorf("queued: enqueue %+v, report %+v, %d posts", out.Enqueue, out.Report, len(e.api.Posts()))
	}
	if !strings.Contains(d.Reason, "queue: more than the local max 5 rows in room=six (the count stopped at 6)") || !strings.Contains(d.Reason, "one Query job for room=six (DynamoDB cannot split a Query into Scan segments)") {
		t.Errorf("reason %q", d.Reason)
	}

	out, err = p.Broadcast(ctx, job("room", "nobody", 0))
	if d := out.Decision; err != nil || d.Mode != fanout.Local || d.Rows != 0 || d.Estimate != "exact" || out.Report == nil || out.Report.Sent != 0 {
		t.Errorf("an empty room: %+v, %+v, %v", d, out.Report, err)
	}

	// Everyone: 11 rows. Local max 11 runs here; 10 queues, in as many
	// segments as the rate needs: ⌈4,000 / 1,600⌉ = 3, each with a third.
	p.LocalMax = 11
	if d, err := p.Decide(ctx, job("", "", 4000)); err != nil || d.Mode != fanout.Local || d.Rows != 11 || d.Segments != 1 {
		t.Errorf("11 rows, local max 11: %+v, %v", d, err)
	}
	p.LocalMax = 10
	ct.items = 0
	d, err = p.Decide(ctx, job("", "", 4000))
	if err != nil || d.Mode != fanout.Queue || d.Segments != 3 || d.Rows != 11 || d.Estimate != "more than" || ct.items != 1 {
		t.Fatalf("11 rows, local max 10: %+v, %v (ItemCount calls %d)", d, err, ct.items)
	}
	for i, j := range d.Jobs {
		if j.Segment != i || j.Segments != 3 || math.Abs(j.Rate-4000.0/3) > 1e-9 {
			t.Errorf("job %d = %+v", i, j)
		}
	}
	if !strings.Contains(d.Reason, "⌈rate 4000/s ÷ 1600/s per worker⌉ = 3 Scan segments") {
		t.Errorf("reason %q", d.Reason)
	}
}

// TestPlannerForced: Local reads nothing before posting; Queue counts
// nothing (ItemCount only, to size a Scan) and honours Segments.
func TestPlannerForced(t *testing.T) {
	e, ct, q, p := plannerEnv(t, map[string]int{"r1": 7, "r2": 8})
	ctx := context.Background()
	p.Mode, p.Segments = fanout.Local, 3
	p.Queue, p.QueueURL = nil, "" // Local needs no queue
	var lines bytes.Buffer
	em, err := metrics.New(&lines, "lawcket")
	if err != nil {
		t.Fatal(err)
	}
	e.worker.WithMetrics(em)
	out, err := p.Broadcast(ctx, job("", "", 300))
	if err != nil || out.Decision.Mode != fanout.Local || out.Decision.Segments != 3 || out.Decision.Estimate != "none" || ct.counts != 0 || ct.items != 0 {
		t.Fatalf("forced local: %+v, %v (%d counts, %d item counts)", out.Decision, err, ct.counts, ct.items)
	}
	if out.Report.Sent != 15 || out.Report.Rate != 300 || len(e.api.Posts()) != 15 {
		t.Errorf("3 local segments: %+v, %d posts", out.Report, len(e.api.Posts()))
	}
	// One EMF line per local job, as a worker Lambda writes.
	var selectors []string
	for _, l := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		selectors = append(selectors, fmt.Sprint(m["Selector"], ":", m["Part"]))
	}
	sort.Strings(selectors)
	if fmt.Sprint(selectors) != "[all:all 0/3 all:all 1/3 all:all 2/3]" {
		t.Errorf("metrics lines for %v:\n%s", selectors, lines.String())
	}
	for id := range map[string]bool{"r1-00": true, "r2-07": true} {
		if n := len(e.api.Delivered(id)); n != 1 {
			t.Errorf("%s got %d", id, n)
		}
	}

	p.Mode, p.Queue, p.QueueURL, p.Segments = fanout.Queue, q, "https://sqs.example/jobs", 0
	out, err = p.Broadcast(ctx, job("", "", 8000))
	d := out.Decision
	// With a rate, a forced queue reads nothing of the table.
	if err != nil || d.Mode != fanout.Queue || d.Segments != 5 || ct.counts != 0 || ct.items != 0 || out.Enqueue.Enqueued != 5 || q.messages != 5 {
		t.Fatalf("forced queue: %+v, %v, %+v (%d counts, %d item counts)", d, err, out.Enqueue, ct.counts, ct.items)
	}
	if d.Rows != 0 || d.Estimate != "none" || d.Seconds != 0 || !strings.Contains(d.Reason, "queue, as asked") {
		t.Errorf("forced queue: %+v", d)
	}
	// Without a rate the rows size it: DescribeTable's ItemCount, 0 on
	// dynalite as on DynamoDB before its six-hourly refresh.
	d, err = p.Decide(ctx, job("", "", 0))
	if err != nil || d.Segments != 1 || ct.items != 1 || d.Rows != 0 || d.Estimate != "item count" || !strings.Contains(d.Reason, "no rate: ⌈0 rows") {
		t.Errorf("forced queue, no rate: %+v, %v (%d item counts)", d, err, ct.items)
	}
	p.Segments = 8
	if d, err := p.Decide(ctx, job("", "", 8000)); err != nil || d.Segments != 8 || !strings.Contains(d.Reason, "8 Scan segments, as asked") {
		t.Errorf("8 segments asked: %+v, %v", d, err)
	}
	p.Segments = 0
	if d, err := p.Decide(ctx, job("room", "r1", 8000)); err != nil || d.Segments != 1 || d.Jobs[0].Field != "room" || d.Jobs[0].Rate != 8000 {
		t.Errorf("forced queue of a Query: %+v, %v", d, err)
	}
}

// TestPlannerSizing: without a rate, segments come from the rows (each
// job within JobTime at WorkerRate); a job longer than JobTime warns.
func TestPlannerSizing(t *testing.T) {
	_, _, _, p := plannerEnv(t, map[string]int{"r": 9})
	ctx := context.Background()
	p.LocalMax, p.WorkerRate, p.JobTime = 3, 1, 2*time.Second
	d, err := p.Decide(ctx, job("", "", 0))
	// The count stops at 4: ⌈4 rows ÷ (1/s × 2 s)⌉ = 2 segments.
	if err != nil || d.Mode != fanout.Queue || d.Rows != 4 || d.Segments != 2 || d.Seconds != 2 || d.Warning != "" {
		t.Errorf("no rate: %+v, %v", d, err)
	}
	d, err = p.Decide(ctx, job("", "", 1))
	if err != nil || d.Segments != 1 || d.Seconds != 4 || !strings.Contains(d.Warning, "4 rows at 1 posts/s take about 4 s, over the 2 s a job should take: raise the rate") {
		t.Errorf("rate 1, 4+ rows, 2 s a job: %+v, %v", d, err)
	}
	// A room's one Query job at most posts what one worker does.
	d, err = p.Decide(ctx, job("room", "r", 100))
	if err != nil || d.Mode != fanout.Queue || d.Segments != 1 || d.Seconds != 4 || !strings.Contains(d.Warning, "shard room (shards: S in the spec, S jobs)") {
		t.Errorf("a room over the job time: %+v, %v", d, err)
	}
}

// TestPlannerErrors: a count that fails decides nothing and posts
// nothing; settings are checked.
func TestPlannerErrors(t *testing.T) {
	e, _, q, p := plannerEnv(t, map[string]int{"r": 2})
	ctx := context.Background()
	sp, err := syncspec.Parse("lawcket.yaml", []byte(strings.Replace(spec, "table: Connections", "table: Missing", 1)))
	if err != nil {
		t.Fatal(err)
	}
	missing, err := dynamo.NewTable(ctx, sp, dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	bad := p
	bad.Table = missing
	out, err := bad.Broadcast(ctx, fanout.Job{Broadcast: "b", Table: "Missing", Payload: []byte("x")})
	if !errors.Is(err, dynamo.ErrTableNotFound) || !strings.Contains(err.Error(), "force a mode") || out.Report != nil || out.Enqueue != nil {
		t.Errorf("count error: %+v, %v", out, err)
	}
	if len(q.calls) != 0 || len(e.api.Posts()) != 0 {
		t.Errorf("after a count error: %d SQS calls, %d posts", len(q.calls), len(e.api.Posts()))
	}

	for name, tt := range map[string]struct {
		p    func(fanout.Planner) fanout.Planner
		base fanout.Job
		want string
	}{
		"auto without a queue": {func(p fanout.Planner) fanout.Planner { p.Queue = nil; return p }, job("", "", 0), "needs a queue"},
		"queue without a URL":  {func(p fanout.Planner) fanout.Planner { p.Mode, p.QueueURL = fanout.Queue, ""; return p }, job("", "", 0), "needs a queue"},
		"bad mode":             {func(p fanout.Planner) fanout.Planner { p.Mode = "cloud"; return p }, job("", "", 0), `mode "cloud"`},
		"negative local max":   {func(p fanout.Planner) fanout.Planner { p.LocalMax = -1; return p }, job("", "", 0), "local max -1"},
		"too many segments":    {func(p fanout.Planner) fanout.Planner { p.Segments = 1001; return p }, job("", "", 0), "1001 segments"},
		"segments of a query":  {func(p fanout.Planner) fanout.Planner { p.Segments = 2; return p }, job("room", "r", 0), "cannot be split"},
		"another table":        {func(p fanout.Planner) fanout.Planner { return p }, fanout.Job{Table: "Other", Payload: []byte("x")}, "for table Other"},
		"no table":             {func(p fanout.Planner) fanout.Planner { p.Table = nil; return p }, job("", "", 0), "no table"},
		"local without worker": {func(p fanout.Planner) fanout.Planner { p.Mode, p.Worker = fanout.Local, nil; return p }, job("", "", 0), "needs a Worker"},
	} {
		if _, err := tt.p(p).Broadcast(ctx, tt.base); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
	}
	if m, err := fanout.ParseMode("queue"); err != nil || m != fanout.Queue {
		t.Errorf("ParseMode(queue) = %q, %v", m, err)
	}
	if _, err := fanout.ParseMode("Queue"); err == nil {
		t.Error("ParseMode(Queue) accepted")
	}
}

// TestPlannerSharded: on a field with shards: 4 the planner counts over
// the 4 shard Queries and plans the 4 jobs of fanout.Plan, here or on the
// queue.
func TestPlannerSharded(t *testing.T) {
	const yaml = "table: Hot\nfields:\n  room:\n    expr: query.room\n    required: true\n    index: true\n    shards: 4\n"
	endpoint := dynalitetest.Start(t)
	sp, err := syncspec.Parse("lawcket.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	c := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, c, dynamo.TableDefinition(sp, sp.Table))
	ctx := context.Background()
	table, err := dynamo.NewTable(ctx, sp, dynamo.WithClient(c))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var ids []string
	for i := 0; len(ids) < 6; i++ {
		id := fmt.Sprintf("hot-%03d", i)
		if !dynalitetest.IndexSafe(seen, id) {
			continue
		}
		ids = append(ids, id)
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("Hot"), Item: map[string]types.AttributeValue{
			"connectionId": &types.AttributeValueMemberS{Value: id},
			"domainName":   &types.AttributeValueMemberS{Value: "example.com"},
			"stage":        &types.AttributeValueMemberS{Value: "prod"},
			"connectedAt":  &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"room":         &types.AttributeValueMemberS{Value: "final"},
			"room#shard":   &types.AttributeValueMemberS{Value: "final#" + strconv.Itoa(dynamo.ShardOf(id, 4))},
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
	w, err := fanout.NewWorker(mc, table, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q := &scriptedQueue{sent: map[int]int{}}
	p := fanout.Planner{Table: table, Worker: w, Queue: q, QueueURL: "https://sqs.example/jobs", LocalMax: 6}
	base := fanout.Job{Broadcast: "goal", Table: "Hot", Field: "room", Value: "final", Shards: table.Shards("room"), Payload: []byte("goal"), Rate: 400}

	out, err := p.Broadcast(ctx, base)
	d := out.Decision
	if err != nil || d.Mode != fanout.Local || d.Rows != 6 || d.Estimate != "exact" || d.Segments != 4 || out.Report.Sent != 6 {
		t.Fatalf("6 rows over 4 shards, local max 6: %+v, %+v, %v", d, out.Report, err)
	}
	if !strings.Contains(d.Reason, "4 Query jobs for room=final, one per shard") {
		t.Errorf("reason %q", d.Reason)
	}
	for _, id := range ids {
		if n := len(api.Delivered(id)); n != 1 {
			t.Errorf("%s got %d", id, n)
		}
	}
	p.LocalMax = 5
	out, err = p.Broadcast(ctx, base)
	if d := out.Decision; err != nil || d.Mode != fanout.Queue || d.Rows != 6 || d.Segments != 4 || out.Enqueue.Enqueued != 4 || d.Jobs[3].Shard != 3 || d.Jobs[3].Rate != 100 {
		t.Errorf("local max 5: %+v, %+v, %v", d, out.Enqueue, err)
	}
	// A Go caller need not know the field is sharded: the planner asks
	// the table and still plans one job per shard.
	base.Shards = 0
	d, err = p.Decide(ctx, base)
	if err != nil || d.Segments != 4 || d.Jobs[2].Shard != 2 || d.Jobs[2].Shards != 4 {
		t.Errorf("Shards unset: %+v, %v", d, err)
	}
}
