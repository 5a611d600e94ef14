package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
)

// The fault suite of broadcast: a recording Management API
// (lawckettest.Server, the real wire protocol) scripted per connection with
// every failure API Gateway can give, and the invariants of the delivery
// contract checked over the whole broadcast.

// faultClient is a mgmt.Client for srv.
func faultClient(t testing.TB, srv *lawckettest.Server) *mgmt.Client {
	t.Helper()
	c, err := mgmt.New(mgmt.WithEndpoint(srv.Endpoint("{stage}")), mgmt.WithAWSConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAULT", "secret", ""),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fault is one kind of connection in the suite.
type fault struct {
	name   string
	script []lawckettest.Behavior // the answers to its posts, in order
	gone   bool
	// Under the default policy: the outcome.
	sent     bool
	reason   broadcast.Reason // of the post failure, "" if none
	attempts int
}

var faults = []fault{
	{name: "ok", sent: true, attempts: 1},
	{name: "gone", gone: true, attempts: 1},
	{name: "throttled-twice", script: lawckettest.Times(2, lawckettest.Answer(429)), sent: true, attempts: 3},
	{name: "throttle-storm", script: lawckettest.Times(10, lawckettest.Answer(429)), reason: broadcast.ReasonThrottled, attempts: broadcast.DefaultRetry.MaxAttempts},
	{name: "too-large", script: []lawckettest.Behavior{lawckettest.Answer(413)}, reason: broadcast.ReasonTooLarge, attempts: 1},
	{name: "forbidden", script: []lawckettest.Behavior{lawckettest.Answer(403)}, reason: broadcast.ReasonForbidden, attempts: 1},
	{name: "deliver-then-500", script: []lawckettest.Behavior{lawckettest.DeliverThen(500)}, reason: broadcast.ReasonAmbiguous, attempts: 1},
	{name: "deliver-then-503", script: []lawckettest.Behavior{lawckettest.DeliverThen(503)}, reason: broadcast.ReasonAmbiguous, attempts: 1},
	{name: "500", script: []lawckettest.Behavior{lawckettest.Answer(500)}, reason: broadcast.ReasonAmbiguous, attempts: 1},
	{name: "reset-after", script: []lawckettest.Behavior{lawckettest.ResetAfterDelivery()}, reason: broadcast.ReasonAmbiguous, attempts: 1},
	{name: "reset-before", script: []lawckettest.Behavior{lawckettest.ResetBeforeDelivery()}, reason: broadcast.ReasonAmbiguous, attempts: 1},
	{name: "slow", script: []lawckettest.Behavior{lawckettest.Answer(200).After(20 * time.Millisecond)}, sent: true, attempts: 1},
	{name: "bad-request", script: []lawckettest.Behavior{lawckettest.Answer(400)}, reason: broadcast.ReasonError, attempts: 1},
}

// faultTargets scripts srv with n connections of each fault and returns
// the store holding them, and the fault of each id.
func faultTargets(srv *lawckettest.Server, n int) (*memStore, map[string]fault) {
	store := &memStore{}
	byID := map[string]fault{}
	for _, f := range faults {
		for i := range n {
			id := fmt.Sprintf("%s-%03d=", f.name, i)
			byID[id] = f
			if f.gone {
				srv.Gone(id)
			}
			srv.Script(id, f.script...)
			store.rows = append(store.rows, row{target: mgmt.Target{ConnectionID: id, Stage: "prod"}, room: "r"})
		}
	}
	return store, byID
}

// workersLeft lists the goroutines of broadcast or mgmt still running.
func workersLeft() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "lawcket/broadcast.(*run)") || strings.Contains(g, "lawcket/mgmt.") {
			left = append(left, g)
		}
	}
	return left
}

