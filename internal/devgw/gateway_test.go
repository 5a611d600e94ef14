package devgw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9]{15}=$`)

// connectEvent asks the echo handler for the $connect event it received.
func connectEvent(t *testing.T, c *websocket.Conn) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	send(t, c, websocket.MessageText, `{"action":"connect"}`)
	_, ev := readEvent(t, c)
	return ev
}

func TestConnectEvent(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	before := time.Now().UnixMilli()

	t.Run("query string and headers", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h := http.Header{}
		h["x-Custom-CASE"] = []string{"a", "b"} // Go sends map keys as written
		h.Set("User-Agent", "devgw-test/1")
		c, _, err := websocket.Dial(ctx, g.URL()+"?room=r1&tag=x&tag=y", &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		ev := connectEvent(t, c)
		rc := ev.RequestContext
		checks := []struct {
			name      string
			got, want any
		}{
			{"routeKey", rc.RouteKey, "$connect"},
			{"eventType", rc.EventType, "CONNECT"},
			{"messageDirection", rc.MessageDirection, "IN"},
			{"stage", rc.Stage, "local"},
			{"domainName", rc.DomainName, g.Addr()},
			{"identity.sourceIp", rc.Identity.SourceIP, "127.0.0.1"},
			{"identity.userAgent", rc.Identity.UserAgent, "devgw-test/1"},
			{"query room", ev.QueryStringParameters["room"], "r1"},
			{"query tag (last)", ev.QueryStringParameters["tag"], "y"},
			{"multi query tag", strings.Join(ev.MultiValueQueryStringParameters["tag"], ","), "x,y"},
			{"client casing", strings.Join(ev.MultiValueHeaders["x-Custom-CASE"], ","), "a,b"},
			{"header single value (last)", ev.Headers["x-Custom-CASE"], "b"},
			{"Host", ev.Headers["Host"], g.Addr()},
			{"Sec-Websocket-Version (as Go clients send it)", ev.Headers["Sec-Websocket-Version"], "13"},
			{"X-Forwarded-For", ev.Headers["X-Forwarded-For"], "127.0.0.1"},
			{"X-Forwarded-Proto", ev.Headers["X-Forwarded-Proto"], "http"},
			{"isBase64Encoded", ev.IsBase64Encoded, false},
			{"body", ev.Body, ""},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		for _, name := range []string{"Connection", "Upgrade"} {
			if _, ok := ev.Headers[name]; ok {
				t.Errorf("header %s passed to $connect; API Gateway drops it", name)
			}
		}
		if _, ok := ev.Headers["Sec-Websocket-Key"]; !ok {
			t.Errorf("Sec-WebSocket-Key missing from %v", ev.Headers)
		}
		if !strings.HasPrefix(ev.Headers["X-Amzn-Trace-Id"], "Root=1-") {
			t.Errorf("X-Amzn-Trace-Id = %q", ev.Headers["X-Amzn-Trace-Id"])
		}
		for name, id := range map[string]string{"connectionId": rc.ConnectionID, "requestId": rc.RequestID, "extendedRequestId": rc.ExtendedRequestID} {
			if !idRE.MatchString(id) {
				t.Errorf("%s %q is not shaped like API Gateway's", name, id)
			}
		}
		if rc.RequestID != rc.ExtendedRequestID {
			t.Errorf("requestId %q != extendedRequestId %q (equal in AWS's events)", rc.RequestID, rc.ExtendedRequestID)
		}
		if rc.APIID == "" || rc.MessageID != nil {
			t.Errorf("apiId %q messageId %v", rc.APIID, rc.MessageID)
		}
		if rc.ConnectedAt < before || rc.RequestTimeEpoch < rc.ConnectedAt || rc.RequestTimeEpoch > time.Now().UnixMilli() {
			t.Errorf("connectedAt %d requestTimeEpoch %d (test started %d)", rc.ConnectedAt, rc.RequestTimeEpoch, before)
		}
		rt, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.RequestTime)
		if err != nil || rt.Unix() != rc.RequestTimeEpoch/1000 {
			t.Errorf("requestTime %q (%v) does not match requestTimeEpoch %d", rc.RequestTime, err, rc.RequestTimeEpoch)
		}
	})

	t.Run("no query string: maps absent", func(t *testing.T) {
		c := dial(t, g.URL())
		send(t, c, websocket.MessageText, `{"action":"connect"}`)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, raw, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters"} {
			if v, ok := m[k]; ok {
				t.Errorf("%s present: %s", k, v)
			}
		}
	})

	t.Run("stage-less URL", func(t *testing.T) {
		c := dial(t, "ws://"+g.Addr()+"/")
		if ev := connectEvent(t, c); ev.RequestContext.Stage != "local" {
			t.Errorf("stage %q", ev.RequestContext.Stage)
		}
	})
}

func TestPostDuringConnectIsGone(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	c := dial(t, g.URL()+"?selfpost=1")
	ev := connectEvent(t, c)
	if got := ev.StageVariables["selfpostError"]; !strings.Contains(got, "GoneException") {
		t.Errorf("post during $connect: %q, want a GoneException", got)
	}
}

func TestConnectRefused(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	for _, status := range []int{400, 401, 403, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, g.URL()+"?status="+itoa(status), nil)
			if err == nil {
				c.CloseNow()
				t.Fatal("handshake accepted")
			}
			if resp == nil || resp.StatusCode != status {
				t.Fatalf("response %v, err %v; want status %d", resp, err, status)
			}
			if body, _ := io.ReadAll(resp.Body); string(body) != "refused" {
				t.Errorf("body %q, want the handler's body", body)
			}
		})
	}
}

func TestSubprotocolEchoed(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, g.URL()+"?proto=chat.v2", &websocket.DialOptions{Subprotocols: []string{"chat.v1", "chat.v2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := c.Subprotocol(); got != "chat.v2" {
		t.Errorf("subprotocol %q, want the one the handler chose (chat.v2)", got)
	}
}

func TestRouteSelection(t *testing.T) {
	tests := []struct {
		name   string
		cfg    devgw.Config
		body   string
		binary bool
		want   string
	}{
		{"action", devgw.Config{}, `{"action":"join","room":"a"}`, false, "join"},
		{"no action", devgw.Config{}, `{"room":"a"}`, false, "$default"},
		{"not JSON", devgw.Config{}, `hello`, false, "$default"},
		{"JSON array", devgw.Config{}, `["action"]`, false, "$default"},
		{"object action", devgw.Config{}, `{"action":{"x":1}}`, false, "$default"},
		{"reserved key", devgw.Config{}, `{"action":"$disconnect"}`, false, "$default"},
		{"nested expression", devgw.Config{RouteSelection: "${request.body.msg.type}"}, `{"msg":{"type":"say"}}`, false, "say"},
		{"listed route", devgw.Config{Routes: []string{"join"}}, `{"action":"join"}`, false, "join"},
		{"unlisted route", devgw.Config{Routes: []string{"join", "$default"}}, `{"action":"leave"}`, false, "$default"},
		{"number value", devgw.Config{}, `{"action":5}`, false, "$default"},
		{"boolean value", devgw.Config{Routes: []string{"true", "$default"}}, `{"action":true}`, false, "$default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := start(t, tt.cfg)
			c := dial(t, g.URL())
			typ := websocket.MessageText
			if tt.binary {
				typ = websocket.MessageBinary
			}
			send(t, c, typ, tt.body)
			_, ev := readEvent(t, c)
			rc := ev.RequestContext
			if rc.RouteKey != tt.want {
				t.Errorf("routeKey %q, want %q", rc.RouteKey, tt.want)
			}
			if rc.EventType != "MESSAGE" || !idRE.MatchString(asString(rc.MessageID)) {
				t.Errorf("eventType %q messageId %v", rc.EventType, rc.MessageID)
			}
			body := ev.Body
			if tt.binary {
				if !ev.IsBase64Encoded {
					t.Error("binary frame: isBase64Encoded false")
				}
				b, err := base64.StdEncoding.DecodeString(ev.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			} else if ev.IsBase64Encoded {
				t.Error("text frame: isBase64Encoded true")
			}
			if body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
}

func TestMessagesInOrder(t *testing.T) {
	g, _ := start(t, devgw.Config{Concurrency: 3})
	c := dial(t, g.URL())
	const n = 30
	for i := range n {
		send(t, c, websocket.MessageText, `{"seq":`+itoa(i)+`}`)
	}
	for i := range n {
		if _, ev := readEvent(t, c); ev.Body != `{"seq":`+itoa(i)+`}` {
			t.Fatalf("message %d: got %s", i, ev.Body)
		}
	}
}

func TestMessageTooBig(t *testing.T) {
	g, _ := start(t, devgw.Config{NoFrameLimit: true})
	watcher := watch(t, g)
	c := dial(t, g.URL())
	c.SetReadLimit(1 << 20)
	// Exactly 128 KB passes (a JSON string, echoed back inside the event).
	ok := `"` + strings.Repeat("a", devgw.MaxMessageSize-2) + `"`
	send(t, c, websocket.MessageText, ok)
	if _, ev := readEvent(t, c); ev.Body != "len:"+itoa(devgw.MaxMessageSize) {
		t.Fatalf("128 KB message: handler saw %s", ev.Body)
	}
	send(t, c, websocket.MessageText, strings.Repeat("a", devgw.MaxMessageSize+1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v (%v), want 1009", got, err)
	}
	ev := nextDisconnect(t, watcher)
	if ev.RequestContext.DisconnectStatusCode != 1009 {
		t.Errorf("disconnectStatusCode %d, want 1009", ev.RequestContext.DisconnectStatusCode)
	}
}

// watch opens a connection that receives every $disconnect event.
func watch(t *testing.T, g *devgw.Gateway) *websocket.Conn {
	t.Helper()
	w := dial(t, g.URL())
	send(t, w, websocket.MessageText, `{"action":"watch"}`)
	readEvent(t, w) // the echo of the watch message
	return w
}

func nextDisconnect(t *testing.T, watcher *websocket.Conn) events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	_, ev := readEvent(t, watcher)
	if ev.RequestContext.EventType != "DISCONNECT" || ev.RequestContext.RouteKey != "$disconnect" {
		t.Fatalf("watcher got %s %s, want a $disconnect", ev.RequestContext.EventType, ev.RequestContext.RouteKey)
	}
	if ev.RequestContext.DisconnectReason == nil {
		t.Error("disconnectReason missing")
	}
	return ev
}

func TestDisconnect(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	watcher := watch(t, g)
	tests := []struct {
		name  string
		close func(c *websocket.Conn, raw net.Conn)
		want  int64
	}{
		{"normal close", func(c *websocket.Conn, _ net.Conn) { c.Close(websocket.StatusNormalClosure, "bye") }, 1000},
		{"going away", func(c *websocket.Conn, _ net.Conn) { c.Close(websocket.StatusGoingAway, "") }, 1001},
		{"dropped (no close frame)", func(_ *websocket.Conn, raw net.Conn) { raw.Close() }, 1006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, raw := dialRaw(t, g.URL())
			id := connectEvent(t, c).RequestContext.ConnectionID
			tt.close(c, raw)
			ev := nextDisconnect(t, watcher)
			if ev.RequestContext.ConnectionID != id {
				t.Errorf("$disconnect for %s, want %s", ev.RequestContext.ConnectionID, id)
			}
			if ev.RequestContext.DisconnectStatusCode != tt.want {
				t.Errorf("disconnectStatusCode %d, want %d", ev.RequestContext.DisconnectStatusCode, tt.want)
			}
			if ev.Headers["Host"] != g.Addr() {
				t.Errorf("$disconnect Host header %q", ev.Headers["Host"])
			}
		})
	}
}

// dialRaw dials through a dialer that keeps the TCP connection, so a test
// can drop it without a close frame.
func dialRaw(t *testing.T, url string) (*websocket.Conn, net.Conn) {
	t.Helper()
	var raw net.Conn
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		raw = c
		return c, err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, raw
}

func managementClient(g *devgw.Gateway) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(g.ManagementEndpoint()),
	})
}

func TestManagementAPI(t *testing.T) {
	g, _ := start(t, devgw.Config{})
	api := managementClient(g)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watcher := watch(t, g)
	c := dial(t, g.URL())
	id := connectEvent(t, c).RequestContext.ConnectionID

	t.Run("GetConnection", func(t *testing.T) {
		out, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
		if err != nil {
			t.Fatal(err)
		}
		if out.ConnectedAt == nil || time.Since(*out.ConnectedAt) > time.Minute || out.LastActiveAt == nil || out.LastActiveAt.Before(*out.ConnectedAt) {
			t.Errorf("connectedAt %v lastActiveAt %v", out.ConnectedAt, out.LastActiveAt)
		}
		if out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" {
			t.Errorf("identity %+v", out.Identity)
		}
	})
	t.Run("PostToConnection text and binary", func(t *testing.T) {
		for _, tt := range []struct {
			data []byte
			typ  websocket.MessageType
		}{{[]byte("héllo"), websocket.MessageText}, {[]byte{0xff, 0x00, 0xfe}, websocket.MessageBinary}} {
			if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: tt.data}); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.Read(ctx)
			if err != nil || typ != tt.typ || string(got) != string(tt.data) {
				t.Errorf("read %v %q %v, want %v %q", typ, got, err, tt.typ, tt.data)
			}
		}
	})
	t.Run("PostToConnection too large", func(t *testing.T) {
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: make([]byte, devgw.MaxMessageSize+1)})
		var tooLarge *types.PayloadTooLargeException
		if !errors.As(err, &tooLarge) {
			t.Errorf("err %v, want PayloadTooLargeException", err)
		}
	})
	t.Run("DeleteConnection", func(t *testing.T) {
		if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id}); err != nil {
			t.Fatal(err)
		}
		// Gone at once, for GetConnection as for PostToConnection (before
		// the client has even read the close frame).
		var gone *types.GoneException
		if _, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id}); !errors.As(err, &gone) {
			t.Errorf("GetConnection right after DeleteConnection: %v, want GoneException", err)
		}
		if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte("x")}); !errors.As(err, &gone) {
			t.Errorf("PostToConnection right after DeleteConnection: %v, want GoneException", err)
		}
		if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Errorf("client read %v, want close 1000", err)
		}
		if ev := nextDisconnect(t, watcher); ev.RequestContext.ConnectionID != id {
			t.Errorf("$disconnect for %s", ev.RequestContext.ConnectionID)
		}
	})
	t.Run("closed id answers 410", func(t *testing.T) {
		var gone *types.GoneException
		_, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &id, Data: []byte("x")})
		if !errors.As(err, &gone) {
			t.Errorf("post: %v, want GoneException", err)
		}
		_, err = api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
		if !errors.As(err, &gone) {
			t.Errorf("get: %v, want GoneException", err)
		}
		_, err = api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("L0SM9cOFvHcCIhw=")})
		if !errors.As(err, &gone) {
			t.Errorf("delete unknown: %v, want GoneException", err)
		}
	})
	t.Run("raw 410 response", func(t *testing.T) {
		resp, err := signedPost(g.ManagementEndpoint()+"/@connections/"+id, "application/json", "x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if resp.StatusCode != http.StatusGone || resp.Header.Get("X-Amzn-Errortype") != "GoneException" || json.Unmarshal(body, &m) != nil || m["message"] == nil {
			t.Errorf("status %d type %q body %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), body)
		}
	})
}

func TestIdleAndLifetime(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  devgw.Config
	}{
		{"idle timeout", devgw.Config{IdleTimeout: 300 * time.Millisecond}},
		{"max lifetime", devgw.Config{MaxLifetime: 300 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, _ := start(t, tt.cfg)
			c := dial(t, g.URL())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("read %v, want close 1001", err)
			}
		})
	}
}

func TestHandlerFailures(t *testing.T) {
	t.Run("error returned: error frame", func(t *testing.T) {
		g, _ := start(t, devgw.Config{})
		c := dial(t, g.URL())
		send(t, c, websocket.MessageText, `{"action":"fail"}`)
		msg := readJSON(t, c)
		if msg["message"] != "Internal server error" || msg["connectionId"] == nil || msg["requestId"] == nil {
			t.Errorf("error frame %v", msg)
		}
	})
	t.Run("crash in a message: error frame, restart", func(t *testing.T) {
		g, out := start(t, devgw.Config{})
		c := dial(t, g.URL())
		send(t, c, websocket.MessageText, `{"action":"crash"}`)
		if msg := readJSON(t, c); msg["message"] != "Internal server error" {
			t.Errorf("error frame %v", msg)
		}
		send(t, c, websocket.MessageText, `{"action":"after"}`)
		if _, ev := readEvent(t, c); ev.RequestContext.RouteKey != "after" {
			t.Errorf("after restart: route %q", ev.RequestContext.RouteKey)
		}
		if !strings.Contains(out.String(), "[lawcket-dev 1] ") || !strings.Contains(out.String(), "crashing on purpose") ||
			!strings.Contains(out.String(), "crashed during an invocation") {
			t.Errorf("log does not show the crash:\n%s", out)
		}
	})
	t.Run("crash in $connect: 502, restart", func(t *testing.T) {
		g, _ := start(t, devgw.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, g.URL()+"?crash=1", nil)
		if err == nil {
			c.CloseNow()
			t.Fatal("handshake accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("response %v (%v), want 502", resp, err)
		}
		dial(t, g.URL()) // the restarted process accepts
	})
	t.Run("init error: 502 with the message logged", func(t *testing.T) {
		g, out := start(t, devgw.Config{Env: []string{"ECHO_INIT_FAIL=table name missing"}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, g.URL(), nil)
		if err == nil {
			c.CloseNow()
			t.Fatal("handshake accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("response %v (%v), want 502", resp, err)
		}
		if !strings.Contains(out.String(), "INIT ERROR") || !strings.Contains(out.String(), "table name missing") {
			t.Errorf("log does not show the init error:\n%s", out)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer wcancel()
		if err := g.WaitReady(wctx); err == nil || !strings.Contains(err.Error(), "table name missing") {
			t.Errorf("WaitReady: %v", err)
		}
	})
	t.Run("init error reported on the Runtime API", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "initerror")
		if out, err := exec.Command("go", "build", "-o", bin, "./testdata/initerror").CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		g, out := start(t, devgw.Config{Command: []string{bin}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, resp, _ := websocket.Dial(ctx, g.URL(), nil)
		if resp == nil || resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("response %v, want 502", resp)
		}
		if !strings.Contains(out.String(), "Runtime.InitError: cannot read the room table") {
			t.Errorf("log does not show the init error:\n%s", out)
		}
	})
	t.Run("timeout: error frame, process killed and restarted", func(t *testing.T) {
		g, out := start(t, devgw.Config{Timeout: time.Second})
		c := dial(t, g.URL())
		send(t, c, websocket.MessageText, `{"action":"sleep"}`)
		if msg := readJSON(t, c); msg["message"] != "Endpoint request timed out" {
			t.Errorf("error frame %v", msg)
		}
		send(t, c, websocket.MessageText, `{"action":"after"}`)
		if _, ev := readEvent(t, c); ev.RequestContext.RouteKey != "after" {
			t.Errorf("after restart: route %q", ev.RequestContext.RouteKey)
		}
		if !strings.Contains(out.String(), "handler timed out; restarting its process") {
			t.Errorf("log does not show the timeout:\n%s", out)
		}
	})
	t.Run("no process takes the invocation: 504", func(t *testing.T) {
		g, _ := start(t, devgw.Config{Timeout: time.Second, Command: []string{"sh", "-c", "sleep 30"}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, g.URL(), nil)
		if resp == nil || resp.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("response %v (%v), want 504", resp, err)
		}
	})
}

func readJSON(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return m
}

func asString(v any) string { s, _ := v.(string); return s }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  devgw.Config
		want string
	}{
		{"no command", devgw.Config{}, "no handler command"},
		{"command not found", devgw.Config{Command: []string{"./no-such-handler"}}, "handler command"},
		{"bad stage", devgw.Config{Command: []string{"true"}, Stage: "a/b"}, `stage "a/b"`},
		{"bad route selection", devgw.Config{Command: []string{"true"}, RouteSelection: "$request.header.x"}, "want $request.body.NAME"},
		{"bad concurrency", devgw.Config{Command: []string{"true"}, Concurrency: -1}, "concurrency -1"},
		{"negative timeout", devgw.Config{Command: []string{"true"}, IdleTimeout: -time.Second}, "timeouts must be positive"},
		{"static not a dir", devgw.Config{Command: []string{"true"}, StaticDir: "gateway.go"}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := devgw.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestPostToClientThatDoesNotRead: once the client's buffers are full, a post
// that cannot be written in time drops the connection and answers 410.
func TestPostToClientThatDoesNotRead(t *testing.T) {
	defer devgw.SetPostTimeout(200 * time.Millisecond)()
	g, _ := start(t, devgw.Config{})
	watcher := watch(t, g)
	c := dial(t, g.URL())
	id := connectEvent(t, c).RequestContext.ConnectionID
	chunk := strings.Repeat("x", 64<<10)
	url := g.ManagementEndpoint() + "/@connections/" + id
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("128 MB posted to a client that does not read, and still no 410")
		}
		resp, err := signedPost(url, "application/octet-stream", chunk)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusGone {
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("post %d: status %d", i, resp.StatusCode)
		}
	}
	if ev := nextDisconnect(t, watcher); ev.RequestContext.ConnectionID != id || ev.RequestContext.DisconnectStatusCode != 1006 {
		t.Errorf("$disconnect %s %d, want %s 1006", ev.RequestContext.ConnectionID, ev.RequestContext.DisconnectStatusCode, id)
	}
}

// TestHandlerEnvironment: what an unmodified lambda.Start program sees.
func TestHandlerEnvironment(t *testing.T) {
	t.Setenv("AWS_PROFILE", "no-such-profile") // would break the SDK's default config
	t.Setenv("AWS_REGION", "eu-west-3")
	g, _ := start(t, devgw.Config{SpecPath: "testdata/lawcket.yaml", FunctionName: "chat"})
	c := dial(t, g.URL())
	send(t, c, websocket.MessageText, `{"action":"env"}`)
	env := readJSON(t, c)
	spec, _ := filepath.Abs("testdata/lawcket.yaml")
	want := map[string]any{
		"AWS_ENDPOINT_URL_DYNAMODB":       g.DynamoDBEndpoint(),
		"LAWCKET_MANAGEMENT_ENDPOINT":     g.ManagementEndpoint(),
		"LAWCKET_CONFIG":                  spec,
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_REGION":                      "eu-west-3",
		"AWS_LAMBDA_FUNCTION_NAME":        "chat",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"_HANDLER":                        "echo",
		"ctx.functionArn":                 "arn:aws:lambda:eu-west-3:000000000000:function:chat",
		"ctx.deadlineIn":                  "29s",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %v, want %v", k, env[k], v)
		}
	}
	if _, ok := env["AWS_PROFILE"]; ok {
		t.Error("AWS_PROFILE passed to the handler")
	}
	if api, _ := env["AWS_LAMBDA_RUNTIME_API"].(string); !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", api)
	}
	if id, _ := env["ctx.requestId"].(string); len(id) != 36 {
		t.Errorf("request id %q is not a UUID", id)
	}
	if tr, _ := env["ctx.traceId"].(string); !strings.HasPrefix(tr, "Root=1-") {
		t.Errorf("trace id %q", tr)
	}
}

func TestFrameLimit(t *testing.T) {
	g, out := start(t, devgw.Config{Env: []string{"ECHO_LOG_MESSAGES=1"}})
	watcher := watch(t, g)
	c := dial(t, g.URL())
	c.SetReadLimit(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A 32 KB frame passes.
	send(t, c, websocket.MessageText, strings.Repeat("a", devgw.MaxFrameSize))
	if _, ev := readEvent(t, c); len(ev.Body) != devgw.MaxFrameSize {
		t.Fatalf("32 KB frame: handler saw %d bytes", len(ev.Body))
	}
	// A 128 KB message in 32 KB frames passes.
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := w.Write([]byte(strings.Repeat("b", devgw.MaxFrameSize))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ev := readEvent(t, c); ev.Body != "len:"+itoa(devgw.MaxMessageSize) {
		t.Fatalf("128 KB in frames: handler saw %s", ev.Body)
	}
	// One 40 KB frame closes with 1009, and the handler never sees it.
	send(t, c, websocket.MessageText, `{"action":"big","pad":"`+strings.Repeat("c", 40<<10)+`"}`)
	if _, data, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("read %.80q %v, want close 1009", data, err)
	}
	if ev := nextDisconnect(t, watcher); ev.RequestContext.DisconnectStatusCode != 1009 {
		t.Errorf("disconnectStatusCode %d, want 1009", ev.RequestContext.DisconnectStatusCode)
	}
	if strings.Contains(out.String(), `action="big"`) {
		t.Errorf("the oversized frame reached the handler:\n%s", out)
	}
}

// maskedText is one final client text frame carrying payload.
func maskedText(payload string) []byte {
	b := []byte{0x81, 0x80}
	switch n := len(payload); {
	case n < 126:
		b[1] |= byte(n)
	case n <= 0xffff:
		b[1] |= 126
		b = append(b, byte(n>>8), byte(n))
	default:
		b[1] |= 127
		for i := 7; i >= 0; i-- {
			b = append(b, byte(uint64(n)>>(8*i)))
		}
	}
	mask := [4]byte{7, 1, 9, 3}
	b = append(b, mask[:]...)
	for i := range len(payload) {
		b = append(b, payload[i]^mask[i%4])
	}
	return b
}

// TestFrameLimitNotDelivered: a frame over 32 KB is never delivered, even
// when it follows a small message in the same write (one TCP read).
//
// It checks the outcome, not the mechanism: with conn.go's tooBigAt skip
// turned off it still passes (the close started when the frame is seen
// stops the reads before the big message is read). TestFrameLimit is the
// test that fails without the skip.
func TestFrameLimitNotDelivered(t *testing.T) {
	g, out := start(t, devgw.Config{Env: []string{"ECHO_LOG_MESSAGES=1"}})
	watcher := watch(t, g)
	_, raw := dialRaw(t, g.URL())
	var stream []byte
	stream = append(stream, maskedText(`{"action":"first"}`)...)
	stream = append(stream, maskedText(`{"action":"big","pad":"`+strings.Repeat("d", 40<<10)+`"}`)...)
	if _, err := raw.Write(stream); err != nil {
		t.Fatal(err)
	}
	ev := nextDisconnect(t, watcher)
	if ev.RequestContext.DisconnectStatusCode != 1009 {
		t.Errorf("disconnectStatusCode %d, want 1009", ev.RequestContext.DisconnectStatusCode)
	}
	// Messages of one connection are delivered in order: once "after" on
	// the watcher is answered, "first" was handled, and "big" never was.
	send(t, watcher, websocket.MessageText, `{"action":"after"}`)
	readEvent(t, watcher)
	if strings.Contains(out.String(), `action="big"`) {
		t.Errorf("the oversized frame reached the handler:\n%s", out)
	}
}

func TestBinaryFrameCloses1003(t *testing.T) {
	g, out := start(t, devgw.Config{})
	watcher := watch(t, g)
	c := dial(t, g.URL())
	send(t, c, websocket.MessageBinary, `{"action":"join"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		t.Fatalf("read %v, want close 1003", err)
	}
	if ev := nextDisconnect(t, watcher); ev.RequestContext.DisconnectStatusCode != 1003 {
		t.Errorf("disconnectStatusCode %d, want 1003", ev.RequestContext.DisconnectStatusCode)
	}
	if strings.Contains(out.String(), "routeKey=join") || strings.Contains(out.String(), "isBase64Encoded\":true") {
		t.Errorf("the binary frame was delivered:\n%s", out)
	}
}

