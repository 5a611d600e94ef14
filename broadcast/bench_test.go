package broadcast_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// benchLatency is the Management API's answer time in the benchmarks: a
// loopback server answering at once would measure only this machine's CPU
// (SigV4 signing, HTTP), whereas a real PostToConnection round trip from a
// Lambda takes milliseconds. 5 ms is the low end of it.
const benchLatency = 5 * time.Millisecond

// benchAPI is a Management API that answers 200 after latency and only
// counts posts (recording them would grow the heap being measured).
type benchAPI struct {
	*httptest.Server
	posts atomic.Int64
}

func newBenchAPI(b *testing.B, latency time.Duration) *benchAPI {
	api := &benchAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(latency)
		api.posts.Add(1)
	}))
	b.Cleanup(api.Close)
	return api
}

func (a *benchAPI) host() string { return strings.TrimPrefix(a.URL, "http://") }

// BenchmarkBroadcast posts to rooms stored in dynalite through a loopback
// Management API answering in benchLatency:
//
//   - fanout/conns=10000: the default 32 posts in flight,
//   - sequential/conns=10000: one post at a time (the loop most samples
//     write), for the speedup,
//   - memory/conns=1000 and memory/conns=10000: the peak heap during Send
//     (peak-heap-MB, and peak-live-MB: the live heap marked by each GC,
//     sampled every millisecond), which is bounded by one
//     DynamoDB page (1 MB, about 6,000 rows here) and not by the number of
//     connections; memory/page=1000/…: the same with pages of 1,000 rows.
//
// Run: go test -run '^$' -bench Broadcast -benchtime 1x ./broadcast
func BenchmarkBroadcast(b *testing.B) {
	table, client, _, spec := liveTable(b)
	api := newBenchAPI(b, benchLatency)
	mc := newClient(b)

	later := time.Now().Add(time.Hour)
	var rows []stored
	for room, n := range map[string]int{"r1000": 1000, "r10000": 10000} {
		seen := map[string]bool{}
		for i := 0; len(seen) < n; i++ {
			if id := fmt.Sprintf("%s-%05d", room, i); dynaliteIndexSafe(seen, id) {
				rows = append(rows, stored{id: id, host: api.host(), room: room, expires: later})
			}
		}
	}
	insert(b, client, spec.Table, rows)

	send := func(b *testing.B, table *dynamo.Table, conns, concurrency int) {
		sender, err := broadcast.New(mc, table, broadcast.WithConcurrency(concurrency), broadcast.WithRate(0))
		if err != nil {
			b.Fatal(err)
		}
		sel := dynamo.Selector{Field: "room", Value: fmt.Sprintf("r%d", conns)}
		payload := []byte(`{"text":"hello everyone in the room"}`)
		var heap heapUse
		b.ResetTimer()
		for range b.N {
			var rep broadcast.Report
			heap = heap.max(measureHeap(func() {
				rep, err = sender.Send(context.Background(), table.Targets(context.Background(), sel), payload)
			}))
			if err != nil || rep.Sent != conns {
				b.Fatalf("sent %d of %d: %v %v", rep.Sent, conns, err, rep.Failures)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*conns), "ns/post")
		b.ReportMetric(float64(b.N*conns)/b.Elapsed().Seconds(), "posts/s")
		heap.report(b)
	}

	b.Run("fanout/conns=10000", func(b *testing.B) { send(b, table, 10000, broadcast.DefaultConcurrency) })
	b.Run("sequential/conns=10000", func(b *testing.B) { send(b, table, 10000, 1) })
	b.Run("memory/conns=1000", func(b *testing.B) { send(b, table, 1000, broadcast.DefaultConcurrency) })
	b.Run("memory/conns=10000", func(b *testing.B) { send(b, table, 10000, broadcast.DefaultConcurrency) })
	// With pages of 1,000 rows instead of DynamoDB's 1 MB, both room sizes
	// hold the same page at a time.
	paged, err := dynamo.NewTable(context.Background(), spec, dynamo.WithClient(client), dynamo.WithPageSize(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("memory/page=1000/conns=1000", func(b *testing.B) { send(b, paged, 1000, broadcast.DefaultConcurrency) })
	b.Run("memory/page=1000/conns=10000", func(b *testing.B) { send(b, paged, 10000, broadcast.DefaultConcurrency) })
}

// BenchmarkBroadcastGenerated isolates the fan-out from DynamoDB's page
// size: rows come from a generator (no storage), so the peak heap shows what
// Send itself holds at 1,000, 10,000 and 100,000 connections.
//
// Run: go test -run '^$' -bench BroadcastGenerated -benchtime 1x ./broadcast
func BenchmarkBroadcastGenerated(b *testing.B) {
	api := newBenchAPI(b, 0)
	mc := newClient(b)
	for _, conns := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			gen := generated{host: api.host(), n: conns}
			sender, err := broadcast.New(mc, gen, broadcast.WithRate(0))
			if err != nil {
				b.Fatal(err)
			}
			var heap heapUse
			for range b.N {
				var rep broadcast.Report
				heap = heap.max(measureHeap(func() {
					rep, err = sender.Send(context.Background(), gen.targets(), []byte("x"))
				}))
				if err != nil || rep.Sent != conns {
					b.Fatalf("sent %d of %d: %v", rep.Sent, conns, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*conns), "ns/post")
			heap.report(b)
		})
	}
}

// generated yields n rows made on the fly.
type generated struct {
	host string
	n    int
}

func (g generated) targets() iter.Seq2[mgmt.Target, error] {
	return func(yield func(mgmt.Target, error) bool) {
		for i := range g.n {
			if !yield(mgmt.Target{ConnectionID: fmt.Sprintf("gen-%06d", i), DomainName: g.host, Stage: "prod"}, nil) {
				return
			}
		}
	}
}

func (g generated) Delete(ctx context.Context, id string) error { return nil }

// heapUse is what measureHeap saw.
type heapUse struct {
	base uint64 // heap objects after a GC, before fn
	peak uint64 // highest heap objects (live and not yet collected) while fn ran
	live uint64 // highest live heap marked by a GC while fn ran
}

func (h heapUse) max(o heapUse) heapUse {
	return heapUse{max(h.base, o.base), max(h.peak, o.peak), max(h.live, o.live)}
}

func (h heapUse) report(b *testing.B) {
	b.ReportMetric(float64(h.base)/(1<<20), "base-heap-MB")
	b.ReportMetric(float64(h.peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(h.live)/(1<<20), "peak-live-MB")
}

// measureHeap runs fn, sampling runtime/metrics every millisecond.
func measureHeap(fn func()) heapUse {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func(h *heapUse) {
		metrics.Read(samples)
		h.peak = max(h.peak, samples[0].Value.Uint64())
		h.live = max(h.live, samples[1].Value.Uint64())
	}
	var h heapUse
	read(&h)
	h.base = h.peak
	done := make(chan struct{})
	stopped := make(chan heapUse)
	go func() {
		h := h
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				read(&h)
				stopped <- h
				return
			case <-tick.C:
				read(&h)
			}
		}
	}()
	fn()
	close(done)
	return <-stopped
}
