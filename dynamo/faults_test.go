package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/faults"
	"github.com/lawcket/lawcket/lawckettest"
)

const faultSpec = `table: Faults
ttl: 1h
fields:
  room:
    expr: query.room ?? "none"
    index: true
`

// faultRig is dynalite behind a fault-injecting proxy: the plugin's client
// goes through the proxy, the checks read dynalite directly.
type faultRig struct {
	endpoint string
	direct   *dynamodb.Client
	spec     string
}

func newFaultRig(t testing.TB) *faultRig {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	r := &faultRig{endpoint: endpoint, direct: dynalitetest.Client(endpoint), spec: faultSpec}
	dynalitetest.CreateTable(t, r.direct, dynamo.TableDefinition(parseSpec(t, faultSpec), ""))
	return r
}

// app returns an App with the dynamo plugin whose client goes through
// proxy, and the client's transport (closed by the caller to count
// goroutines).
// fastRetries is the SDK's standard retryer (4 attempts, as DynamoDB's
// default) with its backoff shortened, so the suite runs fast; the
// throttling storm test keeps the real default.
func fastRetries(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 4
		so.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			return time.Duration(attempt) * 5 * time.Millisecond, nil
		})
	})
}

func (r *faultRig) app(t testing.TB, proxy *faults.Proxy, optFns ...func(*dynamodb.Options)) (*lawcket.App, *http.Transport) {
	t.Helper()
	tr := &http.Transport{}
	client := dynalitetest.Client(proxy.URL, append([]func(*dynamodb.Options){func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} }}, optFns...)...)
	p, err := dynamo.NewPlugin(context.Background(), parseSpec(t, r.spec), dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	return lawcket.New(lawcket.WithPlugins(p), lawcket.WithLogger(slogTo(discardWriter{}))), tr
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func (r *faultRig) hasRow(t testing.TB, id string) bool {
	t.Helper()
	out, err := r.direct.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String("Faults"),
		Key:            map[string]types.AttributeValue{dynamo.AttrConnectionID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("read back %s: %v", id, err)
	}
	return out.Item != nil
}

// invokeWithin runs one raw event through the App as Lambda would, with
// the event's deadline d, and returns the response's status.
func invokeWithin(t testing.TB, a *lawcket.App, d time.Duration, raw []byte) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out, _ := a.Invoke(ctx, raw)
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return resp.StatusCode
}

// settle waits for the goroutine count to come back to base: every
// goroutine an invocation started has been awaited.
func settle(t *testing.T, base int, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("%s: %d goroutines, want at most %d:\n%s", what, runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var putFaults = []faults.Fault{
	faults.Throttle(faults.ProvisionedThroughputExceeded),
	faults.Throttle(faults.Throttling),
	faults.Throttle(faults.RequestLimitExceeded),
	faults.Status500,
	faults.Status503,
	faults.Reset,
	faults.Truncate,
	faults.Lost,
	faults.After(900 * time.Millisecond), // after the event's 600 ms deadline
}

// TestConnectInvariantsUnderFaults is the DynamoDB half of the fault suite
// for $connect: every fault, once and on every attempt, with the cleanup
// reachable or not. Invariants: no client accepted without its row; no row
// left for a refused client when the cleanup could reach DynamoDB; every
// goroutine awaited.
func TestConnectInvariantsUnderFaults(t *testing.T) {
	rig := newFaultRig(t)
	const deadline = 600 * time.Millisecond
	base := -1
	for _, f := range putFaults {
		for _, mode := range []string{"once", "always", "always, cleanup unreachable"} {
			name := fmt.Sprintf("%s %s", f, mode)
			t.Run(name, func(t *testing.T) {
				id := strings.NewReplacer(" ", "-", ",", "").Replace(name)
				proxy := faults.New(rig.endpoint, func(r faults.Request) faults.Fault {
					switch {
					case r.Op == "PutItem" && (mode != "once" || r.Attempt == 1):
						return f
					case r.Op == "DeleteItem" && mode == "always, cleanup unreachable":
						return faults.Reset
					}
					return faults.None
				})
				app, tr := rig.app(t, proxy, fastRetries)
				if base < 0 {
					base = runtime.NumGoroutine()
				}
				status := invokeWithin(t, app, deadline, lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID(id), lawckettest.Query("room", "lobby"))))
				proxy.Close()
				tr.CloseIdleConnections()
				accepted, row := status == http.StatusOK, rig.hasRow(t, id)
				switch {
				case accepted && !row:
					t.Errorf("client accepted without its row")
				case !accepted && row && mode != "always, cleanup unreachable":
					t.Errorf("refused (%d) but its row is left, though the cleanup could reach DynamoDB; requests: %v", status, proxy.Log())
				case !accepted && row && !f.Applies():
					t.Errorf("refused (%d) and a row exists, though no PutItem was applied", status)
				}
				if !accepted && status != http.StatusInternalServerError {
					t.Errorf("refused with %d, want 500", status)
				}
				// What each fault must lead to: retried faults are accepted
				// once they pass; an answer after the deadline cannot be.
				wantAccepted := mode == "once" && f.Kind != faults.Late
				if accepted != wantAccepted {
					t.Errorf("accepted = %v (status %d), want %v; requests: %v", accepted, status, wantAccepted, proxy.Log())
				}
				if !accepted && mode != "always, cleanup unreachable" && proxy.Count("DeleteItem") == 0 && f.Applies() {
					t.Errorf("no compensating DeleteItem after a PutItem that may have been applied")
				}
				settle(t, base, name)
			})
		}
	}
}

