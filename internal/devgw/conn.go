package devgw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// conn is one established WebSocket connection.
type conn struct {
	g           *Gateway
	id          string
	ws          *websocket.Conn // set under mu before ready is closed
	connectedAt time.Time
	sourceIP    string
	userAgent   string
	domainName  string
	authorizer  any          // requestContext.authorizer, set by Config.BeforeConnect
	lastActive  atomic.Int64 // unix nanoseconds
	// tooBigAt is the index of the first data message with a frame over
	// MaxFrameSize (-1: none). It is set by the frame watcher before the
	// WebSocket reader can return that message, so it is never delivered.
	tooBigAt atomic.Int64

	ready chan struct{} // closed once the handshake is done (ws set, or failed)

	mu         sync.Mutex
	idle       *time.Timer
	serverCode int // set when the gateway closes the connection
	serverWhy  string
	writeMu    sync.Mutex // one writer at a time, in post order
}

// hopHeaders are handshake headers API Gateway does not pass to $connect.
var hopHeaders = map[string]bool{"Connection": true, "Upgrade": true}

// serveWebSocket runs $connect, then the connection's life.
func (g *Gateway) serveWebSocket(w http.ResponseWriter, r *http.Request, names map[string]string) {
	now := time.Now()
	c := &conn{
		g:           g,
		id:          newID(),
		connectedAt: now,
		sourceIP:    remoteIP(r),
		userAgent:   r.UserAgent(),
		domainName:  r.Host,
	}
	c.tooBigAt.Store(-1)
	ev := events.APIGatewayWebsocketProxyRequest{
		RequestContext: c.requestContext("$connect", "CONNECT", now),
	}
	ev.Headers, ev.MultiValueHeaders = g.connectHeaders(r, names)
	if r.URL.RawQuery != "" {
		q, _ := url.ParseQuery(r.URL.RawQuery) // like API Gateway, keep what parses
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = make(map[string][]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}

	if hook := g.cfg.BeforeConnect; hook != nil {
		if err := hook(r.Context(), r, &ev); err != nil {
			var ref *Refusal
			if !errors.As(err, &ref) {
				ref = &Refusal{Status: http.StatusInternalServerError, Message: "Internal server error", Err: err}
			}
			g.log.Info("handshake refused before $connect", "connectionId", c.id, "status", ref.Status, "err", err)
			writeJSONError(w, ref.Status, "", ref.Message)
			return
		}
		c.authorizer = ev.RequestContext.Authorizer
	}

	resp, _, err := g.invokeEvent(r.Context(), &ev)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, runtimeapi.ErrTimeout) {
			status = http.StatusGatewayTimeout
		}
		g.log.Error("$connect failed; refusing the handshake", "connectionId", c.id, "status", status, "err", err)
		writeJSONError(w, status, "", "Internal server error")
		return
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status > 299 {
		g.log.Info("$connect refused by the handler", "connectionId", c.id, "status", status)
		body := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
				body = b
			}
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify: true, // Origin was checked by ServeHTTP (checkOrigin)
		CompressionMode:    websocket.CompressionDisabled,
	}
	if proto := responseHeader(resp, "Sec-WebSocket-Protocol"); proto != "" {
		opts.Subprotocols = []string{proto}
	}
	// Register before the 101 goes out: a client may call the Management API
	// the moment its handshake completes. Lookups wait for c.ready.
	c.ready = make(chan struct{})
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		g.log.Info("refusing a handshake: the gateway is shutting down", "connectionId", c.id)
		writeJSONError(w, http.StatusGone, "", "Going away")
		g.disconnect(c, 1001, "Going away")
		return
	}
	g.conns[c.id] = c
	g.connWG.Add(1)
	g.mu.Unlock()
	defer g.connWG.Done()

	ws, err := websocket.Accept(w, r, opts)
	if err != nil {
		g.mu.Lock()
		delete(g.conns, c.id)
		g.mu.Unlock()
		close(c.ready)
		g.log.Warn("WebSocket handshake failed after $connect", "connectionId", c.id, "err", err)
		g.disconnect(c, 1006, "Handshake failed")
		return
	}
	c.lastActive.Store(time.Now().UnixNano())
	c.mu.Lock()
	c.ws = ws
	code, why := c.serverCode, c.serverWhy // closed while the handshake completed
	c.mu.Unlock()
	close(c.ready)
	if code != 0 {
		go ws.Close(websocket.StatusCode(code), why)
	}
	if !g.cfg.NoFrameLimit {
		tooBig := func(size, message uint64) {
			c.tooBigAt.Store(int64(message))
			g.log.Warn("frame over 32 KB (API Gateway's frame limit): closing with 1009; its message is not delivered", "connectionId", c.id, "frameBytes", size)
			c.closeByServer(int(websocket.StatusMessageTooBig), "Message too big")
		}
		if !watchFrames(r, MaxFrameSize, tooBig) {
			g.log.Warn("frame limit not enforced on this connection (not the first request of its TCP connection)", "connectionId", c.id)
		}
	}
	g.log.Info("connected", "connectionId", c.id, "sourceIp", c.sourceIP, "query", r.URL.RawQuery)
	g.noteRows("$connect " + c.id)
	c.run()
}

