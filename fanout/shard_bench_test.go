package fanout_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// BenchmarkShardedRoom broadcasts to one room of LAWCKET_BENCH_ROWS rows
// (default 20,000) in dynalite, through a loopback Management API that
// answers after 20 ms, side by side in one run: the room unsharded (one
// Query job, one fanout.Worker.Run), and the same rows in a room sharded
// S ways (shards: S) run as the S jobs of fanout.Plan, S Worker.Run calls
// in parallel, for S = 4, 8 and 16. Each job posts with the default 32 in
// flight and no rate limit, so the figures show what sharding buys; rows
// are written as the sync plugin writes them (dynamo.BuildItem). It
// reports posts/s, the slowest job's seconds (what a broadcast waits
// for), and the process's CPU per post (µs-cpu/post). All jobs share this
// machine's cores here; on Lambda each job has its own.
//
// Run: go test -run '^$' -bench ShardedRoom -benchtime 1x -timeout 30m ./fanout
func BenchmarkShardedRoom(b *testing.B) {
	rows := 20000
	if v := os.Getenv("LAWCKET_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("LAWCKET_BENCH_ROWS=%q", v)
		}
		rows = n
	}
	ctx := context.Background()
	endpoint := dynalitetest.Start(b)
	client := dynalitetest.Client(endpoint)
	var posts atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond)
		posts.Add(1)
	}))
	b.Cleanup(api.Close)
	mc, err := mgmt.New(mgmt.WithEndpoint(api.URL+"/{stage}"), mgmt.WithAWSConfig(aws.Config{
		Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}))
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var ids []string
	for i := 0; len(ids) < rows; i++ {
		if id := fmt.Sprintf("c-%07d", i); dynalitetest.IndexSafe(seen, id) {
			ids = append(ids, id)
		}
	}
	for _, shards := range []int{0, 4, 8, 16} {
		yaml := "table: Room" + strconv.Itoa(shards) + "\nfields:\n  room:\n    expr: query.room\n    required: true\n    index: true\n"
		if shards > 0 {
			yaml += "    shards: " + strconv.Itoa(shards) + "\n"
		}
		spec, err := syncspec.Parse("lawcket.yaml", []byte(yaml))
		if err != nil {
			b.Fatal(err)
		}
		dynalitetest.CreateTable(b, client, dynamo.TableDefinition(spec, ""))
		insertRows(b, client, spec, ids)
		table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(client))
		if err != nil {
			b.Fatal(err)
		}
		w, err := fanout.NewWorker(mc, table, slog.New(slog.NewTextHandler(io.Discard, nil)), broadcast.WithRate(0))
		if err != nil {
			b.Fatal(err)
		}
		name := "unsharded"
		if shards > 0 {
			name = fmt.Sprintf("shards=%d", shards)
		}
		b.Run(fmt.Sprintf("rows=%d/%s", rows, name), func(b *testing.B) {
			jobs, err := fanout.Plan(fanout.Job{Broadcast: "bench", Table: spec.Table, Field: "room", Value: "final",
				Shards: table.Shards("room"), Payload: []byte(`{"goal":7}`)}, 1)
			if err != nil {
				b.Fatal(err)
			}
			var slowest, cpu time.Duration
			for range b.N {
				before := cpuTime()
				posts.Store(0)
				reps := make([]broadcast.Report, len(jobs))
				errs := make([]error, len(jobs))
				took := make([]time.Duration, len(jobs))
				var wg sync.WaitGroup
				for i, j := range jobs {
					wg.Go(func() {
						start := time.Now()
						reps[i], errs[i] = w.Run(ctx, j)
						took[i] = time.Since(start)
					})
				}
				wg.Wait()
				cpu += cpuTime() - before
				sent := 0
				for i := range jobs {
					if errs[i] != nil {
						b.Fatal(errs[i])
					}
					sent += reps[i].Sent
					slowest = max(slowest, took[i])
				}
				if sent != rows || posts.Load() != int64(rows) {
					b.Fatalf("sent %d, %d posts, of %d rows", sent, posts.Load(), rows)
				}
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "posts/s")
			b.ReportMetric(float64(len(jobs)), "jobs")
			b.ReportMetric(slowest.Seconds(), "s-slowest-job")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*rows), "µs-cpu/post")
		})
	}
}

// cpuTime is the process's user+system CPU time so far (the loopback
// server's and dynalite's client side included: an upper bound of the
// workers').
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// insertRows writes one row per id in room "final", built by the sync
// plugin's own dynamo.BuildItem, with BatchWriteItem (25 a call).
func insertRows(b *testing.B, c *dynamodb.Client, spec *syncspec.Spec, ids []string) {
	b.Helper()
	now := time.Now()
	var reqs []types.WriteRequest
	flush := func() {
		pending := map[string][]types.WriteRequest{spec.Table: reqs}
		for len(pending) > 0 {
			out, err := c.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				b.Fatalf("BatchWriteItem: %v", err)
			}
			pending = out.UnprocessedItems
		}
		reqs = reqs[:0]
	}
	for _, id := range ids {
		req := lawckettest.Connect(lawckettest.Query("room", "final"), lawckettest.ConnectionID(id))
		item, err := dynamo.BuildItem(spec, &req, now)
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(reqs) == 25 {
			flush()
		}
	}
	if len(reqs) > 0 {
		flush()
	}
}