func TestFaultSuite(t *testing.T) {
	const perFault = 20
	for _, delivery := range []mgmt.Delivery{mgmt.AtMostOnce, mgmt.AtLeastOnce} {
		t.Run(delivery.String(), func(t *testing.T) {
			srv := lawckettest.NewServer()
			t.Cleanup(srv.Close)
			store, byID := faultTargets(srv, perFault)
			retry := broadcast.DefaultRetry
			retry.BaseDelay, retry.MaxDelay, retry.Delivery = time.Millisecond, 5*time.Millisecond, delivery
			sender, err := broadcast.New(faultClient(t, srv), store, broadcast.WithRetry(retry), broadcast.WithConcurrency(16))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := sender.Send(context.Background(), store.targets(""), []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			// Every goroutine Send started has returned.
			if left := workersLeft(); len(left) > 0 {
				t.Errorf("%d goroutines left after Send:\n%s", len(left), strings.Join(left, "\n\n"))
			}

			posts := map[string]int{}
			delivered := map[string]int{}
			for _, p := range srv.Posts() {
				posts[p.ConnectionID]++
				if p.Delivered {
					delivered[p.ConnectionID]++
				}
			}
			failures := map[string]broadcast.Failure{}
			for _, f := range rep.Failures {
				if _, dup := failures[f.ConnectionID]; dup {
					t.Errorf("%s is listed twice in the failures", f.ConnectionID)
				}
				failures[f.ConnectionID] = f
				// Every failure carries its id, op, reason and exact attempts.
				if f.ConnectionID == "" || f.Op != broadcast.OpPost || f.Reason == "" || f.Error == "" || f.Err == nil || f.Attempts != posts[f.ConnectionID] {
					t.Errorf("failure %+v: want id, op, reason, error and %d attempts", f, posts[f.ConnectionID])
				}
			}
			var sent, gone, ambiguous, attempts int
			for id, f := range byID {
				attempts += posts[id]
				// Nobody is skipped: every connection was posted to.
				if posts[id] == 0 {
					t.Errorf("%s (%s) was never posted to", id, f.name)
				}
				if delivery == mgmt.AtMostOnce && delivered[id] > 1 {
					t.Errorf("%s (%s) received the payload %d times under at-most-once", id, f.name, delivered[id])
				}
				fl, failed := failures[id]
				switch {
				case f.gone:
					gone++
					if failed {
						t.Errorf("gone %s is a failure: %+v", id, fl)
					}
				case !failed:
					sent++
					// Reported sent means delivered.
					if delivered[id] == 0 {
						t.Errorf("%s (%s) is counted sent but got nothing", id, f.name)
					}
				default:
					if fl.Reason == broadcast.ReasonAmbiguous {
						ambiguous++
					}
					if fl.Reason != broadcast.ReasonAmbiguous && delivered[id] > 0 {
						t.Errorf("%s failed with %s but was delivered", id, fl.Reason)
					}
				}
				if delivery == mgmt.AtMostOnce {
					if f.sent == failed && !f.gone {
						t.Errorf("%s (%s): failed=%v, want sent=%v (%+v)", id, f.name, failed, f.sent, fl)
					}
					if failed && fl.Reason != f.reason {
						t.Errorf("%s (%s): reason %s, want %s", id, f.name, fl.Reason, f.reason)
					}
					if posts[id] != f.attempts {
						t.Errorf("%s (%s): %d posts, want %d", id, f.name, posts[id], f.attempts)
					}
				}
			}
			if rep.Sent != sent || rep.Gone != gone || rep.Deleted != gone || rep.Failed != len(failures) || rep.Ambiguous != ambiguous ||
				rep.Attempts != attempts || rep.Retries != attempts-len(byID) || rep.FailuresOmitted != 0 {
				t.Errorf("report %+v; counted sent %d gone %d failed %d ambiguous %d attempts %d", rep, sent, gone, len(failures), ambiguous, attempts)
			}
			if rep.Sent+rep.Gone+rep.Failed != len(byID) {
				t.Errorf("sent+gone+failed = %d, want every connection (%d) once", rep.Sent+rep.Gone+rep.Failed, len(byID))
			}
			// Exactly the gone connections' rows were removed.
			var wantDeleted []string
			for id, f := range byID {
				if f.gone {
					wantDeleted = append(wantDeleted, id)
				}
			}
			if got := sorted(store.deletedIDs()); !slices.Equal(got, sorted(wantDeleted)) {
				t.Errorf("deleted %d rows, want the %d gone ones", len(got), len(wantDeleted))
			}
			if delivery == mgmt.AtLeastOnce {
				// Every ambiguous post was resent until delivered or out of
				// attempts: the single-fault connections all got it.
				for _, name := range []string{"deliver-then-500", "deliver-then-503", "500", "reset-after", "reset-before"} {
					for i := range perFault {
						id := fmt.Sprintf("%s-%03d=", name, i)
						if delivered[id] == 0 {
							t.Errorf("%s got nothing under at-least-once", id)
						}
						if _, failed := failures[id]; failed {
							t.Errorf("%s failed under at-least-once: %+v", id, failures[id])
						}
					}
				}
			}
		})
	}
}

// TestDeliveryContract is issue 11's double post: a Management API that
// delivers each payload and then answers 500, or resets the connection,
// for 500 connections. Under the default each receives it exactly once,
// and the report says so exactly.
func TestDeliveryContract(t *testing.T) {
	const n = 500
	for _, tt := range []struct {
		name     string
		b        lawckettest.Behavior
		retry    mgmt.Retry
		perConn  int
		attempts int
	}{
		{"deliver then 500", lawckettest.DeliverThen(http.StatusInternalServerError), broadcast.DefaultRetry, 1, 1},
		{"reset after delivery", lawckettest.ResetAfterDelivery(), broadcast.DefaultRetry, 1, 1},
		{"at least once: deliver then 500", lawckettest.DeliverThen(http.StatusInternalServerError), mgmt.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, Delivery: mgmt.AtLeastOnce}, 2, 2},
		{"at least once: reset after delivery", lawckettest.ResetAfterDelivery(), mgmt.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, Delivery: mgmt.AtLeastOnce}, 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := lawckettest.NewServer()
			t.Cleanup(srv.Close)
			srv.SetDefault(tt.b)
			ids := make([]string, n)
			store := &memStore{}
			for i := range ids {
				ids[i] = fmt.Sprintf("c-%04d", i)
				store.rows = append(store.rows, row{target: mgmt.Target{ConnectionID: ids[i], Stage: "prod"}})
			}
			sender, err := broadcast.New(faultClient(t, srv), store, broadcast.WithRetry(tt.retry))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if got := len(srv.Delivered(id)); got != tt.perConn {
					t.Fatalf("%s received the payload %d times, want %d", id, got, tt.perConn)
				}
			}
			if got := len(srv.Posts()); got != n*tt.attempts {
				t.Errorf("server got %d posts, want %d", got, n*tt.attempts)
			}
			want := broadcast.Report{Failed: n, Ambiguous: n, Attempts: n * tt.attempts, Retries: n * (tt.attempts - 1)}
			if rep.Sent != 0 || rep.Gone != 0 || rep.Failed != want.Failed || rep.Ambiguous != want.Ambiguous ||
				rep.Attempts != want.Attempts || rep.Retries != want.Retries || len(rep.Failures) != n {
				t.Fatalf("report %+v (%d failures), want %+v", rep, len(rep.Failures), want)
			}
			for i, f := range rep.Failures {
				if f.ConnectionID != ids[i] || f.Op != broadcast.OpPost || f.Reason != broadcast.ReasonAmbiguous ||
					f.Attempts != tt.attempts || !errors.Is(f.Err, mgmt.ErrAmbiguous) {
					t.Fatalf("failure %d = %+v", i, f)
				}
			}
		})
	}
}

