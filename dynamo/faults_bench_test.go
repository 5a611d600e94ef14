package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lawcket/lawcket/internal/faults"
	"github.com/lawcket/lawcket/lawckettest"
)

// BenchmarkConnectUnderThrottling measures a $connect (the dynamo plugin's
// PutItem through the wrapper, against dynalite behind the fault proxy) with
// the SDK's default DynamoDB retryer (4 attempts; throttling retries back
// off from a 1 s base with jitter) when the first k attempts are throttled,
// side by side with no throttling, within a 3 s Lambda deadline. A connect
// whose retries do not fit the deadline is refused (500) after the
// compensating DeleteItem; "always" is throttled on every attempt. worst-ms
// is the slowest connect of the run, accepted-% the share accepted.
//
//	go test -run '^$' -bench ConnectUnderThrottling -benchtime 20x ./dynamo
func BenchmarkConnectUnderThrottling(b *testing.B) {
	rig := newFaultRig(b)
	for _, tc := range []struct {
		name      string
		throttled int // attempts throttled; -1: all
		status    int // the status every connect must get; 0: 200 or 500
	}{
		{"baseline", 0, 200},
		{"throttled-1", 1, 0},
		{"throttled-3", 3, 0},
		{"always", -1, 500},
	} {
		b.Run(tc.name, func(b *testing.B) {
			proxy := faults.New(rig.endpoint, func(r faults.Request) faults.Fault {
				if r.Op == "PutItem" && (tc.throttled < 0 || r.Attempt <= tc.throttled) {
					return faults.Throttle(faults.ProvisionedThroughputExceeded)
				}
				return faults.None
			})
			defer proxy.Close()
			app, tr := rig.app(b, proxy) // the SDK's default retryer
			defer tr.CloseIdleConnections()
			var worst time.Duration
			i, accepted := 0, 0
			for b.Loop() {
				raw := lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID(fmt.Sprintf("%s-%d", tc.name, i))))
				i++
				start := time.Now()
				s := invokeWithin(b, app, 3*time.Second, raw)
				worst = max(worst, time.Since(start))
				if (tc.status != 0 && s != tc.status) || (s != 200 && s != 500) {
					b.Fatalf("status %d, want %d", s, tc.status)
				}
				if s == 200 {
					accepted++
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
			b.ReportMetric(100*float64(accepted)/float64(i), "accepted-%")
		})
	}
}
