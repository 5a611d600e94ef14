package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what a Fault does.
type Kind int

const (
	// Pass forwards the request and its answer unchanged.
	Pass Kind = iota + 1
	// Error answers an error without forwarding: nothing is applied.
	Error
	// ResetBefore resets the connection without forwarding: nothing is applied.
	ResetBefore
	// Truncated forwards (the table applies the write) and answers with the
	// body cut in half.
	Truncated
	// Late forwards (applied) and answers after a delay, for a caller whose
	// deadline passes first.
	Late
	// AppliedLost forwards (applied) and resets the connection instead of
	// answering.
	AppliedLost
)

// Fault is what the Proxy does with one request.
type Fault struct {
	Kind   Kind
	Status int    // Error: the HTTP status
	Type   string // Error: the __type of DynamoDB's JSON error
	Delay  time.Duration
}

// DynamoDB's error types, as they appear in __type.
const (
	ProvisionedThroughputExceeded = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
	Throttling                    = "com.amazon.coral.availability#ThrottlingException"
	RequestLimitExceeded          = "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded"
	InternalServerError           = "com.amazonaws.dynamodb.v20120810#InternalServerError"
	ServiceUnavailable            = "com.amazon.coral.availability#ServiceUnavailableException"
)

var messages = map[string]string{
	ProvisionedThroughputExceeded: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
	Throttling:                    "Rate of requests exceeds the allowed throughput.",
	RequestLimitExceeded:          "Throughput exceeds the current throughput limit for your account. Please contact AWS Support at https://aws.amazon.com/support request a limit increase",
	InternalServerError:           "Internal server error",
	ServiceUnavailable:            "Service unavailable",
}

// Faults, by name.
var (
	None      = Fault{Kind: Pass}
	Status500 = Fault{Kind: Error, Status: http.StatusInternalServerError, Type: InternalServerError}
	Status503 = Fault{Kind: Error, Status: http.StatusServiceUnavailable, Type: ServiceUnavailable}
	Reset     = Fault{Kind: ResetBefore}
	Truncate  = Fault{Kind: Truncated}
	Lost      = Fault{Kind: AppliedLost}
)

// Throttle answers 400 with a throttling error type (ProvisionedThroughputExceeded,
// Throttling or RequestLimitExceeded).
func Throttle(typ string) Fault { return Fault{Kind: Error, Status: http.StatusBadRequest, Type: typ} }

// After answers after d, the write applied.
func After(d time.Duration) Fault { return Fault{Kind: Late, Delay: d} }

// Applies reports whether the table applies the request under f.
func (f Fault) Applies() bool {
	return f.Kind == Pass || f.Kind == Truncated || f.Kind == Late || f.Kind == AppliedLost
}

// String names the fault ("pass", "400 ThrottlingException", "reset", …).
func (f Fault) String() string {
	switch f.Kind {
	case Pass:
		return "pass"
	case Error:
		return fmt.Sprintf("%d %s", f.Status, f.Type[strings.LastIndexByte(f.Type, '#')+1:])
	case ResetBefore:
		return "reset before"
	case Truncated:
		return "truncated body"
	case Late:
		return "answer after " + f.Delay.String()
	case AppliedLost:
		return "applied, answer lost"
	}
	return fmt.Sprintf("Kind(%d)", int(f.Kind))
}

// Request is what a Rule sees of one request.
type Request struct {
	Op           string // the DynamoDB operation: PutItem, DeleteItem, …
	ConnectionID string // the Item's or Key's connectionId, "" when none
	Attempt      int    // 1 for the first request of this Op and ConnectionID, 2 for the next, …
}

// Rule picks a request's fault. It must be safe for concurrent use.
type Rule func(Request) Fault

// Entry is one request the Proxy handled.
type Entry struct {
	Request
	Fault Fault
}

// Proxy is a fault-injecting reverse proxy in front of a DynamoDB endpoint.
type Proxy struct {
	// URL is the proxy's endpoint, for the client's BaseEndpoint.
	URL string

	srv    *httptest.Server
	target string
	next   http.RoundTripper

	mu       sync.Mutex
	rule     Rule
	attempts map[[2]string]int
	log      []Entry
}

// New starts a Proxy to target (e.g. dynalite's endpoint) applying rule
// (nil: every request passes).
func New(target string, rule Rule) *Proxy {
	p := &Proxy{target: strings.TrimSuffix(target, "/"), next: &http.Transport{}, rule: rule, attempts: map[[2]string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy, after the requests in flight.
func (p *Proxy) Close() {
	p.srv.Close()
	p.next.(*http.Transport).CloseIdleConnections()
}

// SetRule replaces the rule (nil: every request passes) and restarts the
// attempt counts.
func (p *Proxy) SetRule(rule Rule) {
	p.mu.Lock()
	p.rule, p.attempts = rule, map[[2]string]int{}
	p.mu.Unlock()
}

// Log returns the requests handled so far.
func (p *Proxy) Log() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Entry(nil), p.log...)
}

// Count returns how many requests of op (all when "") were handled.
func (p *Proxy) Count(op string) int {
	n := 0
	for _, e := range p.Log() {
		if op == "" || e.Op == op {
			n++
		}
	}
	return n
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req := Request{Op: r.Header.Get("X-Amz-Target"), ConnectionID: connectionID(body)}
	if i := strings.LastIndexByte(req.Op, '.'); i >= 0 {
		req.Op = req.Op[i+1:]
	}
	p.mu.Lock()
	k := [2]string{req.Op, req.ConnectionID}
	p.attempts[k]++
	req.Attempt = p.attempts[k]
	f := None
	if p.rule != nil {
		f = p.rule(req)
	}
	p.log = append(p.log, Entry{req, f})
	p.mu.Unlock()

	switch f.Kind {
	case Error:
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-RequestId", "FAULTS0000000000000000000000000000000000000000000000")
		w.WriteHeader(f.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": f.Type, "message": messages[f.Type]})
		return
	case ResetBefore:
		reset(w)
		return
	}
	resp, status, rbody, err := p.forward(r, body)
	if err != nil {
		reset(w) // the target is unreachable: the client sees what it would
		return
	}
	switch f.Kind {
	case AppliedLost:
		reset(w)
		return
	case Late:
		time.Sleep(f.Delay)
	}
	for k, vs := range resp {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rbody)))
	w.WriteHeader(status)
	if f.Kind == Truncated {
		_, _ = w.Write(rbody[:len(rbody)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // close the connection mid-body
	}
	_, _ = w.Write(rbody)
}

// forward sends the request on to the target and reads the whole answer.
func (p *Proxy) forward(r *http.Request, body []byte) (http.Header, int, []byte, error) {
	out, err := http.NewRequest(r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, 0, nil, err
	}
	out.Header = r.Header.Clone()
	resp, err := p.next.RoundTrip(out)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	rbody, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, nil, err
	}
	h := resp.Header.Clone()
	h.Del("Content-Length")
	return h, resp.StatusCode, rbody, nil
}

// connectionID reads the connectionId of a PutItem's Item or a DeleteItem's
// or GetItem's Key.
func connectionID(body []byte) string {
	var in struct {
		Item, Key map[string]struct{ S string }
	}
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	if v, ok := in.Item["connectionId"]; ok {
		return v.S
	}
	return in.Key["connectionId"].S
}

// reset closes the client's connection with an RST.
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
