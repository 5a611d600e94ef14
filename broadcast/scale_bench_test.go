package broadcast_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSegments broadcasts to every row of a dynalite table
// (LAWCKET_BENCH_ROWS rows, default 100,000) through a loopback Management
// API answering after 20 ms, side by side: one process (one Scan, 32 posts
// in flight), then 4 and 8 segment workers (parallel Scan segments, 32 posts
// in flight each), all without a rate limit so that the figures show what
// the segments buy. It reports posts/s, the CPU per post (µs-cpu/post: the
// whole process's user+system time, the loopback server's included, so an
// upper bound of the client's) and the peak heap.
//
// Run: go test -run '^$' -bench Segments -benchtime 1x -timeout 30m ./broadcast
func BenchmarkSegments(b *testing.B) {
	rows := 100000
	if v := os.Getenv("LAWCKET_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("LAWCKET_BENCH_ROWS=%q", v)
		}
		rows = n
	}
	table, client, _, spec := liveTable(b)
	api := newBenchAPI(b, 20*time.Millisecond)
	mc := newClient(b)
	later := time.Now().Add(time.Hour)
	all := make([]stored, rows)
	for i := range all {
		all[i] = stored{id: fmt.Sprintf("c-%07d", i), host: api.host(), room: "r", expires: later}
	}
	insert(b, client, spec.Table, all)
	sender, err := broadcast.New(mc, table, broadcast.WithRate(0))
	if err != nil {
		b.Fatal(err)
	}
	for _, segments := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("rows=%d/segments=%d", rows, segments), func(b *testing.B) {
			var heap heapUse
			var cpu time.Duration
			for range b.N {
				reps := make([]broadcast.Report, segments)
				errs := make([]error, segments)
				before := cpuTime()
				heap = heap.max(measureHeap(func() {
					var wg sync.WaitGroup
					for i := range segments {
						sel := dynamo.Selector{}
						if segments > 1 {
							sel = dynamo.Selector{Segment: i, Segments: segments}
						}
						wg.Go(func() {
							reps[i], errs[i] = sender.Send(context.Background(), table.Targets(context.Background(), sel), []byte(`{"text":"hello everyone"}`))
						})
					}
					wg.Wait()
				}))
				cpu += cpuTime() - before
				rep := reps[0]
				for _, r := range reps[1:] {
					rep.Add(r)
				}
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				if rep.Sent != rows {
					b.Fatalf("sent %d of %d: %+v", rep.Sent, rows, rep.Failures)
				}
			}
			posts := float64(b.N * rows)
			b.ReportMetric(posts/b.Elapsed().Seconds(), "posts/s")
			b.ReportMetric(float64(cpu.Microseconds())/posts, "µs-cpu/post")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/posts, "ns/post")
			heap.report(b)
		})
	}
}

// BenchmarkRate broadcasts generated targets (5 seconds' worth at each
// target rate) to a loopback Management API that answers at once and never
// throttles, and reports the achieved rate, its ratio to the target
// (achieved/target: within 10% is the goal while the target is under what
// the machine's CPU can post) and the 429s.
//
// Run: go test -run '^$' -bench Rate -benchtime 1x ./broadcast
func BenchmarkRate(b *testing.B) {
	api := newBenchAPI(b, 0)
	mc := newClient(b)
	for _, target := range []float64{100, 250, 500, 1000, 2000} {
		n := int(target * 5)
		gen := generated{host: api.host(), n: n}
		b.Run(fmt.Sprintf("target=%.0f", target), func(b *testing.B) {
			sender, err := broadcast.New(mc, gen, broadcast.WithRate(target))
			if err != nil {
				b.Fatal(err)
			}
			var achieved float64
			var throttled int
			for range b.N {
				rep, err := sender.Send(context.Background(), gen.targets(), []byte("x"))
				if err != nil || rep.Sent != n {
					b.Fatalf("sent %d of %d: %v", rep.Sent, n, err)
				}
				achieved += rep.AchievedRate
				throttled += rep.Throttled
			}
			achieved /= float64(b.N)
			b.ReportMetric(achieved, "achieved-req/s")
			b.ReportMetric(achieved/target, "achieved/target")
			b.ReportMetric(float64(throttled), "429s")
		})
	}
}

// throttledAPI is a loopback Management API that answers at once but, like
// API Gateway's account throttle, admits at most limit requests/s (a token
// bucket with a burst of limit/10) and answers the others 429
// LimitExceededException.
type throttledAPI struct {
	*httptest.Server
	lim       *rate.Limiter
	throttled atomic.Int64
}

func newThrottledAPI(b *testing.B, limit float64) *throttledAPI {
	api := &throttledAPI{lim: rate.NewLimiter(rate.Limit(limit), max(int(limit/10), 1))}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !api.lim.Allow() {
			api.throttled.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("x-amzn-ErrorType", "LimitExceededException")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"__type":"LimitExceededException","message":"Rate exceeded"}`)
		}
	}))
	b.Cleanup(api.Close)
	return api
}

// BenchmarkRateOverLimit broadcasts 5 seconds' worth of posts at each target
// rate to a loopback Management API that throttles at 500 requests/s
// (burst 50): under the limit (250/s) no post should see a 429; over it
// (1,000/s and 2,000/s) the 429s must lower the rate to about the server's,
// and the posts they hit are resent (429s are retried: nothing lost, nothing
// doubled). It reports the achieved rate (posts delivered per second),
// achieved/limit, the 429s, the lowest rate the pacer went down to, and the
// posts that failed (out of attempts or time).
//
// Run: go test -run '^$' -bench RateOverLimit -benchtime 1x ./broadcast
func BenchmarkRateOverLimit(b *testing.B) {
	const limit = 500
	mc := newClient(b)
	for _, target := range []float64{250, 1000, 2000} {
		n := int(target * 5)
		b.Run(fmt.Sprintf("limit=%d/target=%.0f", limit, target), func(b *testing.B) {
			api := newThrottledAPI(b, limit)
			gen := generated{host: strings.TrimPrefix(api.URL, "http://"), n: n}
			sender, err := broadcast.New(mc, gen, broadcast.WithRate(target))
			if err != nil {
				b.Fatal(err)
			}
			var achieved, minRate float64
			var throttled, failed int
			for range b.N {
				before := api.throttled.Load()
				rep, err := sender.Send(context.Background(), gen.targets(), []byte("x"))
				if err != nil {
					b.Fatal(err)
				}
				if rep.Sent+rep.Failed != n {
					b.Fatalf("sent %d + failed %d of %d", rep.Sent, rep.Failed, n)
				}
				if answered := api.throttled.Load() - before; int64(rep.Throttled) != answered {
					b.Fatalf("report says %d throttled, the server answered %d 429s", rep.Throttled, answered)
				}
				if target < limit && rep.Throttled > 0 {
					b.Fatalf("%d 429s at %.0f/s, under the server's %d/s", rep.Throttled, target, limit)
				}
				achieved += float64(rep.Sent) / rep.Seconds
				minRate = rep.MinRate
				throttled += rep.Throttled
				failed += rep.Failed
			}
			achieved /= float64(b.N)
			b.ReportMetric(achieved, "delivered/s")
			b.ReportMetric(achieved/math.Min(target, limit), "delivered/min(target,limit)")
			b.ReportMetric(float64(throttled), "429s")
			b.ReportMetric(minRate, "min-rate")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}