// run reads the connection's messages in order until it closes, then sends
// $disconnect.
func (c *conn) run() {
	g := c.g
	c.ws.SetReadLimit(MaxMessageSize)
	c.mu.Lock()
	c.idle = time.AfterFunc(g.cfg.IdleTimeout, func() { c.closeByServer(1001, "Going away") })
	c.mu.Unlock()
	life := time.AfterFunc(g.cfg.MaxLifetime, func() { c.closeByServer(1001, "Going away") })

	var code int
	var reason string
	for n := int64(0); ; n++ {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			code, reason = c.closeInfo(err)
			break
		}
		if at := c.tooBigAt.Load(); at >= 0 && n >= at {
			continue // a frame over 32 KB: closing with 1009, never delivered
		}
		if typ == websocket.MessageBinary {
			// API Gateway does not accept binary frames: it closes with 1003.
			g.log.Warn("binary frame: closing with 1003 (API Gateway accepts text frames only)", "connectionId", c.id, "bytes", len(data))
			c.closeByServer(int(websocket.StatusUnsupportedData), "Binary frames are not supported")
			continue // the read loop ends with the close handshake
		}
		c.touch()
		g.deliver(c, data)
	}
	life.Stop()
	c.mu.Lock()
	c.idle.Stop()
	c.mu.Unlock()
	g.mu.Lock()
	delete(g.conns, c.id)
	g.mu.Unlock()
	c.ws.CloseNow()
	g.disconnect(c, code, reason)
}

// deliver invokes the route of one text message and, for a route with a
// route response, sends the function's answer back.
func (g *Gateway) deliver(c *conn, data []byte) {
	now := time.Now()
	key, ok := g.route.routeKey(data)
	ev := events.APIGatewayWebsocketProxyRequest{
		RequestContext: c.requestContext(key, "MESSAGE", now),
		Body:           string(data),
	}
	ev.RequestContext.MessageID = newID()
	if !ok {
		// No route and no $default route: API Gateway answers in a frame.
		g.log.Warn("no route for the message and no $default route: answering Forbidden", "connectionId", c.id, "bytes", len(data))
		c.write(context.Background(), errorFrame("Forbidden", c.id, ev.RequestContext.RequestID))
		return
	}
	g.log.Debug("message", "connectionId", c.id, "routeKey", key, "bytes", len(data))
	resp, raw, err := g.invokeEvent(context.Background(), &ev)
	if err != nil {
		g.log.Error("message route failed", "connectionId", c.id, "routeKey", key, "err", err)
		// API Gateway tells the client in a frame of its own.
		msg := "Internal server error"
		if errors.Is(err, runtimeapi.ErrTimeout) {
			msg = "Endpoint request timed out"
		}
		c.write(context.Background(), errorFrame(msg, c.id, ev.RequestContext.RequestID))
		return
	}
	if !g.route.hasResponse(key) {
		return // without a route response, API Gateway drops the answer
	}
	body := routeResponseBody(resp, raw)
	if len(body) == 0 {
		return
	}
	if err := c.write(context.Background(), body); err != nil {
		g.log.Warn("route response not sent", "connectionId", c.id, "routeKey", key, "err", err)
	}
}