// TestSlowAnswerPastDeadline: an answer that comes after the context's
// deadline is ambiguous (API Gateway delivers it anyway), never resent.
func TestSlowAnswerPastDeadline(t *testing.T) {
	srv := lawckettest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetDefault(lawckettest.Answer(200).After(3 * time.Second))
	store := &memStore{rows: []row{{target: mgmt.Target{ConnectionID: "slow-1", Stage: "prod"}}, {target: mgmt.Target{ConnectionID: "slow-2", Stage: "prod"}}}}
	sender, err := broadcast.New(faultClient(t, srv), store)
	if err != nil {
		t.Fatal(err)
	}
	// Time enough to send both posts even on a loaded machine, not for the answers.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	rep, err := sender.Send(ctx, store.targets(""), []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if rep.Failed != 2 || rep.Ambiguous != 2 || rep.Attempts != 2 || rep.Retries != 0 {
		t.Errorf("report %+v", rep)
	}
	for _, f := range rep.Failures {
		if f.Reason != broadcast.ReasonAmbiguous || !errors.Is(f.Err, context.DeadlineExceeded) {
			t.Errorf("failure %+v", f)
		}
	}
	srv.Close() // waits for the delayed answers
	for _, id := range []string{"slow-1", "slow-2"} {
		if n := len(srv.Delivered(id)); n != 1 {
			t.Errorf("%s delivered %d times, want 1", id, n)
		}
	}
}
