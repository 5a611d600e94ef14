package mgmt_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/lawcket/lawcket/mgmt"
)

var target = mgmt.Target{ConnectionID: "abc=", Stage: "prod"}

func TestPost(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	res, err := c.Post(context.Background(), target, []byte(`{"hi":1}`))
	if err != nil || res.Attempts != 1 {
		t.Fatalf("Post = %+v, %v", res, err)
	}
	reqs := srv.got()
	if len(reqs) != 1 || reqs[0].method != http.MethodPost || reqs[0].path != "/prod/@connections/abc=" || reqs[0].body != `{"hi":1}` {
		t.Fatalf("server got %+v", reqs)
	}
	checkSigned(t, reqs[0])
}

func TestGetAndDelete(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	conn, err := c.Get(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	want := mgmt.Connection{
		ConnectedAt:  time.Date(2024, 11, 11, 11, 35, 24, 0, time.UTC),
		LastActiveAt: time.Date(2024, 11, 11, 11, 36, 0, 0, time.UTC),
		SourceIP:     "192.0.2.1", UserAgent: "test",
	}
	if conn != want {
		t.Errorf("Get = %+v, want %+v", conn, want)
	}
	if err := c.Delete(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	reqs := srv.got()
	if len(reqs) != 2 || reqs[0].method != http.MethodGet || reqs[1].method != http.MethodDelete || reqs[1].path != "/prod/@connections/abc=" {
		t.Fatalf("server got %+v", reqs)
	}
	srv.def = answer{status: 410, errType: "GoneException"}
	if _, err := c.Get(context.Background(), target); !errors.Is(err, mgmt.ErrGone) {
		t.Errorf("Get of a gone connection = %v", err)
	}
	if err := c.Delete(context.Background(), target); !errors.Is(err, mgmt.ErrGone) {
		t.Errorf("Delete of a gone connection = %v", err)
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		status   int
		errType  string
		sentinel error
		as       any
	}{
		{410, "GoneException", mgmt.ErrGone, new(*types.GoneException)},
		{403, "ForbiddenException", mgmt.ErrForbidden, new(*types.ForbiddenException)},
		{413, "PayloadTooLargeException", mgmt.ErrPayloadTooLarge, new(*types.PayloadTooLargeException)},
		{429, "LimitExceededException", mgmt.ErrLimitExceeded, new(*types.LimitExceededException)},
		{410, "", mgmt.ErrGone, nil}, // status alone, as some emulators answer
		{404, "NotFoundException", nil, nil},
		{400, "BadRequestException", nil, nil},
		{500, "InternalServerError", mgmt.ErrAmbiguous, nil},
	}
	sentinels := []error{mgmt.ErrGone, mgmt.ErrForbidden, mgmt.ErrPayloadTooLarge, mgmt.ErrLimitExceeded, mgmt.ErrAmbiguous}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.errType), func(t *testing.T) {
			srv := newServer(t)
			srv.def = answer{status: tt.status, errType: tt.errType}
			c := newClient(t, srv)
			res, err := c.Post(context.Background(), target, []byte("x"), mgmt.Retry{MaxAttempts: 1})
			if err == nil {
				t.Fatal("Post succeeded")
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tt.sentinel) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, !(s == tt.sentinel))
				}
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Errorf("the SDK's error is not kept: %v", err)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("errors.As(%T) failed: %v", tt.as, err)
			}
			var e *mgmt.Error
			if !errors.As(err, &e) || e.Op != mgmt.OpPost || e.ConnectionID != "abc=" || e.Attempts != 1 || res.Attempts != 1 {
				t.Errorf("error %#v, result %+v: want op post, id abc=, 1 attempt", e, res)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestPostDelivery: under the default (at most once) a post is resent only
// when it was certainly not carried out; AtLeastOnce also resends ambiguous
// failures. Attempts counts every HTTP attempt.
func TestPostDelivery(t *testing.T) {
	tests := []struct {
		name      string
		first     answer // the first request's answer; later ones get 200
		delivery  mgmt.Delivery
		wantReqs  int
		wantErr   error
		ambiguous bool
	}{
		{"429 is retried", answer{status: 429, errType: "LimitExceededException"}, mgmt.AtMostOnce, 2, nil, false},
		{"500 is not resent", answer{status: 500, errType: "InternalServerError"}, mgmt.AtMostOnce, 1, mgmt.ErrAmbiguous, true},
		{"503 is not resent", answer{status: 503}, mgmt.AtMostOnce, 1, mgmt.ErrAmbiguous, true},
		{"a drop after the request is not resent", answer{drop: true}, mgmt.AtMostOnce, 1, mgmt.ErrAmbiguous, true},
		{"410 is final", answer{status: 410, errType: "GoneException"}, mgmt.AtMostOnce, 1, mgmt.ErrGone, false},
		{"at least once: 500 is resent", answer{status: 500, errType: "InternalServerError"}, mgmt.AtLeastOnce, 2, nil, false},
		{"at least once: a drop is resent", answer{drop: true}, mgmt.AtLeastOnce, 2, nil, false},
		{"at least once: 410 is final", answer{status: 410, errType: "GoneException"}, mgmt.AtLeastOnce, 1, mgmt.ErrGone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.script = func(n int, _ request) answer {
				if n == 0 {
					return tt.first
				}
				return answer{status: 200}
			}
			c := newClient(t, srv)
			r := fast
			r.Delivery = tt.delivery
			res, err := c.Post(context.Background(), target, []byte("x"), r)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := len(srv.got()); got != tt.wantReqs || res.Attempts != tt.wantReqs {
				t.Errorf("server got %d requests, Result.Attempts %d; want %d", got, res.Attempts, tt.wantReqs)
			}
			if errors.Is(err, mgmt.ErrAmbiguous) != tt.ambiguous {
				t.Errorf("ambiguous = %v, want %v (%v)", !tt.ambiguous, tt.ambiguous, err)
			}
		})
	}
}

