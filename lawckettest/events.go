package lawckettest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Defaults of the built events. They are fixed, so that events (and the
// JSON of them) are the same in every run.
const (
	DefaultConnectionID = "BQ1a2ecXDoECJQg="
	DefaultAPIID        = "abc123def4"
	DefaultStage        = "prod"
	DefaultRegion       = "eu-west-1"
	DefaultSourceIP     = "203.0.113.7"
	DefaultUserAgent    = "Mozilla/5.0 (X11; Linux x86_64) lawckettest"
)

// DefaultConnectedAt is requestContext.connectedAt of the built events
// (ConnectedAt changes it).
var DefaultConnectedAt = time.UnixMilli(1731324924553).UTC()

// Option shapes one built event. Options apply in order; a later option
// overrides an earlier one where both set the same value.
type Option func(*builder)

type builder struct {
	connectionID, requestID, messageID string
	apiID, stage, domain               string
	sourceIP, userAgent                string
	routeKey                           string
	connectedAt, requestTime           time.Time
	headers                            []header // in order, casing kept
	query                              []header
	emptyQuery                         bool
	authorizer                         map[string]any
	disconnectCode                     int64
	disconnectReason                   string
	base64                             bool
	body                               string
}

type header struct {
	name   string
	values []string
}

// ConnectionID sets requestContext.connectionId (default DefaultConnectionID).
func ConnectionID(id string) Option { return func(b *builder) { b.connectionID = id } }

// RequestID sets requestContext.requestId and extendedRequestId.
func RequestID(id string) Option { return func(b *builder) { b.requestID = id } }

// MessageID sets requestContext.messageId of a message event.
func MessageID(id string) Option { return func(b *builder) { b.messageID = id } }

// Stage sets requestContext.stage (default DefaultStage).
func Stage(s string) Option { return func(b *builder) { b.stage = s } }

// APIID sets requestContext.apiId (default DefaultAPIID). Unless DomainName
// is given, the domain follows it: APIID.execute-api.eu-west-1.amazonaws.com.
func APIID(id string) Option { return func(b *builder) { b.apiID = id } }

// DomainName sets requestContext.domainName and the Host header, for example
// a custom domain.
func DomainName(d string) Option { return func(b *builder) { b.domain = d } }

// SourceIP sets requestContext.identity.sourceIp (and, on $connect, the
// X-Forwarded-For header).
func SourceIP(ip string) Option { return func(b *builder) { b.sourceIP = ip } }

// UserAgent sets requestContext.identity.userAgent (and, on $connect, the
// User-Agent header).
func UserAgent(ua string) Option { return func(b *builder) { b.userAgent = ua } }

// Route sets requestContext.routeKey of a message event (default
// "$default"), for a custom route such as "send".
func Route(key string) Option { return func(b *builder) { b.routeKey = key } }

// ConnectedAt sets requestContext.connectedAt (epoch milliseconds of t).
func ConnectedAt(t time.Time) Option { return func(b *builder) { b.connectedAt = t } }

// RequestTime sets requestContext.requestTime and requestTimeEpoch (default:
// a few milliseconds after connectedAt for $connect, one second after for a
// message, a minute after for $disconnect).
func RequestTime(t time.Time) Option { return func(b *builder) { b.requestTime = t } }

// Header adds a header to a $connect or $disconnect event with the name's
// casing kept, as API Gateway passes the client's casing on: every value in
// multiValueHeaders[name], the last one in headers[name]. A header already
// present under any casing is replaced. With no values the header is
// removed (also a default one, such as User-Agent).
func Header(name string, values ...string) Option {
	return func(b *builder) {
		b.headers = setPair(b.headers, name, nil, true)
		// Kept with no values too: fill then removes a default header.
		b.headers = append(b.headers, header{name, append([]string(nil), values...)})
	}
}

// Query adds a query-string parameter: every value in
// multiValueQueryStringParameters[name], the last one in
// queryStringParameters[name] (names are case-sensitive). Without any Query
// option both maps are absent, as API Gateway sends a URL with no query
// string; see EmptyQuery for the other shape.
func Query(name string, values ...string) Option {
	return func(b *builder) { b.query = setPair(b.query, name, values, false) }
}

// EmptyQuery makes queryStringParameters and multiValueQueryStringParameters
// present and empty ({}), a shape some proxies and emulators send for a URL
// without a query string. Code must treat it like absent maps.
func EmptyQuery() Option { return func(b *builder) { b.emptyQuery = true } }

// Subprotocols sets the Sec-WebSocket-Protocol header of a $connect to the
// offered subprotocols, comma-separated in one header line as browsers send
// them.
func Subprotocols(p ...string) Option {
	return Header("Sec-WebSocket-Protocol", strings.Join(p, ", "))
}

// Authorizer sets requestContext.authorizer as API Gateway passes a Lambda
// authorizer's output on: principalId, integrationLatency and the context
// keys. The values go through JSON, so that a number is a float64 whether
// the event is used as a struct or decoded from JSON; pass strings ("42",
// "true") for the stringified values API Gateway may deliver.
func Authorizer(principalID string, context map[string]any) Option {
	return func(b *builder) {
		m := map[string]any{"principalId": principalID, "integrationLatency": 112}
		for k, v := range context {
			m[k] = v
		}
		b.authorizer = m
	}
}

// DisconnectCode sets requestContext.disconnectStatusCode and
// disconnectReason of a $disconnect (default 1001 and "": the client went
// away). Codes seen from API Gateway include 1000, 1001, 1005, 1006 and 1009.
func DisconnectCode(code int, reason string) Option {
	return func(b *builder) { b.disconnectCode, b.disconnectReason = int64(code), reason }
}

// Base64 sends a message's body base64-encoded with isBase64Encoded true (as
// an integration with contentHandlingStrategy CONVERT_TO_TEXT would).
func Base64() Option { return func(b *builder) { b.base64 = true } }

func setPair(list []header, name string, values []string, fold bool) []header {
	out := list[:0:0]
	for _, h := range list {
		same := h.name == name || (fold && strings.EqualFold(h.name, name))
		if !same {
			out = append(out, h)
		}
	}
	if len(values) > 0 {
		out = append(out, header{name, append([]string(nil), values...)})
	}
	return out
}

func newBuilder(opts []Option) *builder {
	b := &builder{
		connectionID: DefaultConnectionID,
		apiID:        DefaultAPIID,
		stage:        DefaultStage,
		sourceIP:     DefaultSourceIP,
		userAgent:    DefaultUserAgent,
		connectedAt:  DefaultConnectedAt,
	}
	for _, o := range opts {
		if o != nil {
			o(b)
		}
	}
	if b.domain == "" {
		b.domain = b.apiID + ".execute-api." + DefaultRegion + ".amazonaws.com"
	}
	return b
}

// context builds the requestContext common to every event.
func (b *builder) context(routeKey, eventType string, after time.Duration, reqID string) events.APIGatewayWebsocketProxyRequestContext {
	at := b.requestTime
	if at.IsZero() {
		at = b.connectedAt.Add(after)
	}
	if b.requestID != "" {
		reqID = b.requestID
	}
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          routeKey,
		EventType:         eventType,
		ExtendedRequestID: reqID,
		RequestTime:       at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		MessageDirection:  "IN",
		Stage:             b.stage,
		ConnectedAt:       b.connectedAt.UnixMilli(),
		RequestTimeEpoch:  at.UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: b.sourceIP, UserAgent: b.userAgent},
		RequestID:         reqID,
		DomainName:        b.domain,
		ConnectionID:      b.connectionID,
		APIID:             b.apiID,
	}
}