// routeResponseBody is what a route response sends: the proxy response's
// body (decoded when isBase64Encoded), or the answer itself when it is not
// a proxy response (a JSON string is sent as its text).
func routeResponseBody(resp events.APIGatewayProxyResponse, raw []byte) []byte {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0 || string(trimmed) == "null":
		return nil
	case trimmed[0] == '{':
		if resp.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
				return b
			}
		}
		return []byte(resp.Body)
	case trimmed[0] == '"':
		var s string
		if json.Unmarshal(trimmed, &s) == nil {
			return []byte(s)
		}
	}
	return trimmed
}

// errorFrame is the frame API Gateway sends a client when a message
// cannot be delivered: {"message": ..., "connectionId": ..., "requestId": ...}.
func errorFrame(msg, connectionID, requestID string) []byte {
	frame, _ := json.Marshal(struct {
		Message      string `json:"message"`
		ConnectionID string `json:"connectionId"`
		RequestID    string `json:"requestId"`
	}{msg, connectionID, requestID})
	return frame
}

// disconnect sends $disconnect for c.
func (g *Gateway) disconnect(c *conn, code int, reason string) {
	now := time.Now()
	ev := events.APIGatewayWebsocketProxyRequest{
		RequestContext: c.requestContext("$disconnect", "DISCONNECT", now),
	}
	g.log.Info("disconnected", "connectionId", c.id, "disconnectStatusCode", code, "disconnectReason", reason)
	ev.RequestContext.DisconnectStatusCode = int64(code)
	ev.RequestContext.DisconnectReason = &reason
	// The few headers API Gateway sends with $disconnect.
	ev.Headers = map[string]string{"Host": c.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev.MultiValueHeaders = map[string][]string{"Host": {c.domainName}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
	if _, _, err := g.invokeEvent(context.Background(), &ev); err != nil {
		g.log.Error("$disconnect failed", "connectionId", c.id, "err", err)
	}
	g.noteRows("$disconnect " + c.id)
}

// invokeEvent runs ev through a handler process and decodes its proxy
// response; out is the function's answer as returned.
func (g *Gateway) invokeEvent(ctx context.Context, ev *events.APIGatewayWebsocketProxyRequest) (resp events.APIGatewayProxyResponse, out []byte, err error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return resp, nil, fmt.Errorf("devgw: encode event: %w", err)
	}
	fn := g.function(ev.RequestContext.RouteKey)
	if fn == nil {
		return resp, nil, nil // a route without an integration: as a 200 with no body
	}
	out, err = fn.Invoke(ctx, payload)
	if err != nil {
		return resp, nil, err
	}
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return resp, out, nil // no proxy response: API Gateway treats it as 200
	}
	if trimmed[0] != '{' {
		// A non-object answer (a string, a number) is not a proxy response.
		return resp, out, nil
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, out, fmt.Errorf("%w: malformed Lambda proxy response: %v", runtimeapi.ErrFunction, err)
	}
	return resp, out, nil
}

