package mgmt_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// request is one request the fake Management API received.
type request struct {
	method, path, auth, body string
}

// answer is what the server does with one request: a status (with the
// x-amzn-ErrorType errType), or drop the connection without an answer.
type answer struct {
	status  int
	errType string
	drop    bool
}

// server is a real HTTP server answering like the API Gateway Management
// API. script, when set, gives the answer to the n-th request (from 0);
// else every request gets def.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
	def      answer
	script   func(n int, r request) answer
}

func newServer(t *testing.T) *server {
	s := &server{def: answer{status: http.StatusOK}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body)}
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, req)
		a, script := s.def, s.script
		s.mu.Unlock()
		if script != nil {
			a = script(n, req)
		}
		switch {
		case a.drop:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case a.status == http.StatusOK:
			if r.Method == http.MethodGet {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"connectedAt":"2024-11-11T11:35:24.000Z","lastActiveAt":"2024-11-11T11:36:00.000Z","identity":{"sourceIp":"192.0.2.1","userAgent":"test"}}`)
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("x-amzn-ErrorType", a.errType)
			w.WriteHeader(a.status)
			fmt.Fprintf(w, `{"message":%q}`, a.errType+" from the test server")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) got() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

func checkSigned(t *testing.T, r request) {
	t.Helper()
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=AKIDLAWCKETTEST/") ||
		!strings.Contains(r.auth, "/eu-west-1/execute-api/aws4_request") ||
		!strings.Contains(r.auth, "Signature=") {
		t.Errorf("Authorization = %q, want a SigV4 signature for execute-api in eu-west-1", r.auth)
	}
}

// fast is a Retry without noticeable backoff.
var fast = mgmt.Retry{BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}

// newClient is a Client for srv signing with staticConfig.
func newClient(t *testing.T, srv *server, opts ...mgmt.Option) *mgmt.Client {
	t.Helper()
	c, err := mgmt.New(append([]mgmt.Option{mgmt.WithAWSConfig(staticConfig()), mgmt.WithEndpoint(srv.URL + "/{stage}"), mgmt.WithRetry(fast)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
