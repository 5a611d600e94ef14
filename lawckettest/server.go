package lawckettest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// MaxPayload is the largest PostToConnection payload the Server delivers
// (API Gateway's 128 KB message limit); a larger one is answered 413
// PayloadTooLargeException.
const MaxPayload = 128 * 1024

// Behavior is how the Server answers one request to a connection. Build it
// with Answer, DeliverThen, ResetBeforeDelivery or ResetAfterDelivery, and
// delay it with After.
type Behavior struct {
	status  int  // the answer; 0 with a reset
	deliver bool // a POST's payload counts as delivered
	reset   bool // close the TCP connection (RST) instead of answering
	delay   time.Duration
}

// Answer answers status. 200 delivers a POST's payload (and answers GET with
// the connection's details, DELETE by closing it); any other status is the
// Management API's error for it, with nothing delivered: 403
// ForbiddenException, 410 GoneException, 413 PayloadTooLargeException, 429
// LimitExceededException, 5xx InternalServerErrorException.
func Answer(status int) Behavior { return Behavior{status: status, deliver: status == http.StatusOK} }

// DeliverThen delivers a POST's payload and then answers status (for example
// 500): the failure a client cannot tell from one before delivery, where a
// resend makes a duplicate.
func DeliverThen(status int) Behavior { return Behavior{status: status, deliver: true} }

// ResetBeforeDelivery resets the TCP connection without delivering.
func ResetBeforeDelivery() Behavior { return Behavior{reset: true} }

// ResetAfterDelivery delivers a POST's payload, then resets the TCP
// connection without an answer.
func ResetAfterDelivery() Behavior { return Behavior{reset: true, deliver: true} }

// After returns b acting after d: the Server waits d, then acts (delivers
// and answers) even if the client has given up by then, as API Gateway
// would — the way to test an answer that comes after the caller's deadline.
func (b Behavior) After(d time.Duration) Behavior { b.delay = d; return b }

// String describes b, e.g. "429", "deliver then 500", "reset after delivery", "200 after 1s".
func (b Behavior) String() string {
	var s string
	switch {
	case b.reset && b.deliver:
		s = "reset after delivery"
	case b.reset:
		s = "reset before delivery"
	case b.deliver && b.status != http.StatusOK:
		s = fmt.Sprintf("deliver then %d", b.status)
	default:
		s = fmt.Sprint(b.status)
	}
	if b.delay > 0 {
		s += " after " + b.delay.String()
	}
	return s
}