// fill sets headers and query from the builder's lists.
func (b *builder) fill(req *events.APIGatewayWebsocketProxyRequest, defaults []header) {
	all := defaults
	for _, h := range b.headers {
		all = setPair(all, h.name, h.values, true)
	}
	if len(all) > 0 {
		req.Headers = make(map[string]string, len(all))
		req.MultiValueHeaders = make(map[string][]string, len(all))
		for _, h := range all {
			req.Headers[h.name] = h.values[len(h.values)-1]
			req.MultiValueHeaders[h.name] = h.values
		}
	}
	if len(b.query) > 0 || b.emptyQuery {
		req.QueryStringParameters = make(map[string]string, len(b.query))
		req.MultiValueQueryStringParameters = make(map[string][]string, len(b.query))
		for _, q := range b.query {
			req.QueryStringParameters[q.name] = q.values[len(q.values)-1]
			req.MultiValueQueryStringParameters[q.name] = q.values
		}
	}
}

// Connect returns a $connect event as API Gateway sends it to a Lambda
// proxy integration: the WebSocket handshake headers with their casing,
// query-string parameters only when Query (or EmptyQuery) is given,
// requestContext with eventType CONNECT, no body.
func Connect(opts ...Option) events.APIGatewayWebsocketProxyRequest {
	b := newBuilder(opts)
	req := events.APIGatewayWebsocketProxyRequest{
		RequestContext: b.context("$connect", "CONNECT", 8*time.Millisecond, "BQ1a2Hk3DoEFr7A="),
	}
	if b.authorizer != nil {
		req.RequestContext.Authorizer = normalize(b.authorizer)
	}
	b.fill(&req, []header{
		{"Host", []string{b.domain}},
		{"Sec-WebSocket-Extensions", []string{"permessage-deflate; client_max_window_bits"}},
		{"Sec-WebSocket-Key", []string{"dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Sec-WebSocket-Version", []string{"13"}},
		{"User-Agent", []string{b.userAgent}},
		{"X-Amzn-Trace-Id", []string{"Root=1-6731f2fc-1f2e3d4c5b6a79880f1e2d3c"}},
		{"X-Forwarded-For", []string{b.sourceIP}},
		{"X-Forwarded-Port", []string{"443"}},
		{"X-Forwarded-Proto", []string{"https"}},
	})
	return req
}

// Message returns a message event with body as the frame's text: routeKey
// "$default" unless Route is given, eventType MESSAGE, a messageId, no
// headers and no query (API Gateway sends neither on messages).
func Message(body string, opts ...Option) events.APIGatewayWebsocketProxyRequest {
	b := newBuilder(opts)
	route := b.routeKey
	if route == "" {
		route = "$default"
	}
	req := events.APIGatewayWebsocketProxyRequest{
		RequestContext: b.context(route, "MESSAGE", time.Second, "BQ1knPH17NjMFftw="),
		Body:           body,
	}
	msgID := b.messageID
	if msgID == "" {
		msgID = "BQ1knPc2ntjMCFIA="
	}
	req.RequestContext.MessageID = msgID
	if b.base64 {
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
		req.IsBase64Encoded = true
	}
	b.fill(&req, nil)
	return req
}

// Disconnect returns a $disconnect event: the few headers API Gateway sends
// (Host, x-api-key, X-Forwarded-For, x-restapi), eventType DISCONNECT,
// disconnectStatusCode and disconnectReason (DisconnectCode; default 1001,
// "").
func Disconnect(opts ...Option) events.APIGatewayWebsocketProxyRequest {
	b := newBuilder(append([]Option{DisconnectCode(1001, "")}, opts...))
	req := events.APIGatewayWebsocketProxyRequest{
		RequestContext: b.context("$disconnect", "DISCONNECT", time.Minute, "R1koeHsUtjMFbRw="),
	}
	req.RequestContext.DisconnectStatusCode = b.disconnectCode
	reason := b.disconnectReason
	req.RequestContext.DisconnectReason = &reason
	b.fill(&req, []header{
		{"Host", []string{b.domain}},
		{"x-api-key", []string{""}},
		{"X-Forwarded-For", []string{""}},
		{"x-restapi", []string{""}},
	})
	return req
}

// normalize passes v through JSON, so that a built event holds what a
// decoded one would (float64 numbers, map[string]any objects).
func normalize(v map[string]any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("lawckettest: authorizer context is not JSON: %v", err))
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("lawckettest: authorizer context: %v", err))
	}
	return out
}

