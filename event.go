package lawcket

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/mgmt"
)

// Connection identifies the WebSocket connection an event belongs to.
type Connection struct {
	ID         string
	DomainName string
	Stage      string
	APIID      string
	// ConnectedAt is requestContext.connectedAt (epoch milliseconds) in UTC;
	// zero when absent.
	ConnectedAt time.Time
	SourceIP    string
	UserAgent   string
}

// Target returns where a Management API call for this connection goes.
func (c Connection) Target() mgmt.Target {
	return mgmt.Target{ConnectionID: c.ID, DomainName: c.DomainName, Stage: c.Stage, APIID: c.APIID}
}

// Event is one API Gateway WebSocket event. Handlers and middleware may
// change its exported fields; the App dispatches on Type and RouteKey as
// they are when the innermost handler runs. An Event belongs to one
// invocation and is not safe for concurrent mutation (plugins run
// concurrently and must treat it as read-only).
type Event struct {
	Type EventType
	// RouteKey is requestContext.routeKey: "$connect", "$disconnect",
	// "$default" or a custom route key.
	RouteKey string
	// Request is the event exactly as API Gateway sent it.
	Request    events.APIGatewayWebsocketProxyRequest
	Connection Connection
	// Body is the message body, decoded from base64 when isBase64Encoded.
	Body []byte

	inv *invocation
}

// invocation is the state one Lambda invocation shares between the Event
// and the App (kept behind a pointer so that middleware passing a copy of the
// Event to next does not lose it).
type invocation struct {
	app         *App
	subprotocol string
	connected   []hook[ConnectPlugin] // connect plugins that succeeded (rollback undoes the ClosePlugins among them)
	closed      bool                  // the close plugins ran (or are running) for this $disconnect

	// The logger's attributes, as API Gateway sent them; the logger itself
	// is built on first use (most events log nothing).
	connectionID, requestID, routeKey string
	logOnce                           sync.Once
	logger                            *slog.Logger
}

// log returns the App's logger with the invocation's attributes.
func (inv *invocation) log() *slog.Logger {
	inv.logOnce.Do(func() {
		inv.logger = inv.app.logger.With("connectionId", inv.connectionID, "requestId", inv.requestID, "routeKey", inv.routeKey)
	})
	return inv.logger
}

// newEvent builds the Event for req, or returns a *Rejection (400) saying
// what is wrong with the request.
func newEvent(req events.APIGatewayWebsocketProxyRequest) (*Event, error) {
	rc := req.RequestContext
	t, ok := parseEventType(rc.EventType)
	switch {
	case rc.EventType == "" && rc.ConnectionID == "" && rc.RouteKey == "":
		return nil, Reject(http.StatusBadRequest, "not an API Gateway WebSocket event: requestContext is missing")
	case !ok:
		return nil, Reject(http.StatusBadRequest, fmt.Sprintf("unknown requestContext.eventType %q (want CONNECT, MESSAGE or DISCONNECT)", rc.EventType))
	case rc.ConnectionID == "":
		return nil, Reject(http.StatusBadRequest, "requestContext.connectionId is missing")
	}
	ev := &Event{
		Type:     t,
		RouteKey: rc.RouteKey,
		Request:  req,
		Connection: Connection{
			ID:         rc.ConnectionID,
			DomainName: rc.DomainName,
			Stage:      rc.Stage,
			APIID:      rc.APIID,
			SourceIP:   rc.Identity.SourceIP,
			UserAgent:  rc.Identity.UserAgent,
		},
	}
	if rc.ConnectedAt > 0 {
		ev.Connection.ConnectedAt = time.UnixMilli(rc.ConnectedAt).UTC()
	}
	if req.Body != "" {
		if req.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(req.Body)
			if err != nil {
				return nil, &Rejection{Status: http.StatusBadRequest, Reason: "isBase64Encoded is true but the body is not valid base64: " + err.Error(), Err: err}
			}
			ev.Body = b
		} else {
			ev.Body = []byte(req.Body)
		}
	}
	return ev, nil
}

// Header returns the value of the named header, matched case-insensitively,
// from headers or, when absent there, multiValueHeaders (values joined with
// ", "). It returns "" when the header is absent. When several names differ
// only in case, the one that sorts first wins, as in the spec's
// expressions (headers.x): the answer never depends on map order.
func (e *Event) Header(name string) string {
	if v, ok := foldLookup(e.Request.Headers, name); ok {
		return v
	}
	return strings.Join(e.HeaderValues(name), ", ")
}

// HeaderValues returns every value of the named header, matched
// case-insensitively (the name that sorts first among case variants):
// multiValueHeaders when present, else headers.
func (e *Event) HeaderValues(name string) []string {
	if v, ok := foldLookup(e.Request.MultiValueHeaders, name); ok {
		return slices.Clone(v)
	}
	if v, ok := foldLookup(e.Request.Headers, name); ok {
		return []string{v}
	}
	return nil
}