// Times returns n copies of b, for Script: Times(3, Answer(429)) then
// Answer(200) is a connection throttled three times.
func Times(n int, b Behavior) []Behavior {
	out := make([]Behavior, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// Request is one request the Server received, as it answered it.
type Request struct {
	Method       string // POST (PostToConnection), GET (GetConnection), DELETE (DeleteConnection)
	ConnectionID string
	Stage        string // the path segment before /@connections ("" without one)
	Data         []byte // a POST's payload
	Behavior     Behavior
	Status       int  // the status answered; 0 when the connection was reset
	Delivered    bool // a POST's payload counts as delivered
	// Signed is true when the request carried a SigV4 Authorization header
	// for the execute-api service.
	Signed bool
}

// Connection is what GetConnection answers for a connection.
type Connection struct {
	ConnectedAt  time.Time
	LastActiveAt time.Time
	SourceIP     string
	UserAgent    string
}

// Server is a recording API Gateway Management API on a local HTTP server.
// It speaks the service's wire protocol (restJson1: POST, GET and DELETE
// /{stage}/@connections/{connectionId}, errors named in x-amzn-ErrorType
// and __type), so the real apigatewaymanagementapi client works against it.
// Every connection id is live unless scripted otherwise or deleted; a
// deleted connection answers 410 from then on. A Server is safe for
// concurrent use.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:PORT); a stage's
	// endpoint is URL/stage (see Endpoint).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	def      Behavior
	scripts  map[string][]Behavior
	always   map[string]Behavior
	gone     map[string]bool
	conns    map[string]Connection
	requests []Request
}

// NewServer starts a Server; Close it when done (t.Cleanup(s.Close)).
func NewServer() *Server {
	s := &Server{
		def:     Answer(http.StatusOK),
		scripts: map[string][]Behavior{},
		always:  map[string]Behavior{},
		gone:    map[string]bool{},
		conns:   map[string]Connection{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down; it waits for the requests in flight,
// delayed ones included.
func (s *Server) Close() { s.srv.Close() }

// Endpoint returns the Management API endpoint of stage, for
// apigatewaymanagementapi.Options.BaseEndpoint. Endpoint("{stage}") is a
// template for lawcket's WithManagementEndpoint.
func (s *Server) Endpoint(stage string) string { return s.URL + "/" + stage }

// Client returns a real Management API client for stage's endpoint, with
// static credentials and region eu-west-1 (requests are SigV4-signed as in
// AWS). optFns apply last, for example to change the retryer.
func (s *Server) Client(stage string, optFns ...func(*apigatewaymanagementapi.Options)) *apigatewaymanagementapi.Client {
	cfg := aws.Config{
		Region:      DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLAWCKETTEST", "lawckettest-secret", ""),
	}
	return apigatewaymanagementapi.NewFromConfig(cfg, append([]func(*apigatewaymanagementapi.Options){func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint(stage))
	}}, optFns...)...)
}

// SetDefault sets the behaviour of connections without a script or an
// Always behaviour (initially Answer(200)).
func (s *Server) SetDefault(b Behavior) {
	s.mu.Lock()
	s.def = b
	s.mu.Unlock()
}

// Script queues behaviours for connection id: each request to id takes the
// next one; once they are used up, id behaves as set by Always, else as the
// default. Scripting an id again appends to its queue.
func (s *Server) Script(id string, bs ...Behavior) {
	s.mu.Lock()
	s.scripts[id] = append(s.scripts[id], bs...)
	s.mu.Unlock()
}

// Always sets how connection id answers once its script is used up.
func (s *Server) Always(id string, b Behavior) {
	s.mu.Lock()
	s.always[id] = b
	s.mu.Unlock()
}

// Gone makes the connections answer 410 GoneException from now on, as API
// Gateway does for a connection that has closed.
func (s *Server) Gone(ids ...string) {
	s.mu.Lock()
	for _, id := range ids {
		s.gone[id] = true
	}
	s.mu.Unlock()
}

// SetConnection sets what GetConnection answers for id (default: connected
// at DefaultConnectedAt from DefaultSourceIP with DefaultUserAgent).
func (s *Server) SetConnection(id string, c Connection) {
	s.mu.Lock()
	s.conns[id] = c
	s.mu.Unlock()
}

// Requests returns every request received so far, in the order they were
// answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Posts returns the PostToConnection requests received so far (delivered or
// not), in the order they were answered.
func (s *Server) Posts() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// Delivered returns the payloads delivered to connection id, in order; a
// payload delivered twice (a resend after an ambiguous failure) is there
// twice.
func (s *Server) Delivered(id string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, r := range s.requests {
		if r.Method == http.MethodPost && r.Delivered && r.ConnectionID == id {
			out = append(out, r.Data)
		}
	}
	return out
}

// Deleted returns the connections closed with DeleteConnection, in order.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.requests {
		if r.Method == http.MethodDelete && r.Status == http.StatusNoContent {
			out = append(out, r.ConnectionID)
		}
	}
	return out
}