// TestDisconnectUnderFaults: a transient DeleteItem failure is retried (the
// row goes); a persistent one is a fault (500, logged) and the row is left
// to its TTL.
func TestDisconnectUnderFaults(t *testing.T) {
	rig := newFaultRig(t)
	for _, f := range []faults.Fault{faults.Throttle(faults.Throttling), faults.Status500, faults.Reset, faults.Lost, faults.Truncate} {
		for _, always := range []bool{false, true} {
			name := fmt.Sprintf("%s always=%v", f, always)
			t.Run(name, func(t *testing.T) {
				id := strings.ReplaceAll(name, " ", "-")
				proxy := faults.New(rig.endpoint, func(r faults.Request) faults.Fault {
					if r.Op == "DeleteItem" && (always || r.Attempt == 1) {
						return f
					}
					return faults.None
				})
				defer proxy.Close()
				app, tr := rig.app(t, proxy, fastRetries)
				defer tr.CloseIdleConnections()
				if s := invokeWithin(t, app, 2*time.Second, lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID(id)))); s != 200 {
					t.Fatalf("connect: %d", s)
				}
				status := invokeWithin(t, app, 2*time.Second, lawckettest.JSON(lawckettest.Disconnect(lawckettest.ConnectionID(id))))
				row := rig.hasRow(t, id)
				if always {
					if status != http.StatusInternalServerError {
						t.Errorf("persistent DeleteItem failure answered %d, want 500", status)
					}
					if f.Applies() == row {
						t.Errorf("row present = %v after %s", row, f)
					}
				} else if status != 200 || row {
					t.Errorf("transient DeleteItem failure: status %d, row left %v", status, row)
				}
			})
		}
	}
}

// Issue 11 item 6: after 60 concurrent connects under throttling, the
// client's shared retry quota used to be spent, and the next connect with a
// single transient throttle was refused after one attempt.
func TestRetriesSurviveAThrottlingStorm(t *testing.T) {
	rig := newFaultRig(t)
	proxy := faults.New(rig.endpoint, func(r faults.Request) faults.Fault {
		switch {
		case strings.HasPrefix(r.ConnectionID, "storm-") && r.Op == "PutItem":
			return faults.Throttle(faults.ProvisionedThroughputExceeded)
		case r.ConnectionID == "probe" && r.Attempt == 1:
			return faults.Throttle(faults.Throttling)
		}
		return faults.None
	})
	defer proxy.Close()
	// The SDK's standard retryer with its default 500-token retry quota (a
	// throttle retry costs 5), 4 attempts as DynamoDB's default, and short
	// backoffs (the default's 1 s throttle base would make this test slow).
	app, tr := rig.app(t, proxy, fastRetries)
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			if s := invokeWithin(t, app, 20*time.Second, lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID(fmt.Sprintf("storm-%02d", i))))); s != 500 {
				t.Errorf("storm connect %d answered %d, want 500", i, s)
			}
		})
	}
	wg.Wait()
	// Each storm connect keeps its own retries: no connect is cut to a
	// single attempt because others spent a shared quota.
	attempts := map[string]int{}
	for _, e := range proxy.Log() {
		if e.Op == "PutItem" && strings.HasPrefix(e.ConnectionID, "storm-") {
			attempts[e.ConnectionID]++
		}
	}
	for id, n := range attempts {
		if n < 2 {
			t.Errorf("%s: %d PutItem attempt(s), want its retries", id, n)
		}
	}
	start := time.Now()
	if s := invokeWithin(t, app, 20*time.Second, lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID("probe")))); s != 200 {
		var attempts int
		for _, e := range proxy.Log() {
			if e.ConnectionID == "probe" && e.Op == "PutItem" {
				attempts++
			}
		}
		t.Fatalf("connect with one transient throttle after the storm answered %d after %d attempt(s) in %v, want 200 (retried)", s, attempts, time.Since(start))
	}
	if !rig.hasRow(t, "probe") {
		t.Error("accepted without its row")
	}
}