// TestGetDeleteRetryAmbiguous: Get and Delete are idempotent, so a 500 is
// retried whatever the Delivery.
func TestGetDeleteRetryAmbiguous(t *testing.T) {
	srv := newServer(t)
	srv.script = func(n int, _ request) answer {
		if n%2 == 0 {
			return answer{status: 500}
		}
		return answer{status: 200}
	}
	c := newClient(t, srv)
	if _, err := c.Get(context.Background(), target); err != nil {
		t.Errorf("Get: %v", err)
	}
	if err := c.Delete(context.Background(), target); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if n := len(srv.got()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestThrottleAttempts(t *testing.T) {
	srv := newServer(t)
	srv.def = answer{status: 429, errType: "LimitExceededException"}
	c := newClient(t, srv)
	for _, tt := range []struct {
		opts []mgmt.CallOption
		want int
	}{{nil, mgmt.DefaultMaxAttempts}, {[]mgmt.CallOption{mgmt.Retry{MaxAttempts: 1}}, 1}, {[]mgmt.CallOption{mgmt.Retry{MaxAttempts: 5, BaseDelay: time.Microsecond}}, 5}} {
		before := len(srv.got())
		res, err := c.Post(context.Background(), target, []byte("x"), tt.opts...)
		if !errors.Is(err, mgmt.ErrLimitExceeded) {
			t.Errorf("err = %v, want ErrLimitExceeded", err)
		}
		if n := len(srv.got()) - before; n != tt.want || res.Attempts != tt.want {
			t.Errorf("%v: %d requests, Attempts %d; want %d", tt.opts, n, res.Attempts, tt.want)
		}
	}
}

// TestConnectionRefusedIsRetried: a connection that cannot be opened wrote
// nothing, so even a post is retried.
func TestConnectionRefusedIsRetried(t *testing.T) {
	srv := newServer(t)
	srv.Close() // nothing listens on its port any more
	c := newClient(t, srv)
	res, err := c.Post(context.Background(), target, []byte("x"), mgmt.Retry{MaxAttempts: 4, BaseDelay: time.Microsecond})
	if err == nil || errors.Is(err, mgmt.ErrAmbiguous) {
		t.Fatalf("err = %v, want a failure that is not ambiguous", err)
	}
	if res.Attempts != 4 {
		t.Errorf("Attempts = %d, want 4 (refused connections are retried)", res.Attempts)
	}
}

// TestRetryBudgetAndDeadline: no retry whose backoff would end past the
// budget or the context's deadline.
func TestRetryBudgetAndDeadline(t *testing.T) {
	srv := newServer(t)
	srv.def = answer{status: 429, errType: "LimitExceededException"}
	c := newClient(t, srv)
	slow := mgmt.Retry{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour, Budget: time.Second}
	start := time.Now()
	res, err := c.Post(context.Background(), target, nil, slow)
	if !errors.Is(err, mgmt.ErrLimitExceeded) || !strings.Contains(err.Error(), "retry budget") || time.Since(start) > 30*time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
	_ = res
	slow.Budget = 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Post(ctx, target, nil, slow); !errors.Is(err, mgmt.ErrLimitExceeded) || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("err = %v", err)
	}
}

// TestRetryQuotaNotShared: the SDK's standard retryer shares a token bucket
// (500 tokens, 5 per throttled retry) across every call of a client, so
// after about a hundred throttled retries a later call would fail after one
// attempt ("retry quota exceeded"). Each call has its own retries here.
func TestRetryQuotaNotShared(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	storm := true
	srv.script = func(n int, r request) answer {
		mu.Lock()
		defer mu.Unlock()
		if storm {
			return answer{status: 429, errType: "LimitExceededException"}
		}
		if strings.HasSuffix(r.path, "/once") {
			storm = true // throttle the second call exactly once
			return answer{status: 200}
		}
		return answer{status: 200}
	}
	c := newClient(t, srv)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			_, err := c.Post(context.Background(), mgmt.Target{ConnectionID: fmt.Sprint("c", i), Stage: "prod"}, nil)
			if !errors.Is(err, mgmt.ErrLimitExceeded) {
				t.Errorf("storm post: %v", err)
			}
		})
	}
	wg.Wait()
	// 60 calls × 2 throttled retries = 120 retries: past the SDK's bucket.
	// Now a call throttled once must still get its retry.
	srv.script = func(n int, r request) answer {
		mu.Lock()
		defer mu.Unlock()
		if storm {
			storm = false
			return answer{status: 429, errType: "LimitExceededException"}
		}
		return answer{status: 200}
	}
	for _, op := range []string{"post", "delete"} {
		mu.Lock()
		storm = true
		mu.Unlock()
		var err error
		attempts := 0
		switch op {
		case "post":
			var res mgmt.Result
			res, err = c.Post(context.Background(), target, nil)
			attempts = res.Attempts
		case "delete":
			err = c.Delete(context.Background(), target)
			attempts = 2
		}
		if err != nil || attempts != 2 {
			t.Errorf("%s after the storm: %v (%d attempts), want success on the second attempt", op, err, attempts)
		}
	}
}