// Forget clears the recorded requests (scripts and gone connections stay).
func (s *Server) Forget() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// next picks the behaviour for a request to id.
func (s *Server) next(id string) Behavior {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.scripts[id]; len(q) > 0 {
		s.scripts[id] = q[1:]
		return q[0]
	}
	if b, ok := s.always[id]; ok {
		return b
	}
	return s.def
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	stage, id, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusNotFound, "NotFoundException", "no such resource: "+r.URL.Path+" (want /{stage}/@connections/{connectionId})")
		return
	}
	req := Request{Method: r.Method, ConnectionID: id, Stage: stage, Signed: signed(r.Header.Get("Authorization"))}
	if r.Method == http.MethodPost {
		data, err := io.ReadAll(io.LimitReader(r.Body, 4*MaxPayload))
		if err != nil {
			return // the client went away mid-request: nothing was delivered
		}
		req.Data = data
	}
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", r.Method+" is not a Management API method")
		return
	}
	b := s.next(id)
	req.Behavior = b
	if b.delay > 0 {
		time.Sleep(b.delay) // deliberately not cut short by the client's deadline
	}
	s.act(w, r, &req, b)
}

// act answers one request with b, and records it.
func (s *Server) act(w http.ResponseWriter, r *http.Request, req *Request, b Behavior) {
	s.mu.Lock()
	gone := s.gone[req.ConnectionID]
	conn, known := s.conns[req.ConnectionID]
	status := b.status
	switch {
	case b.reset:
	case gone && (b.deliver || status == http.StatusOK):
		// A closed connection answers 410 whatever it was scripted to do
		// after delivering: nothing reaches it.
		status, b.deliver = http.StatusGone, false
	case r.Method == http.MethodPost && b.deliver && len(req.Data) > MaxPayload:
		status, b.deliver = http.StatusRequestEntityTooLarge, false
	}
	req.Delivered = b.deliver && r.Method == http.MethodPost
	if r.Method == http.MethodDelete && status == http.StatusOK {
		status = http.StatusNoContent
		s.gone[req.ConnectionID] = true
	}
	if !b.reset {
		req.Status = status
	}
	s.requests = append(s.requests, *req)
	s.mu.Unlock()

	if b.reset {
		reset(w)
		return
	}
	switch {
	case status == http.StatusOK && r.Method == http.MethodGet:
		if !known {
			conn = Connection{ConnectedAt: DefaultConnectedAt, LastActiveAt: DefaultConnectedAt, SourceIP: DefaultSourceIP, UserAgent: DefaultUserAgent}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"connectedAt":  conn.ConnectedAt.UTC().Format(time.RFC3339Nano),
			"lastActiveAt": conn.LastActiveAt.UTC().Format(time.RFC3339Nano),
			"identity":     map[string]string{"sourceIp": conn.SourceIP, "userAgent": conn.UserAgent},
		})
	case status < 300:
		w.WriteHeader(status)
	default:
		typ, msg := errorShape(status)
		writeError(w, status, typ, msg)
	}
}

// errorShape names the Management API error of a status.
func errorShape(status int) (typ, msg string) {
	switch status {
	case http.StatusForbidden:
		return "ForbiddenException", "Forbidden"
	case http.StatusGone:
		return "GoneException", "The connection is gone"
	case http.StatusRequestEntityTooLarge:
		return "PayloadTooLargeException", fmt.Sprintf("Message too long; the maximum is %d bytes", MaxPayload)
	case http.StatusTooManyRequests:
		return "LimitExceededException", "Rate exceeded"
	}
	if status >= 500 {
		return "InternalServerErrorException", "Internal server error"
	}
	return "BadRequestException", http.StatusText(status)
}

// writeError answers an error as API Gateway does: the type in
// x-amzn-ErrorType and in the JSON body's __type, with a message.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// reset closes the request's TCP connection with an RST, without answering.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// splitPath splits /{stage}/@connections/{id} (the stage may be absent).
func splitPath(p string) (stage, id string, ok bool) {
	i := strings.Index(p, "/@connections/")
	if i < 0 {
		return "", "", false
	}
	stage = strings.Trim(p[:i], "/")
	raw := p[i+len("/@connections/"):]
	if raw == "" || strings.Contains(raw, "/") {
		return "", "", false
	}
	id, err := url.PathUnescape(raw)
	if err != nil {
		return "", "", false
	}
	if s, err := url.PathUnescape(stage); err == nil {
		stage = s
	}
	return stage, id, true
}

func signed(auth string) bool {
	return strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") && strings.Contains(auth, "/execute-api/aws4_request")
}