func TestNoDefaultRoute(t *testing.T) {
	g, _ := start(t, devgw.Config{Routes: []string{"$connect", "$disconnect", "join"}})
	c := dial(t, g.URL())
	for _, body := range []string{`{"action":"nosuchroute"}`, `{"action":5}`, `not json`} {
		send(t, c, websocket.MessageText, body)
		msg := readJSON(t, c)
		if msg["message"] != "Forbidden" || !idRE.MatchString(asString(msg["connectionId"])) || !idRE.MatchString(asString(msg["requestId"])) || len(msg) != 3 {
			t.Errorf("%s: frame %v, want {message: Forbidden, connectionId, requestId}", body, msg)
		}
	}
	send(t, c, websocket.MessageText, `{"action":"join"}`)
	if _, ev := readEvent(t, c); ev.RequestContext.RouteKey != "join" {
		t.Errorf("declared route: %q", ev.RequestContext.RouteKey)
	}
}

func TestRouteResponse(t *testing.T) {
	g, _ := start(t, devgw.Config{Routes: []string{"reply", "other", "$default"}, RouteResponses: []string{"reply", "$default"}})
	c := dial(t, g.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	send(t, c, websocket.MessageText, `{"action":"reply"}`)
	if _, data, err := c.Read(ctx); err != nil || string(data) != "reply to reply" {
		t.Fatalf("route response %q %v, want the returned body", data, err)
	}
	// A route without a route response: the answer is dropped; the next
	// frame is the $default route's response.
	send(t, c, websocket.MessageText, `{"action":"other","x":"reply"}`)
	_, ev := readEvent(t, c) // echo posts the event of "other" (its answer is not sent)
	if ev.RequestContext.RouteKey != "other" {
		t.Fatalf("got %q", ev.RequestContext.RouteKey)
	}
	send(t, c, websocket.MessageText, `{"action":"reply","to":"$default"}`)
	if _, data, err := c.Read(ctx); err != nil || string(data) != "reply to reply" {
		t.Fatalf("route response %q %v", data, err)
	}
	if _, err := devgw.New(devgw.Config{Command: []string{echoBin}, Routes: []string{"a"}, RouteResponses: []string{"b"}}); err == nil {
		t.Error("a route response for an undeclared route was accepted")
	}
}

func TestBeforeConnect(t *testing.T) {
	hook := func(ctx context.Context, r *http.Request, ev *events.APIGatewayWebsocketProxyRequest) error {
		switch r.URL.Query().Get("token") {
		case "":
			return &devgw.Refusal{Status: http.StatusUnauthorized, Message: "Unauthorized"}
		case "deny":
			return &devgw.Refusal{Status: http.StatusForbidden, Message: "Forbidden"}
		case "boom":
			return errors.New("authorizer crashed")
		}
		ev.RequestContext.Authorizer = map[string]any{"principalId": "u1", "role": "admin", "integrationLatency": 3}
		return nil
	}
	g, _ := start(t, devgw.Config{BeforeConnect: hook})
	for token, want := range map[string]int{"": 401, "deny": 403, "boom": 500} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, resp, err := websocket.Dial(ctx, g.URL()+"?token="+token, nil)
		cancel()
		if err == nil || resp == nil || resp.StatusCode != want {
			t.Errorf("token %q: %v %v, want %d", token, resp, err, want)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		if wantBody := map[int]string{401: "Unauthorized", 403: "Forbidden", 500: "Internal server error"}[want]; !strings.Contains(string(body), `"message":"`+wantBody+`"`) {
			t.Errorf("token %q: body %s", token, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialOK := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, g.URL()+"?token=ok", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	watcher := dialOK()
	send(t, watcher, websocket.MessageText, `{"action":"watch"}`)
	readEvent(t, watcher)
	c := dialOK()
	wantAuth := func(what string, ev events.APIGatewayWebsocketProxyRequest) {
		t.Helper()
		a, _ := ev.RequestContext.Authorizer.(map[string]any)
		if a["principalId"] != "u1" || a["role"] != "admin" {
			t.Errorf("%s: requestContext.authorizer %v", what, ev.RequestContext.Authorizer)
		}
	}
	wantAuth("$connect", connectEvent(t, c))
	send(t, c, websocket.MessageText, `{"action":"hello"}`)
	_, ev := readEvent(t, c)
	wantAuth("message", ev)
	c.Close(websocket.StatusNormalClosure, "")
	wantAuth("$disconnect", nextDisconnect(t, watcher))
}