// foldLookup returns the value of the key of m equal to name under case
// folding that sorts first, in one pass.
func foldLookup[V any](m map[string]V, name string) (v V, ok bool) {
	best := ""
	for k, val := range m {
		if strings.EqualFold(k, name) && (!ok || k < best) {
			best, v, ok = k, val, true
		}
	}
	return v, ok
}

// Query returns the named query-string parameter (names are case-sensitive)
// from queryStringParameters or, when absent there, the first value in
// multiValueQueryStringParameters. It returns "" when absent, including when
// API Gateway sent no query-string keys at all.
func (e *Event) Query(name string) string {
	if v, ok := e.Request.QueryStringParameters[name]; ok {
		return v
	}
	if v := e.Request.MultiValueQueryStringParameters[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Authorizer returns requestContext.authorizer (set on $connect when a
// Lambda authorizer ran: principalId, integrationLatency and the
// authorizer's context keys; API Gateway may deliver the values as strings,
// "42" or "true"), or nil when there is none.
func (e *Event) Authorizer() map[string]any {
	m, _ := e.Request.RequestContext.Authorizer.(map[string]any)
	return m
}

// DecodeJSON decodes the body as one JSON value into v. When the body is
// empty or is not valid JSON for v, it returns a *Rejection with status 400
// whose Err is the decoder's error: a handler may return it as-is and the
// response is 400 with the reason.
func (e *Event) DecodeJSON(v any) error {
	if len(bytes.TrimSpace(e.Body)) == 0 {
		return &Rejection{Status: http.StatusBadRequest, Reason: "body is empty, want JSON"}
	}
	dec := json.NewDecoder(bytes.NewReader(e.Body))
	if err := dec.Decode(v); err != nil {
		return &Rejection{Status: http.StatusBadRequest, Reason: "body is not valid JSON: " + err.Error(), Err: err}
	}
	if dec.More() {
		err := errors.New("unexpected data after the JSON value")
		return &Rejection{Status: http.StatusBadRequest, Reason: "body is not valid JSON: " + err.Error(), Err: err}
	}
	return nil
}

// Reply posts v to the event's own connection through the App's
// Management API client (App.Management), under its Retry policy:
// []byte, json.RawMessage and string are sent as they are, anything else
// JSON-encoded (without HTML escaping). On $connect it returns ErrNotEstablished without a request
// (the connection exists only once $connect has returned). Management API
// failures are *mgmt.Error values (test with errors.Is for mgmt.ErrGone,
// mgmt.ErrForbidden, mgmt.ErrPayloadTooLarge, mgmt.ErrLimitExceeded,
// mgmt.ErrAmbiguous).
func (e *Event) Reply(ctx context.Context, v any) error {
	if e.Type == Connect {
		return fmt.Errorf("lawcket: reply to %s: %w", e.Connection.ID, ErrNotEstablished)
	}
	if e.inv == nil || e.inv.app == nil {
		return errors.New("lawcket: Reply on an Event not built by an App (no Management API client)")
	}
	data, err := encodePayload(v)
	if err != nil {
		return err
	}
	_, err = e.inv.app.Management().Post(ctx, e.Connection.Target(), data)
	return err
}

// encodePayload is how Reply turns a value into a frame.
func encodePayload(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case json.RawMessage:
		return x, nil
	case string:
		return []byte(x), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a frame is not HTML: keep <, > and & as they are
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("lawcket: encode reply: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Subprotocols returns the subprotocols the client offered in
// Sec-WebSocket-Protocol (comma-separated, possibly over several header
// lines), in the client's order, trimmed; nil when none.
func (e *Event) Subprotocols() []string {
	var out []string
	for _, line := range e.HeaderValues("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(line, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Subprotocol returns the subprotocol chosen so far ("" when none): the one
// picked from WithSubprotocols, or set by SetSubprotocol.
func (e *Event) Subprotocol() string {
	if e.inv == nil {
		return ""
	}
	return e.inv.subprotocol
}

// SetSubprotocol chooses the subprotocol echoed in the $connect response's
// Sec-WebSocket-Protocol header, replacing the one picked from
// WithSubprotocols. p must be one the client offered (a browser fails the
// handshake otherwise); "" clears the choice. It is meaningful on $connect
// only, from middleware or the connect handler.
func (e *Event) SetSubprotocol(p string) error {
	if e.inv == nil {
		return errors.New("lawcket: SetSubprotocol on an Event not built by an App")
	}
	if p != "" && !slices.Contains(e.Subprotocols(), p) {
		return fmt.Errorf("lawcket: subprotocol %q was not offered by the client (offered: %q)", p, e.Subprotocols())
	}
	e.inv.subprotocol = p
	return nil
}

// Logger returns the App's logger with this event's connectionId, requestId
// and routeKey attributes.
func (e *Event) Logger() *slog.Logger {
	if e.inv == nil {
		return slog.Default()
	}
	return e.inv.log()
}