// JSON returns the event as the JSON payload Lambda would deliver, for
// lambda.NewHandler(h).Invoke or a Runtime API emulator.
func JSON(req events.APIGatewayWebsocketProxyRequest) []byte {
	data, err := json.Marshal(req)
	if err != nil {
		// An events struct always marshals, except for an authorizer value
		// set by hand that JSON cannot hold.
		panic(fmt.Sprintf("lawckettest: marshal event: %v", err))
	}
	// events' omitempty drops empty maps; EmptyQuery's shape keeps them.
	if req.QueryStringParameters != nil && len(req.QueryStringParameters) == 0 ||
		req.MultiValueQueryStringParameters != nil && len(req.MultiValueQueryStringParameters) == 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err == nil {
			if req.QueryStringParameters != nil && len(req.QueryStringParameters) == 0 {
				m["queryStringParameters"] = json.RawMessage("{}")
			}
			if req.MultiValueQueryStringParameters != nil && len(req.MultiValueQueryStringParameters) == 0 {
				m["multiValueQueryStringParameters"] = json.RawMessage("{}")
			}
			data, _ = json.Marshal(m)
		}
	}
	return data
}

// Invoke runs handler (any function lambda.Start accepts, such as
// App.Handler()) on the raw payload through aws-lambda-go's own decoding,
// as the Lambda runtime does, and decodes the response. A handler error is
// returned as it would reach Lambda.
func Invoke(ctx context.Context, handler any, payload []byte) (events.APIGatewayProxyResponse, error) {
	out, err := lambda.NewHandler(handler).Invoke(ctx, payload)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("lawckettest: the handler's response is not an API Gateway proxy response: %w", err)
	}
	return resp, nil
}

// ReadEvent reads a JSON event file (for example a testdata fixture
// captured from API Gateway) and fails the test when it cannot be read or
// decoded.
func ReadEvent(tb testing.TB, path string) events.APIGatewayWebsocketProxyRequest {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("lawckettest: %v", err)
	}
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(data, &req); err != nil {
		tb.Fatalf("lawckettest: %s: %v", path, err)
	}
	return req
}

// RoomSpec is a lawcket.yaml for tests of the DynamoDB sync (package
// dynamo, via syncspec.Parse): table Connections, rows expiring after two
// hours, the room (required and indexed, so it can be broadcast to) and the
// user read from the query string, as Connect(Query("room", "lobby"),
// Query("user", "ada")) sends them.
const RoomSpec = `table: Connections
ttl: 2h
fields:
  room:
    expr: query.room
    required: true
    index: true
  user:
    expr: query.user ?? "anonymous"
`
