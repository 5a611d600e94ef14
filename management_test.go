package lawcket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/lawcket/lawcket"
)

// staticConfig is an AWS config with fixed credentials, so that the
// signature the SDK computes is checkable.
func staticConfig() aws.Config {
	return aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLAWCKETTEST", "secret", ""),
	}
}

// posted is one request the fake Management API received.
type posted struct {
	method, path, auth, body string
}

// managementServer is a real HTTP server answering like the API Gateway
// Management API: 200 by default, or status with x-amzn-ErrorType and a JSON
// message.
type managementServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []posted
	status   int
	errType  string
}

func newManagementServer(t *testing.T) *managementServer {
	m := &managementServer{status: http.StatusOK}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.requests = append(m.requests, posted{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body)})
		status, errType := m.status, m.errType
		m.mu.Unlock()
		if status == http.StatusOK {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", errType)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":%q}`, errType+" from the test server")
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *managementServer) got() []posted {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]posted(nil), m.requests...)
}

func checkSigned(t *testing.T, p posted) {
	t.Helper()
	// AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/execute-api/aws4_request, SignedHeaders=..., Signature=...
	if !strings.HasPrefix(p.auth, "AWS4-HMAC-SHA256 Credential=AKIDLAWCKETTEST/") ||
		!strings.Contains(p.auth, "/eu-west-1/execute-api/aws4_request") ||
		!strings.Contains(p.auth, "Signature=") {
		t.Errorf("Authorization = %q, want a SigV4 signature for execute-api in eu-west-1", p.auth)
	}
}

func TestReply(t *testing.T) {
	srv := newManagementServer(t)
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithAWSConfig(staticConfig()),
		lawcket.WithManagementEndpoint(srv.URL+"/{stage}"))
	a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, map[string]string{"echo": string(ev.Body)})
	})
	resp, err := invoke(t, a, fixture(t, "message-default.json"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	reqs := srv.got()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	p := reqs[0]
	if p.method != http.MethodPost || p.path != "/prod/@connections/BQ1a2ecXDoECJQg=" {
		t.Errorf("got %s %s, want POST /prod/@connections/BQ1a2ecXDoECJQg=", p.method, p.path)
	}
	if p.body != `{"echo":"hello"}` {
		t.Errorf("body = %q", p.body)
	}
	checkSigned(t, p)
}

func TestReplyPayloads(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"plain text", "plain text"},
		{[]byte{0xff, 0x00}, "\xff\x00"},
		{struct {
			N int    `json:"n"`
			S string `json:"s"`
		}{7, "<b>&"}, `{"n":7,"s":"<b>&"}`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.v), func(t *testing.T) {
			srv := newManagementServer(t)
			t.Setenv(lawcket.EnvManagementEndpoint, srv.URL+"/{stage}")
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithAWSConfig(staticConfig()))
			a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error { return ev.Reply(ctx, tt.v) })
			if _, err := invoke(t, a, fixture(t, "message-default.json")); err != nil {
				t.Fatal(err)
			}
			if reqs := srv.got(); len(reqs) != 1 || reqs[0].body != tt.want || reqs[0].path != "/prod/@connections/BQ1a2ecXDoECJQg=" {
				t.Errorf("server got %+v, want body %q", reqs, tt.want)
			}
		})
	}
	t.Run("unencodable", func(t *testing.T) {
		log, _ := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagementClient(failClient{}))
		a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error { return ev.Reply(ctx, make(chan int)) })
		if _, err := invoke(t, a, fixture(t, "message-default.json")); err == nil || !strings.Contains(err.Error(), "encode reply") {
			t.Errorf("err = %v", err)
		}
	})
}

type failClient struct{}

func (failClient) PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	return nil, errors.New("failClient must not be called")
}

func TestReplyOnConnect(t *testing.T) {
	srv := newManagementServer(t)
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithAWSConfig(staticConfig()),
		lawcket.WithManagementEndpoint(srv.URL+"/{stage}"))
	var replyErr error
	a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		replyErr = ev.Reply(ctx, "welcome")
		return nil
	})
	if _, err := invoke(t, a, fixture(t, "connect.json")); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(replyErr, lawcket.ErrNotEstablished) {
		t.Errorf("Reply on $connect = %v, want ErrNotEstablished", replyErr)
	}
	if n := len(srv.got()); n != 0 {
		t.Errorf("server got %d requests, want none", n)
	}
}

func TestPostClassification(t *testing.T) {
	tests := []struct {
		status   int
		errType  string
		sentinel error
		as       any
	}{
		{410, "GoneException", lawcket.ErrGone, new(*types.GoneException)},
		{403, "ForbiddenException", lawcket.ErrForbidden, new(*types.ForbiddenException)},
		{413, "PayloadTooLargeException", lawcket.ErrPayloadTooLarge, new(*types.PayloadTooLargeException)},
		{429, "LimitExceededException", lawcket.ErrLimitExceeded, new(*types.LimitExceededException)},
		{410, "", lawcket.ErrGone, nil}, // status alone, as some emulators answer
		{404, "NotFoundException", nil, nil},
		{400, "BadRequestException", nil, nil},
	}
	sentinels := []error{lawcket.ErrGone, lawcket.ErrForbidden, lawcket.ErrPayloadTooLarge, lawcket.ErrLimitExceeded}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.errType), func(t *testing.T) {
			srv := newManagementServer(t)
			srv.status, srv.errType = tt.status, tt.errType
			p, err := lawcket.NewPoster(context.Background(), lawcket.WithPosterAWSConfig(staticConfig()),
				lawcket.WithPosterEndpoint(srv.URL+"/{stage}"), lawcket.WithPosterThrottleRetry(false))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Post(context.Background(), lawcket.Target{ConnectionID: "abc=", Stage: "prod"}, []byte("x"))
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
			if !strings.Contains(err.Error(), "abc=") {
				t.Errorf("error does not name the connection: %v", err)
			}
			if n := len(srv.got()); n != 1 {
				t.Errorf("%d requests, want 1 (not retried)", n)
			}
		})
	}
}

func TestPostThrottleRetry(t *testing.T) {
	noDelay := func(o *apigatewaymanagementapi.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
	for _, tt := range []struct {
		retry bool
		want  int
	}{{true, 3}, {false, 1}} {
		t.Run(fmt.Sprint("retry=", tt.retry), func(t *testing.T) {
			srv := newManagementServer(t)
			srv.status, srv.errType = 429, "LimitExceededException"
			p, err := lawcket.NewPoster(context.Background(), lawcket.WithPosterAWSConfig(staticConfig()),
				lawcket.WithPosterEndpoint(srv.URL+"/{stage}"), lawcket.WithPosterClientOptions(noDelay),
				lawcket.WithPosterThrottleRetry(tt.retry))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Post(context.Background(), lawcket.Target{ConnectionID: "abc=", Stage: "prod"}, []byte("x"))
			if !errors.Is(err, lawcket.ErrLimitExceeded) {
				t.Errorf("err = %v, want ErrLimitExceeded", err)
			}
			if n := len(srv.got()); n != tt.want {
				t.Errorf("%d attempts, want %d", n, tt.want)
			}
		})
	}
}

func TestPosterEndpoints(t *testing.T) {
	a, b := newManagementServer(t), newManagementServer(t)
	t.Setenv(lawcket.EnvManagementEndpoint, "")
	p, err := lawcket.NewPoster(context.Background(), lawcket.WithPosterAWSConfig(staticConfig()),
		lawcket.WithPosterEndpoint("http://{domainName}/{apiId}/{stage}"))
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
			if err := p.Post(context.Background(), lawcket.Target{ConnectionID: fmt.Sprint("c", i), DomainName: host, Stage: "dev", APIID: "api1"}, []byte("hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, s := range []*managementServer{a, b} {
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
	err = p.Post(context.Background(), lawcket.Target{ConnectionID: "c", DomainName: hostA, Stage: "dev"}, nil)
	if err == nil || !strings.Contains(err.Error(), "{apiId}") {
		t.Errorf("missing apiId: err = %v", err)
	}
	if err := p.Post(context.Background(), lawcket.Target{DomainName: hostA, Stage: "dev", APIID: "x"}, nil); err == nil {
		t.Error("Post without a connection id succeeded")
	}
}

// TestPosterFollowsEnvEndpoint: resolved endpoints are cached per target,
// but a changed LAWCKET_MANAGEMENT_ENDPOINT still takes effect.
func TestPosterFollowsEnvEndpoint(t *testing.T) {
	a, b := newManagementServer(t), newManagementServer(t)
	p, err := lawcket.NewPoster(context.Background(), lawcket.WithPosterAWSConfig(staticConfig()))
	if err != nil {
		t.Fatal(err)
	}
	target := lawcket.Target{ConnectionID: "c1", DomainName: "example.com", Stage: "dev"}
	for _, srv := range []*managementServer{a, b, a} {
		t.Setenv(lawcket.EnvManagementEndpoint, srv.URL+"/{stage}")
		if err := p.Post(context.Background(), target, []byte("hi")); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := len(a.got()), len(b.got()); na != 2 || nb != 1 {
		t.Errorf("posts: a %d, b %d; want 2 and 1", na, nb)
	}
}

func TestPosterOptionErrors(t *testing.T) {
	for name, opt := range map[string]lawcket.PosterOption{
		"nil option":  nil,
		"nil client":  lawcket.WithPosterClient(nil),
		"bad scheme":  lawcket.WithPosterEndpoint("ws://host/{stage}"),
		"no host":     lawcket.WithPosterEndpoint("https:///prod"),
		"query":       lawcket.WithPosterEndpoint("https://host/prod?x=1"),
		"unparseable": lawcket.WithPosterEndpoint("https://host/%zz"),
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := lawcket.NewPoster(context.Background(), opt); err == nil || p != nil {
				t.Errorf("NewPoster = %v, %v; want an error", p, err)
			}
		})
	}
}

func TestBadEnvEndpoint(t *testing.T) {
	t.Setenv(lawcket.EnvManagementEndpoint, "not a url")
	p, err := lawcket.NewPoster(context.Background(), lawcket.WithPosterAWSConfig(staticConfig()))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Post(context.Background(), lawcket.Target{ConnectionID: "c", DomainName: "d", Stage: "s"}, nil)
	if err == nil || !strings.Contains(err.Error(), lawcket.EnvManagementEndpoint) {
		t.Errorf("err = %v, want it to name %s", err, lawcket.EnvManagementEndpoint)
	}
}

func TestManagementEndpoint(t *testing.T) {
	tests := []struct {
		name, override, env, want string
	}{
		{"default", "", "", "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"},
		{"custom domain via apiId", "https://{apiId}.execute-api.eu-west-1.amazonaws.com/{stage}", "", "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"},
		{"env", "", "http://127.0.0.1:8080/{stage}", "http://127.0.0.1:8080/prod"},
		{"option beats env", "http://localhost:9000/local/", "http://127.0.0.1:8080/{stage}", "http://localhost:9000/local"},
		{"no placeholders", "https://ws.example.com/prod", "", "https://ws.example.com/prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(lawcket.EnvManagementEndpoint, tt.env)
			if got := lawcket.ManagementEndpoint(tt.override, "abc123def4.execute-api.eu-west-1.amazonaws.com", "prod", "abc123def4"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