func TestEndpoints(t *testing.T) {
	a, b := newServer(t), newServer(t)
	t.Setenv(mgmt.EnvEndpoint, "")
	c, err := mgmt.New(mgmt.WithAWSConfig(staticConfig()), mgmt.WithEndpoint("http://{domainName}/{apiId}/{stage}"))
	if err != nil {
		t.Fatal(err)
	}
	hostA, hostB := strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			host := hostA
			if i%2 == 1 {
				host = hostB
			}
			if _, err := c.Post(context.Background(), mgmt.Target{ConnectionID: fmt.Sprint("c", i), DomainName: host, Stage: "dev", APIID: "api1"}, []byte("hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, s := range []*server{a, b} {
		reqs := s.got()
		if len(reqs) != 10 {
			t.Errorf("%s got %d posts, want 10", s.URL, len(reqs))
		}
		for _, r := range reqs {
			if !strings.HasPrefix(r.path, "/api1/dev/@connections/c") {
				t.Errorf("path %q", r.path)
			}
			checkSigned(t, r)
		}
	}
	_, err = c.Post(context.Background(), mgmt.Target{ConnectionID: "c", DomainName: hostA, Stage: "dev"}, nil)
	if err == nil || !strings.Contains(err.Error(), "{apiId}") {
		t.Errorf("missing apiId: err = %v", err)
	}
	if _, err := c.Post(context.Background(), mgmt.Target{DomainName: hostA, Stage: "dev", APIID: "x"}, nil); err == nil {
		t.Error("Post without a connection id succeeded")
	}
}

// TestFollowsEnvEndpoint: resolved endpoints are cached per target, but a
// changed LAWCKET_MANAGEMENT_ENDPOINT still takes effect.
func TestFollowsEnvEndpoint(t *testing.T) {
	a, b := newServer(t), newServer(t)
	c, err := mgmt.New(mgmt.WithAWSConfig(staticConfig()))
	if err != nil {
		t.Fatal(err)
	}
	tg := mgmt.Target{ConnectionID: "c1", DomainName: "example.com", Stage: "dev"}
	for _, srv := range []*server{a, b, a} {
		t.Setenv(mgmt.EnvEndpoint, srv.URL+"/{stage}")
		if _, err := c.Post(context.Background(), tg, []byte("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := len(a.got()), len(b.got()); na != 2 || nb != 1 {
		t.Errorf("posts: a %d, b %d; want 2 and 1", na, nb)
	}
}

func TestOptionErrors(t *testing.T) {
	for name, opt := range map[string]mgmt.Option{
		"nil option":    nil,
		"nil API":       mgmt.WithAPI(nil),
		"bad scheme":    mgmt.WithEndpoint("ws://host/{stage}"),
		"no host":       mgmt.WithEndpoint("https:///prod"),
		"query":         mgmt.WithEndpoint("https://host/prod?x=1"),
		"unparseable":   mgmt.WithEndpoint("https://host/%zz"),
		"bad retry":     mgmt.WithRetry(mgmt.Retry{MaxAttempts: -1}),
		"bad delays":    mgmt.WithRetry(mgmt.Retry{BaseDelay: time.Second, MaxDelay: time.Millisecond}),
		"bad delivery":  mgmt.WithRetry(mgmt.Retry{Delivery: 7}),
		"negative time": mgmt.WithRetry(mgmt.Retry{Budget: -time.Second}),
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := mgmt.New(opt); err == nil || c != nil {
				t.Errorf("New = %v, %v; want an error", c, err)
			}
		})
	}
	srv := newServer(t)
	c := newClient(t, srv)
	if _, err := c.Post(context.Background(), target, nil, mgmt.Retry{MaxAttempts: -2}); err == nil {
		t.Error("a bad per-call Retry was accepted")
	}
	if _, err := c.Post(context.Background(), target, nil, nil); err == nil {
		t.Error("a nil CallOption was accepted")
	}
	if n := len(srv.got()); n != 0 {
		t.Errorf("%d requests for refused calls", n)
	}
}

func TestBadEnvEndpoint(t *testing.T) {
	t.Setenv(mgmt.EnvEndpoint, "not a url")
	c, err := mgmt.New(mgmt.WithAWSConfig(staticConfig()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Post(context.Background(), mgmt.Target{ConnectionID: "c", DomainName: "d", Stage: "s"}, nil)
	if err == nil || !strings.Contains(err.Error(), mgmt.EnvEndpoint) {
		t.Errorf("err = %v, want it to name %s", err, mgmt.EnvEndpoint)
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name, template, env, want string
	}{
		{"default", "", "", "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"},
		{"custom domain via apiId", "https://{apiId}.execute-api.eu-west-1.amazonaws.com/{stage}", "", "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"},
		{"env", "", "http://127.0.0.1:8080/{stage}", "http://127.0.0.1:8080/prod"},
		{"option beats env", "http://localhost:9000/local/", "http://127.0.0.1:8080/{stage}", "http://localhost:9000/local"},
		{"no placeholders", "https://ws.example.com/prod", "", "https://ws.example.com/prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(mgmt.EnvEndpoint, tt.env)
			tg := mgmt.Target{DomainName: "abc123def4.execute-api.eu-west-1.amazonaws.com", Stage: "prod", APIID: "abc123def4"}
			if got := mgmt.Endpoint(tt.template, tg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// countingLimiter counts its waits; it refuses once refuse waits are made.
type countingLimiter struct {
	mu     sync.Mutex
	waits  int
	refuse int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refuse > 0 && l.waits >= l.refuse {
		return errors.New("rate: would exceed the deadline")
	}
	l.waits++
	return nil
}

// TestLimit: the limiter is consulted before every HTTP attempt, resends
// included, and a wait that fails stops the call before sending.
func TestLimit(t *testing.T) {
	srv := newServer(t)
	srv.script = func(n int, _ request) answer {
		if n < 2 {
			return answer{status: 429, errType: "LimitExceededException"}
		}
		return answer{status: 200}
	}
	c := newClient(t, srv)
	lim := &countingLimiter{}
	res, err := c.Post(context.Background(), target, nil, mgmt.Limit(lim), fast)
	if err != nil || res.Attempts != 3 || res.Throttled != 2 || lim.waits != 3 {
		t.Errorf("Post = %+v, %v after %d waits; want 3 attempts, 2 throttled, 3 waits", res, err, lim.waits)
	}

	srv.script = nil
	srv.def = answer{status: 429, errType: "LimitExceededException"}
	lim = &countingLimiter{refuse: 1}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := len(srv.got())
	res, err = c.Post(ctx, target, nil, mgmt.Limit(lim), fast)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, mgmt.ErrLimitExceeded) || res.Attempts != 1 || len(srv.got())-before != 1 {
		t.Errorf("Post = %+v, %v; want 1 attempt, then no time for the next", res, err)
	}
}
