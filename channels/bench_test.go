package channels_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// benchLatency is the Management API's answer time, as in broadcast's
// benchmarks: the low end of a real PostToConnection round trip.
const benchLatency = 5 * time.Millisecond

// benchAPI answers every post and GET after latency, counting them; ids
// starting with "gone" answer 410.
type benchAPI struct {
	*httptest.Server
	calls atomic.Int64
}

func newBenchAPI(b *testing.B, latency time.Duration) *benchAPI {
	api := &benchAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(latency)
		api.calls.Add(1)
		if strings.Contains(r.URL.Path, "/@connections/gone") {
			w.Header().Set("X-Amzn-Errortype", "GoneException")
			w.WriteHeader(http.StatusGone)
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{}`)
		}
	}))
	b.Cleanup(api.Close)
	return api
}

// batchPut writes items with BatchWriteItem, 25 at a time.
func batchPut(b *testing.B, db *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	ctx := context.Background()
	for len(items) > 0 {
		n := min(25, len(items))
		reqs := make([]types.WriteRequest, n)
		for i, it := range items[:n] {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
		}
		items = items[n:]
		pending := map[string][]types.WriteRequest{table: reqs}
		for len(pending) > 0 {
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				b.Fatal(err)
			}
			pending = out.UnprocessedItems
		}
	}
}

// BenchmarkPublish publishes to channels of 1,000 and 10,000 subscribers in
// dynalite through a loopback Management API answering in 5 ms, 32 posts in
// flight, next to the baseline in the same run: a broadcast.Sender to the
// same number of connections selected by a room GSI of the connections
// table (what the chat did before channels). It reports posts/s and the peak
// heap during the publish (flat in N: one DynamoDB page at a time).
//
// Run: go test -run '^$' -bench Publish -benchtime 1x ./channels
func BenchmarkPublish(b *testing.B) {
	w := newWorld(b)
	api := newBenchAPI(b, benchLatency)
	host := strings.TrimPrefix(api.URL, "http://")
	ctx := context.Background()
	poster, err := mgmt.New(mgmt.WithEndpoint("http://{domainName}/{stage}"), mgmt.WithAWSConfig(w.awsCfg))
	if err != nil {
		b.Fatal(err)
	}
	ch, err := channels.New(ctx, w.spec, w.table, channels.WithClient(w.db), channels.WithPoster(poster))
	if err != nil {
		b.Fatal(err)
	}
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	for _, n := range []int{1000, 10000} {
		var subs, rows []map[string]types.AttributeValue
		for i := range n {
			id := fmt.Sprintf("n%d-%06d", n, i)
			subs = append(subs, map[string]types.AttributeValue{
				channels.AttrChannel: s(fmt.Sprintf("/news/big%d", n)), channels.AttrSubscriber: s(id), channels.AttrConnectionID: s(id),
				channels.AttrDomainName: s(host), channels.AttrStage: s("prod"), channels.AttrExpiresAt: &types.AttributeValueMemberN{Value: exp},
			})
			rows = append(rows, map[string]types.AttributeValue{
				"connectionId": s(id), "domainName": s(host), "stage": s("prod"), "room": s(fmt.Sprintf("big%d", n)),
				"connectedAt": &types.AttributeValueMemberN{Value: "1"}, "expiresAt": &types.AttributeValueMemberN{Value: exp},
			})
		}
		batchPut(b, w.db, ch.Table(), subs)
		batchPut(b, w.db, w.table.Name(), rows)
	}
	payload := []byte(`{"text":"hello everyone in the channel"}`)
	run := func(b *testing.B, n int, send func() (broadcast.Report, error)) {
		var heap heapUse
		b.ResetTimer()
		for range b.N {
			var rep broadcast.Report
			heap = heap.max(measureHeap(func() { rep, err = send() }))
			if err != nil || rep.Failed > 0 || rep.Sent < n*99/100 {
				b.Fatalf("sent %d of %d: %v %v", rep.Sent, n, err, rep.Failures)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "posts/s")
		b.ReportMetric(float64(heap.peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(heap.live)/(1<<20), "peak-live-MB")
	}
	sender, err := broadcast.New(poster, w.table)
	if err != nil {
		b.Fatal(err)
	}
	// With pages of 1,000 items instead of DynamoDB's 1 MB, both sizes
	// hold the same page at a time: the peak heap is then flat in N.
	paged, err := channels.New(ctx, w.spec, w.table, channels.WithClient(w.db), channels.WithPoster(poster), channels.WithPageSize(1000))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("channel/page=1000/subscribers=%d", n), func(b *testing.B) {
			run(b, n, func() (broadcast.Report, error) { return paged.Publish(ctx, fmt.Sprintf("/news/big%d", n), payload) })
		})
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("channel/subscribers=%d", n), func(b *testing.B) {
			run(b, n, func() (broadcast.Report, error) { return ch.Publish(ctx, fmt.Sprintf("/news/big%d", n), payload) })
		})
		b.Run(fmt.Sprintf("baseline-room-gsi/conns=%d", n), func(b *testing.B) {
			run(b, n, func() (broadcast.Report, error) {
				return sender.Send(ctx, w.table.Targets(ctx, dynamo.Selector{Field: "room", Value: fmt.Sprintf("big%d", n)}), payload)
			})
		})
	}
}

// BenchmarkRequests counts the DynamoDB requests of one subscribe and one
// unsubscribe, through the App as a client sends them (reply frame
// included), per kind of namespace:
//
//   - plain: /hot/x (no rule reads the row, no presence);
//   - rule-over-row: /rooms-like rule on connection.user, no presence (news is
//     authorizer-only, so this uses a wildcard of rooms, which is not a
//     presence membership);
//   - presence: /rooms/x (rule over the row, member key and fields, join
//     check, presence snapshot in subscribe_success, join frame).
//
// Run: go test -run '^$' -bench Requests -benchtime 20x ./channels
func BenchmarkRequests(b *testing.B) {
	w := newWorld(b)
	for _, tt := range []struct{ name, channel string }{
		{"plain", "/hot/x"},
		{"rule-over-row", "/rooms/*"},
		{"presence", "/rooms/x"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			id := "bench-" + tt.name
			w.connect(id, "ann", nil)
			sub := `{"action":"subscribe","id":"1","channel":"` + tt.channel + `"}`
			unsub := `{"action":"unsubscribe","id":"2","channel":"` + tt.channel + `"}`
			var subReq, unsubReq int
			b.ResetTimer()
			for range b.N {
				w.counter.Reset()
				w.send(id, nil, sub)
				subReq += w.counter.Count("")
				w.counter.Reset()
				w.send(id, nil, unsub)
				unsubReq += w.counter.Count("")
			}
			b.ReportMetric(float64(subReq)/float64(b.N), "subscribe-requests/op")
			b.ReportMetric(float64(unsubReq)/float64(b.N), "unsubscribe-requests/op")
		})
	}
	b.Run("disconnect/5-subscriptions", func(b *testing.B) {
		var reqs int
		for i := range b.N {
			id := fmt.Sprintf("disc-%d", i)
			w.connect(id, "bob", nil)
			for _, c := range []string{"/hot/a", "/hot/b", "/hot/c", "/news/free", "/rooms/*"} {
				w.send(id, nil, `{"action":"subscribe","channel":"`+c+`"}`)
			}
			w.counter.Reset()
			w.disconnect(id)
			reqs += w.counter.Count("")
		}
		b.ReportMetric(float64(reqs)/float64(b.N), "disconnect-requests/op")
	})
}

// BenchmarkSweep sweeps 1,000 stored connections (a tenth gone) through a
// Management API answering in 5 ms: unlimited (8 checks in flight), and at
// 100 checks/s to show the limiter holding.
//
// Run: go test -run '^$' -bench Sweep -benchtime 1x ./channels
func BenchmarkSweep(b *testing.B) {
	w := newWorld(b)
	api := newBenchAPI(b, benchLatency)
	host := strings.TrimPrefix(api.URL, "http://")
	poster, err := mgmt.New(mgmt.WithEndpoint("http://{domainName}/{stage}"), mgmt.WithAWSConfig(w.awsCfg))
	if err != nil {
		b.Fatal(err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	seed := func(n int) {
		var rows []map[string]types.AttributeValue
		for i := range n {
			id := fmt.Sprintf("live-%06d", i)
			if i%10 == 0 {
				id = fmt.Sprintf("gone-%06d", i)
			}
			rows = append(rows, map[string]types.AttributeValue{"connectionId": s(id), "domainName": s(host), "stage": s("prod"), "connectedAt": &types.AttributeValueMemberN{Value: "1"}})
		}
		batchPut(b, w.db, w.table.Name(), rows)
	}
	for _, tt := range []struct {
		name string
		n    int
		rate float64
	}{{"unlimited/conns=1000", 1000, 1e9}, {"rate=100/conns=200", 200, 100}} {
		b.Run(tt.name, func(b *testing.B) {
			sw, err := channels.NewSweeper(w.table, channels.NewChecker(poster), channels.WithSweepChannels(w.ch), channels.WithSweepRate(tt.rate))
			if err != nil {
				b.Fatal(err)
			}
			checked := 0
			for range b.N {
				b.StopTimer()
				out, err := w.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table.Name())})
				if err != nil {
					b.Fatal(err)
				}
				for _, it := range out.Items { // start from exactly n rows
					w.table.Delete(context.Background(), it["connectionId"].(*types.AttributeValueMemberS).Value)
				}
				seed(tt.n)
				b.StartTimer()
				rep, err := sw.Sweep(context.Background())
				if err != nil || rep.Checked != tt.n || rep.Gone != tt.n/10 || rep.Failed != 0 {
					b.Fatalf("sweep %+v, %v", rep, err)
				}
				checked += rep.Checked
			}
			b.ReportMetric(float64(checked)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// heapUse and measureHeap are broadcast's benchmark helpers (see
// broadcast/bench_test.go): the peak heap while fn runs, sampled every ms.
type heapUse struct{ peak, live uint64 }

func (h heapUse) max(o heapUse) heapUse { return heapUse{max(h.peak, o.peak), max(h.live, o.live)} }

func measureHeap(fn func()) heapUse {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	var h heapUse
	read := func(h *heapUse) {
		metrics.Read(samples)
		h.peak = max(h.peak, samples[0].Value.Uint64())
		h.live = max(h.live, samples[1].Value.Uint64())
	}
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
