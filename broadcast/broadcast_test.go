package broadcast_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/mgmt"
)

// fastRetry keeps the tests quick: 3 attempts, millisecond backoff.
var fastRetry = broadcast.WithRetry(mgmt.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, Budget: 10 * time.Second})

func TestSendOutcomes(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	ids := []string{
		"live-1", "live-2", "live-3", "sender",
		"gone-1", "gone-2", "gone-baddel-1",
		"thr2-1", "thr-1", "big-1", "err-1",
		"needs/escaping=+", // ids are base64-like; the path must be escaped
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", ids...)}
	var logs bytes.Buffer
	sender, err := broadcast.New(client, store, fastRetry, broadcast.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"msg":"hello"}`)
	rep, err := sender.Send(context.Background(), store.targets("r1"), payload, broadcast.Exclude("sender"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	// Exactly what the Management API saw: one post per live connection,
	// three for each throttled one (the policy's 3 attempts, made by the
	// SDK's retryer), one for every other, none for the sender. A 500 may
	// have been delivered: it is not resent.
	wantPosts := map[string]int{
		"live-1": 1, "live-2": 1, "live-3": 1, "needs/escaping=+": 1, "sender": 0,
		"gone-1": 1, "gone-2": 1, "gone-baddel-1": 1,
		"thr2-1": 3, "thr-1": 3, "big-1": 1, "err-1": 1,
	}
	for id, want := range wantPosts {
		if got := api.postsTo(id); got != want {
			t.Errorf("posts to %s = %d, want %d", id, got, want)
		}
	}
	for _, p := range api.all() {
		if p.Body != string(payload) || p.Stage != "prod" {
			t.Errorf("post to %s: stage %q body %q, want prod %s", p.ID, p.Stage, p.Body, payload)
		}
	}
	// Exactly the gone rows are deleted (gone-baddel-1's delete failed).
	if got, want := sorted(store.deletedIDs()), []string{"gone-1", "gone-2"}; !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}

	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "connectionId=gone-baddel-1") {
		t.Errorf("the failed delete is not logged: %s", logs.String())
	}

	want := broadcast.Report{Sent: 5, Gone: 3, Deleted: 2, Failed: 4, Ambiguous: 1, Attempts: 15, Retries: 4}
	if rep.Sent != want.Sent || rep.Gone != want.Gone || rep.Deleted != want.Deleted || rep.Failed != want.Failed ||
		rep.Ambiguous != want.Ambiguous || rep.Attempts != want.Attempts || rep.Retries != want.Retries {
		t.Errorf("report counts = %+v, want %+v", rep, want)
	}
	wantFailures := []struct {
		id       string
		op       broadcast.Op
		reason   broadcast.Reason
		attempts int
		is       error
	}{
		{"big-1", broadcast.OpPost, broadcast.ReasonTooLarge, 1, mgmt.ErrPayloadTooLarge},
		{"err-1", broadcast.OpPost, broadcast.ReasonAmbiguous, 1, mgmt.ErrAmbiguous},
		{"gone-baddel-1", broadcast.OpDelete, broadcast.ReasonError, 1, nil},
		{"thr-1", broadcast.OpPost, broadcast.ReasonThrottled, 3, mgmt.ErrLimitExceeded},
	}
	if len(rep.Failures) != len(wantFailures) {
		t.Fatalf("failures = %+v, want %d", rep.Failures, len(wantFailures))
	}
	for i, w := range wantFailures {
		f := rep.Failures[i]
		if f.ConnectionID != w.id || f.Op != w.op || f.Reason != w.reason || f.Attempts != w.attempts || f.Error == "" || f.Err == nil {
			t.Errorf("failure %d = %+v, want %s %s after %d attempts", i, f, w.id, w.op, w.attempts)
		}
		if w.is != nil && !errors.Is(f.Err, w.is) {
			t.Errorf("failure %s: %v is not %v", f.ConnectionID, f.Err, w.is)
		}
	}
	for _, f := range rep.Failures {
		for _, sentinel := range []error{mgmt.ErrGone, mgmt.ErrLimitExceeded} {
			if f.ConnectionID == "err-1" && errors.Is(f.Err, sentinel) {
				t.Errorf("500 classified as %v", sentinel)
			}
		}
	}

	// The report is JSON-friendly.
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{"sent": 5, "gone": 3, "deleted": 2, "failed": 4, "ambiguous": 1, "attempts": 15, "retries": 4} {
		if back[key] != want {
			t.Errorf("JSON %s = %v, want %v (%s)", key, back[key], want, raw)
		}
	}
	if fs, _ := back["failures"].([]any); len(fs) != 4 {
		t.Errorf("JSON failures = %v", back["failures"])
	} else if f0 := fs[0].(map[string]any); f0["connectionId"] != "big-1" || f0["op"] != "post" || f0["reason"] != "payload-too-large" || f0["attempts"] != 1.0 || f0["error"] == "" {
		t.Errorf("JSON failure 0 = %v", f0)
	}
}

func TestSendSelectsAndExcludes(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	rows := append(rowsOf(api.host(), "r1", "a-1", "a-2", "gone-a"), rowsOf(api.host(), "r2", "b-1", "gone-b")...)
	store := &memStore{rows: rows}
	sender, err := broadcast.New(client, store)
	if err != nil {
		t.Fatal(err)
	}

	rep, err := sender.Send(context.Background(), store.targets("r2"), []byte("x"), broadcast.Exclude("a-1"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 || rep.Gone != 1 || rep.Deleted != 1 || rep.Failed != 0 || len(rep.Failures) != 0 {
		t.Errorf("room r2: %+v", rep)
	}
	if got := store.deletedIDs(); !slices.Equal(got, []string{"gone-b"}) {
		t.Errorf("deleted %v, want [gone-b]", got)
	}
	// Exclude is per call: the next Send excludes nothing.
	if rep, err = sender.Send(context.Background(), store.targets(""), []byte("y"), broadcast.Exclude("a-2")); err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 2 || rep.Gone != 2 { // a-1, b-1 sent; gone-a, gone-b (again) gone
		t.Errorf("all but a-2: %+v", rep)
	}
	if rep, err = sender.Send(context.Background(), store.targets(""), []byte("z")); err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 3 {
		t.Errorf("all: %+v", rep)
	}
	want := map[string]int{"a-1": 2, "a-2": 1, "b-1": 3, "gone-a": 2, "gone-b": 3}
	for id, n := range want {
		if got := api.postsTo(id); got != n {
			t.Errorf("posts to %s = %d, want %d", id, got, n)
		}
	}
}

func TestSendCancel(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	const workers = 4
	var ids []string
	for i := range workers {
		ids = append(ids, fmt.Sprintf("hang-%d", i))
	}
	for i := range 100 {
		ids = append(ids, fmt.Sprintf("never-%d", i))
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", ids...)}
	sender, err := broadcast.New(client, store, broadcast.WithConcurrency(workers))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once every worker is stuck in a post.
		for range workers {
			<-api.started
		}
		cancel()
	}()
	rep, err := sender.Send(ctx, store.targets(""), []byte("x"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want context.Canceled", err)
	}
	// The report is exact: the 4 posts in flight failed with the context's
	// error, and may have been delivered (the server had them); nothing else
	// was reached.
	if rep.Sent != 0 || rep.Gone != 0 || rep.Failed != workers || len(rep.Failures) != workers {
		t.Fatalf("partial report = %+v", rep)
	}
	for _, f := range rep.Failures {
		if !errors.Is(f.Err, context.Canceled) || f.Op != broadcast.OpPost || f.Reason != broadcast.ReasonAmbiguous || f.Attempts != 1 {
			t.Errorf("failure %+v: want a canceled post", f)
		}
	}
	if !store.stopped {
		t.Error("Send did not stop reading rows")
	}
	// Every worker has returned: nothing is posted after Send returns.
	before := len(api.all())
	time.Sleep(50 * time.Millisecond)
	if after := len(api.all()); after != before || before != workers {
		t.Errorf("posts: %d at return, %d later, want %d", before, after, workers)
	}
}

func TestSendCancelDuringBackoff(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	store := &memStore{rows: rowsOf(api.host(), "r1", "thr-1")}
	sender, err := broadcast.New(client, store, broadcast.WithRetry(mgmt.Retry{MaxAttempts: 100, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}

	// Cancelled while waiting to retry: Send returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for api.postsTo("thr-1") == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // well into the 1h wait
		cancel()
	}()
	rep, err := sender.Send(ctx, store.targets(""), []byte("x"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send error = %v, want Canceled", err)
	}
	if rep.Failed != 1 || !errors.Is(rep.Failures[0].Err, mgmt.ErrLimitExceeded) || !errors.Is(rep.Failures[0].Err, context.Canceled) || rep.Failures[0].Reason != broadcast.ReasonThrottled {
		t.Errorf("report = %+v", rep)
	}

	// A deadline before the backoff ends: no retry is started, and Send
	// returns well before the deadline.
	// (The wait is uniform in [0, 1h): below 2s once in 1,800 runs.)
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	rep, err = sender.Send(ctx, store.targets(""), []byte("x"))
	if err != nil {
		t.Fatalf("Send error = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %v: it waited for a retry past the deadline", d)
	}
	if rep.Failed != 1 || rep.Retries != 0 || rep.Attempts != 1 || !errors.Is(rep.Failures[0].Err, mgmt.ErrLimitExceeded) {
		t.Errorf("report = %+v", rep)
	}
}

func TestSendRetryBudget(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	store := &memStore{rows: rowsOf(api.host(), "r1", "thr-1", "thr2-1", "live-1")}
	// No backoff fits a 1ns budget once a post has taken its round trip:
	// every throttled connection fails after its first post, saying why.
	sender, err := broadcast.New(client, store, broadcast.WithRetry(mgmt.Retry{MaxAttempts: 10, Budget: time.Nanosecond, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 || rep.Failed != 2 || rep.Retries != 0 || len(rep.Failures) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	for i, id := range []string{"thr-1", "thr2-1"} {
		f := rep.Failures[i]
		if f.ConnectionID != id || f.Attempts != 1 || !errors.Is(f.Err, mgmt.ErrLimitExceeded) || !strings.Contains(f.Error, "retry budget 1ns spent") {
			t.Errorf("failure %+v: want %s, 1 attempt, LimitExceeded, retry budget spent", f, id)
		}
	}
	for _, id := range []string{"thr-1", "thr2-1", "live-1"} {
		if n := api.postsTo(id); n != 1 {
			t.Errorf("posts to %s = %d, want 1", id, n)
		}
	}
}

func TestSendStoreError(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	store := &memStore{rows: rowsOf(api.host(), "r1", "a", "b", "c", "d"), failAfter: 2}
	sender, err := broadcast.New(client, store)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if !errors.Is(err, errStore) {
		t.Fatalf("Send error = %v, want the store's", err)
	}
	if rep.Sent != 2 || api.postsTo("c") != 0 {
		t.Errorf("report %+v; posts to c: %d", rep, api.postsTo("c"))
	}
}

func TestMaxFailures(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	store := &memStore{rows: rowsOf(api.host(), "r1", "big-1", "big-2", "big-3", "big-4", "big-5", "live")}
	sender, err := broadcast.New(client, store, broadcast.WithMaxFailures(2), broadcast.WithConcurrency(3))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 1 || rep.Failed != 5 || len(rep.Failures) != 2 || rep.FailuresOmitted != 3 {
		t.Errorf("report = %+v", rep)
	}
}

func TestInvalidOptions(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	store := &memStore{rows: rowsOf(api.host(), "r1", "a")}
	bad := map[string]broadcast.Option{
		"concurrency 0":     broadcast.WithConcurrency(0),
		"negative attempts": broadcast.WithRetry(mgmt.Retry{MaxAttempts: -1}),
		"negative budget":   broadcast.WithRetry(mgmt.Retry{Budget: -time.Second}),
		"max below base":    broadcast.WithRetry(mgmt.Retry{BaseDelay: time.Second, MaxDelay: time.Millisecond}),
		"negative failures": broadcast.WithMaxFailures(-1),
		"nil logger":        broadcast.WithLogger(nil),
		"nil option":        nil,
	}
	for name, opt := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := broadcast.New(client, store, opt); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	sender, err := broadcast.New(client, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(context.Background(), store.targets(""), []byte("x"), nil); err == nil {
		t.Error("Send accepted a nil SendOption")
	}
	if _, err := sender.Send(context.Background(), nil, []byte("x")); err == nil {
		t.Error("Send accepted nil targets")
	}
	if n := len(api.all()); n != 0 {
		t.Errorf("%d posts with invalid options", n)
	}
	if _, err := broadcast.New(client, nil); err == nil {
		t.Error("New accepted a nil remover")
	}
	if _, err := broadcast.New(nil, store); err == nil {
		t.Error("New accepted a nil poster")
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func TestSendAPIID(t *testing.T) {
	api := newMgmtAPI(t, 0)
	awsEnv(t)
	// An endpoint with {apiId}, as behind a custom domain.
	client, err := mgmt.New(mgmt.WithEndpoint("http://{domainName}/{apiId}/{stage}"))
	if err != nil {
		t.Fatal(err)
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", "a")}
	sender, err := broadcast.New(client, store)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"), broadcast.WithAPIID("abc123"))
	if err != nil || rep.Sent != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if posts := api.all(); len(posts) != 1 || posts[0].Stage != "abc123/prod" {
		t.Errorf("posts = %+v, want one to /abc123/prod", posts)
	}
	// Without it, every post fails, saying why, after no attempt.
	rep, err = sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil || rep.Failed != 1 || rep.Attempts != 0 || !strings.Contains(rep.Failures[0].Error, "{apiId}") {
		t.Errorf("report %+v, err %v", rep, err)
	}
}

// TestSendRetryAttempts: the policy's MaxAttempts bounds the posts to a
// throttled connection, and the report counts every one.
func TestSendRetryAttempts(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	var ids []string
	for i := range 10 {
		ids = append(ids, fmt.Sprintf("thr-%d", i), fmt.Sprintf("ok-%d", i))
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", ids...)}
	sender, err := broadcast.New(client, store, broadcast.WithRetry(mgmt.Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 10 || rep.Failed != 10 || rep.Attempts != 50 || rep.Retries != 30 || len(api.all()) != 50 {
		t.Errorf("%d posts, report %+v", len(api.all()), rep)
	}
	for _, f := range rep.Failures {
		if f.Attempts != 4 || f.Reason != broadcast.ReasonThrottled {
			t.Errorf("failure %+v", f)
		}
	}
}

// TestNoSpecEngine: broadcast depends on the Management API client, not on
// the spec engine or the table.
func TestNoSpecEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/expr-lang/expr", "github.com/knadh/koanf", "gopkg.in/yaml", "go.yaml.in/yaml", "github.com/goccy/go-yaml", "github.com/lawcket/lawcket/dynamo", "github.com/lawcket/lawcket/syncspec", "github.com/lawcket/lawcket/eval"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("broadcast depends on %s", dep)
			}
		}
	}
	if !slices.Contains(strings.Fields(string(out)), "github.com/lawcket/lawcket/mgmt") {
		t.Errorf("go list -deps does not list mgmt: %s", out)
	}
}

// TestSendRate: the workers share the rate's token bucket, so a Send can
// never be faster than the rate allows (burst = the concurrency); the
// report gives the target and the achieved rate.
func TestSendRate(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	var ids []string
	for i := range 64 {
		ids = append(ids, fmt.Sprintf("c-%02d", i))
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", ids...)}
	sender, err := broadcast.New(client, store, broadcast.WithRate(100), broadcast.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil || rep.Sent != 64 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	// 4 posts in the burst, 60 more at 100/s: at least 0.6 s.
	if d := time.Since(start); d < 590*time.Millisecond {
		t.Errorf("64 posts at 100/s took %v", d)
	}
	if rep.Rate != 100 || rep.MinRate != 100 || rep.AchievedRate > 110 || rep.AchievedRate <= 0 || rep.Seconds < 0.59 {
		t.Errorf("rates in report %+v", rep)
	}
	if _, err := broadcast.New(client, store, broadcast.WithRate(-1)); err == nil {
		t.Error("a negative rate was accepted")
	}
}

// TestSendRateBacksOff: 429s lower the rate, and are counted.
func TestSendRateBacksOff(t *testing.T) {
	api := newMgmtAPI(t, 0)
	client := newClient(t)
	var ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("thr2-%02d", i))
	}
	store := &memStore{rows: rowsOf(api.host(), "r1", ids...)}
	sender, err := broadcast.New(client, store, broadcast.WithRate(1000), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sender.Send(context.Background(), store.targets(""), []byte("x"))
	if err != nil || rep.Sent != 20 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	if rep.Throttled != 40 || rep.Attempts != 60 || rep.MinRate >= 1000 || rep.MinRate < 50 {
		t.Errorf("report %+v: want 40 throttled attempts and a lowered rate", rep)
	}
}

func TestReportAdd(t *testing.T) {
	a := broadcast.Report{Sent: 2, Failed: 1, Attempts: 4, Retries: 1, Throttled: 1, Rate: 100, MinRate: 70, Seconds: 2,
		Failures: []broadcast.Failure{{ConnectionID: "b"}}}
	b := broadcast.Report{Sent: 1, Gone: 1, Deleted: 1, Failed: 1, Ambiguous: 1, Attempts: 4, Rate: 100, MinRate: 100, Seconds: 4,
		Failures: []broadcast.Failure{{ConnectionID: "a"}}, FailuresOmitted: 2}
	a.Add(b)
	want := broadcast.Report{Sent: 3, Gone: 1, Deleted: 1, Failed: 2, Ambiguous: 1, Attempts: 8, Retries: 1, Throttled: 1,
		Rate: 200, MinRate: 170, Seconds: 4, AchievedRate: 2, FailuresOmitted: 2}
	failures := a.Failures
	a.Failures = nil
	if a.Sent != want.Sent || a.Gone != want.Gone || a.Deleted != want.Deleted || a.Failed != want.Failed || a.Ambiguous != want.Ambiguous ||
		a.Attempts != want.Attempts || a.Retries != want.Retries || a.Throttled != want.Throttled || a.Rate != want.Rate ||
		a.MinRate != want.MinRate || a.Seconds != want.Seconds || a.AchievedRate != want.AchievedRate || a.FailuresOmitted != want.FailuresOmitted {
		t.Errorf("Add = %+v, want %+v", a, want)
	}
	if len(failures) != 2 || failures[0].ConnectionID != "a" || failures[1].ConnectionID != "b" {
		t.Errorf("failures %+v", failures)
	}
}