// requestContext is the requestContext shared by every event of c.
func (c *conn) requestContext(routeKey, eventType string, now time.Time) events.APIGatewayWebsocketProxyRequestContext {
	g := c.g
	id := newID() // requestId and extendedRequestId are equal in AWS's events
	return events.APIGatewayWebsocketProxyRequestContext{
		RouteKey:          routeKey,
		EventType:         eventType,
		ExtendedRequestID: id,
		RequestTime:       now.UTC().Format(requestTimeFormat),
		MessageDirection:  "IN",
		Stage:             g.cfg.Stage,
		ConnectedAt:       c.connectedAt.UnixMilli(),
		RequestTimeEpoch:  now.UnixMilli(),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		RequestID:         id,
		DomainName:        c.domainName,
		ConnectionID:      c.id,
		APIID:             g.cfg.APIID,
		Authorizer:        c.authorizer,
	}
}

// connectHeaders are $connect's headers: the handshake's, in the client's
// casing when known, plus those API Gateway adds.
func (g *Gateway) connectHeaders(r *http.Request, names map[string]string) (map[string]string, map[string][]string) {
	single := make(map[string]string, len(r.Header)+5)
	multi := make(map[string][]string, len(r.Header)+5)
	name := func(canon string) string {
		if n, ok := names[canon]; ok {
			return n
		}
		return canon
	}
	set := func(k string, vs []string) {
		single[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	set(name("Host"), []string{r.Host})
	for k, vs := range r.Header {
		if hopHeaders[k] || len(vs) == 0 {
			continue
		}
		set(name(k), vs)
	}
	_, port, _ := net.SplitHostPort(g.Addr())
	xff := forwardedFor(r)
	set(name("X-Forwarded-For"), []string{xff})
	set(name("X-Forwarded-Port"), []string{port})
	set(name("X-Forwarded-Proto"), []string{"http"})
	set(name("X-Amzn-Trace-Id"), []string{"Root=" + runtimeapi.TraceRoot()})
	return single, multi
}

// forwardedFor is X-Forwarded-For with the client's address appended.
func forwardedFor(r *http.Request) string {
	ip := remoteIP(r)
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		return strings.Join(prev, ", ") + ", " + ip
	}
	return ip
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// responseHeader looks a header up in a proxy response, ignoring case.
func responseHeader(resp events.APIGatewayProxyResponse, name string) string {
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// touch records traffic: it sets LastActiveAt and restarts the idle timer.
func (c *conn) touch() {
	c.lastActive.Store(time.Now().UnixNano())
	c.mu.Lock()
	if c.idle != nil {
		c.idle.Reset(c.g.cfg.IdleTimeout)
	}
	c.mu.Unlock()
}

// closeByServer closes the connection with code (1006: drops it without a
// close frame); the first reason wins.
func (c *conn) closeByServer(code int, reason string) {
	c.mu.Lock()
	first := c.serverCode == 0
	if first {
		c.serverCode, c.serverWhy = code, reason
	}
	ws := c.ws // nil while the handshake completes: it closes with serverCode then
	c.mu.Unlock()
	switch {
	case !first || ws == nil:
	case code == int(websocket.StatusAbnormalClosure): // 1006 is never sent in a frame
		ws.CloseNow()
	default:
		go ws.Close(websocket.StatusCode(code), reason)
	}
}

// closeInfo is the disconnectStatusCode and disconnectReason for the error
// that ended the read loop.
func (c *conn) closeInfo(err error) (int, string) {
	c.mu.Lock()
	code, why := c.serverCode, c.serverWhy
	c.mu.Unlock()
	if code != 0 {
		return code, why
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return int(websocket.StatusMessageTooBig), "Message too big"
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		switch {
		case ce.Code == websocket.StatusNoStatusRcvd:
			return 1005, "Client-side close frame status not set"
		case ce.Reason != "":
			return int(ce.Code), ce.Reason
		default:
			return int(ce.Code), ""
		}
	}
	return 1006, "Connection closed abnormally"
}

// write sends one message to the client: a text frame when data is valid
// UTF-8, else a binary frame.
func (c *conn) write(ctx context.Context, data []byte) error {
	typ := websocket.MessageText
	if !utf8.Valid(data) {
		typ = websocket.MessageBinary
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.Write(ctx, typ, data)
}
