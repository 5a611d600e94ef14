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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/mgmt"
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
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithEndpoint(srv.URL+"/{stage}"))))
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
			t.Setenv(mgmt.EnvEndpoint, srv.URL+"/{stage}")
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t)))
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
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithAPI(failClient{}))))
		a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error { return ev.Reply(ctx, make(chan int)) })
		if _, err := invoke(t, a, fixture(t, "message-default.json")); err == nil || !strings.Contains(err.Error(), "encode reply") {
			t.Errorf("err = %v", err)
		}
	})
}

// testClient is a mgmt.Client signing with staticConfig.
func testClient(t *testing.T, opts ...mgmt.Option) *mgmt.Client {
	t.Helper()
	c, err := mgmt.New(append([]mgmt.Option{mgmt.WithAWSConfig(staticConfig())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// failClient is a mgmt.API that must not be called.
type failClient struct{ mgmt.API }

func (failClient) PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	return nil, errors.New("failClient must not be called")
}

func TestReplyOnConnect(t *testing.T) {
	srv := newManagementServer(t)
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithEndpoint(srv.URL+"/{stage}"))))
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
