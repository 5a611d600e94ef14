package lawcket_test

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/lawckettest"
)

//go:embed testdata/events
var fixtures embed.FS

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fixtures.ReadFile(path.Join("testdata/events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invoke drives raw through the real Lambda JSON path
// (lambda.NewHandler(...).Invoke) and returns the response the App built
// (Lambda drops it when the handler returns an error, so it is captured)
// and the Go error Lambda would report.
func invoke(t testing.TB, a *lawcket.App, raw []byte) (events.APIGatewayProxyResponse, error) {
	t.Helper()
	h := a.Handler()
	var captured events.APIGatewayProxyResponse
	out, err := lambda.NewHandler(func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		resp, err := h(ctx, req)
		captured = resp
		return resp, err
	}).Invoke(context.Background(), raw)
	if err != nil {
		return captured, err
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, out)
	}
	return resp, nil
}

// quietLogger records log output for assertions.
func quietLogger() (*slog.Logger, *logBuffer) {
	var buf logBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// logBuffer collects a text log written from several goroutines.
type logBuffer struct{ testsupport.SyncBuffer }

// String returns the log with the text handler's quote escapes undone.
func (b *logBuffer) String() string {
	return strings.ReplaceAll(b.SyncBuffer.String(), `\"`, `"`)
}

func TestFixtures(t *testing.T) {
	type seen struct {
		handler string
		ev      *lawcket.Event
	}
	tests := []struct {
		file    string
		handler string
		check   func(t *testing.T, ev *lawcket.Event)
	}{
		{"connect.json", "connect", func(t *testing.T, ev *lawcket.Event) {
			want := lawcket.Connection{
				ID: "BQ1a2ecXDoECJQg=", DomainName: "abc123def4.execute-api.eu-west-1.amazonaws.com",
				Stage: "prod", APIID: "abc123def4", ConnectedAt: time.UnixMilli(1731324924553).UTC(),
				SourceIP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) lawcket-test",
			}
			if ev.Connection != want {
				t.Errorf("Connection = %+v, want %+v", ev.Connection, want)
			}
			if ev.Type != lawcket.Connect || ev.RouteKey != "$connect" {
				t.Errorf("Type, RouteKey = %v, %q", ev.Type, ev.RouteKey)
			}
			if got := ev.Query("room"); got != "lobby" {
				t.Errorf(`Query("room") = %q`, got)
			}
			if got := ev.Query("ROOM"); got != "" {
				t.Errorf(`Query("ROOM") = %q, want "" (query names are case-sensitive)`, got)
			}
			if got := ev.Header("sec-websocket-version"); got != "13" {
				t.Errorf(`Header("sec-websocket-version") = %q`, got)
			}
			if got := ev.Header("X-Missing"); got != "" {
				t.Errorf(`Header("X-Missing") = %q`, got)
			}
			if got := ev.HeaderValues("x-forwarded-for"); !slices.Equal(got, []string{"203.0.113.7"}) {
				t.Errorf(`HeaderValues("x-forwarded-for") = %q`, got)
			}
			if ev.Body != nil || ev.Subprotocols() != nil || ev.Authorizer() != nil {
				t.Errorf("Body = %q, Subprotocols = %q; want none", ev.Body, ev.Subprotocols())
			}
		}},
		{"connect-no-query.json", "connect", func(t *testing.T, ev *lawcket.Event) {
			if ev.Request.QueryStringParameters != nil || ev.Request.MultiValueQueryStringParameters != nil {
				t.Errorf("query maps = %v, %v; want nil (key absent)", ev.Request.QueryStringParameters, ev.Request.MultiValueQueryStringParameters)
			}
			if got := ev.Query("room"); got != "" {
				t.Errorf(`Query("room") = %q, want ""`, got)
			}
		}},
		{"connect-authorizer.json", "connect", func(t *testing.T, ev *lawcket.Event) {
			auth := ev.Authorizer()
			if auth["principalId"] != "user-42" || auth["userId"] != "42" || auth["admin"] != "true" {
				t.Errorf("Authorizer = %v", auth)
			}
			if got := ev.Query("token"); got != "tok-123" {
				t.Errorf(`Query("token") = %q`, got)
			}
		}},
		{"connect-subprotocol.json", "connect", func(t *testing.T, ev *lawcket.Event) {
			if got := ev.Subprotocols(); !slices.Equal(got, []string{"lawcket.v2", "chat.v1"}) {
				t.Errorf("Subprotocols = %q", got)
			}
		}},
		{"message-default.json", "message", func(t *testing.T, ev *lawcket.Event) {
			if ev.Type != lawcket.Message || ev.RouteKey != "$default" || string(ev.Body) != "hello" {
				t.Errorf("Type, RouteKey, Body = %v, %q, %q", ev.Type, ev.RouteKey, ev.Body)
			}
		}},
		{"message-route.json", "send", func(t *testing.T, ev *lawcket.Event) {
			var msg struct{ Action, Room, Text string }
			if err := ev.DecodeJSON(&msg); err != nil {
				t.Fatal(err)
			}
			if msg.Action != "send" || msg.Room != "lobby" || msg.Text != "hi there" {
				t.Errorf("decoded %+v", msg)
			}
		}},
		{"message-base64.json", "message", func(t *testing.T, ev *lawcket.Event) {
			if want := []byte{0, 1, 2, 0xfe, 0xff, 'b', 'i', 'n'}; !bytes.Equal(ev.Body, want) {
				t.Errorf("Body = %v, want %v", ev.Body, want)
			}
		}},
		{"disconnect.json", "close", func(t *testing.T, ev *lawcket.Event) {
			rc := ev.Request.RequestContext
			if ev.Type != lawcket.Close || rc.DisconnectStatusCode != 1001 || rc.DisconnectReason == nil || *rc.DisconnectReason != "Going away" {
				t.Errorf("Type %v, disconnect %d %v", ev.Type, rc.DisconnectStatusCode, rc.DisconnectReason)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got []seen
			record := func(name string) lawcket.HandlerFunc {
				return func(ctx context.Context, ev *lawcket.Event) error {
					got = append(got, seen{name, ev})
					return nil
				}
			}
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log))
			a.On(lawcket.Connect, record("connect"))
			a.On(lawcket.Message, record("message"))
			a.On(lawcket.Close, record("close"))
			a.Route("send", record("send"))
			resp, err := invoke(t, a, fixture(t, tt.file))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d %q, %v; want 200", resp.StatusCode, resp.Body, err)
			}
			if len(got) != 1 || got[0].handler != tt.handler {
				t.Fatalf("handlers run: %v, want %s once", got, tt.handler)
			}
			tt.check(t, got[0].ev)
		})
	}
}

func TestEventTypeString(t *testing.T) {
	for typ, want := range map[lawcket.EventType]string{lawcket.Connect: "connect", lawcket.Message: "message", lawcket.Close: "close", 0: "EventType(0)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(typ), got, want)
		}
	}
}

func TestRouting(t *testing.T) {
	var ran []string
	h := func(name string) lawcket.HandlerFunc {
		return func(context.Context, *lawcket.Event) error { ran = append(ran, name); return nil }
	}
	tests := []struct {
		name      string
		setup     func(a *lawcket.App)
		file      string
		status    int
		ran       []string
		bodyMatch string
	}{
		{"custom route falls back to Message", func(a *lawcket.App) { a.On(lawcket.Message, h("message")) }, "message-route.json", 200, []string{"message"}, ""},
		{"custom route has its handler", func(a *lawcket.App) { a.On(lawcket.Message, h("message")); a.Route("send", h("send")) }, "message-route.json", 200, []string{"send"}, ""},
		{"$default can be routed too", func(a *lawcket.App) { a.On(lawcket.Message, h("message")); a.Route("$default", h("default")) }, "message-default.json", 200, []string{"default"}, ""},
		{"no handler for a route is 404", func(a *lawcket.App) { a.Route("other", h("other")) }, "message-route.json", 404, nil, `no handler for route "send"`},
		{"connect without handler is 200", func(a *lawcket.App) {}, "connect.json", 200, nil, ""},
		{"close without handler is 200", func(a *lawcket.App) {}, "disconnect.json", 200, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran = nil
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log))
			tt.setup(a)
			resp, err := invoke(t, a, fixture(t, tt.file))
			if err != nil {
				t.Fatalf("Go error %v, want none", err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(resp.Body, tt.bodyMatch) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, resp.Body, tt.status, tt.bodyMatch)
			}
			if !slices.Equal(ran, tt.ran) {
				t.Errorf("ran %v, want %v", ran, tt.ran)
			}
		})
	}
}

func TestMalformedInput(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"invalid/no-request-context.json", "requestContext is missing"},
		{"invalid/unknown-event-type.json", `unknown requestContext.eventType "RECONNECT"`},
		{"invalid/no-connection-id.json", "requestContext.connectionId is missing"},
		{"invalid/invalid-base64.json", "not valid base64"},
		{"invalid/message-not-json.json", "body is not valid JSON: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			log, logs := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log))
			ran := false
			a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
				ran = true
				var v map[string]any
				return ev.DecodeJSON(&v) // returned as-is: a 400 Rejection
			})
			resp, err := invoke(t, a, fixture(t, tt.file))
			if err != nil {
				t.Fatalf("Go error %v, want none (a refusal is not a fault)", err)
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, tt.want) {
				t.Errorf("got %d %q, want 400 containing %q", resp.StatusCode, resp.Body, tt.want)
			}
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log does not mention %q:\n%s", tt.want, logs)
			}
			if ran != strings.Contains(tt.file, "not-json") {
				t.Errorf("handler ran = %v", ran)
			}
		})
	}
	t.Run("empty object", func(t *testing.T) {
		log, _ := quietLogger()
		resp, err := invoke(t, lawcket.New(lawcket.WithLogger(log)), []byte(`{}`))
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d, %v; want 400", resp.StatusCode, err)
		}
	})
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		body string
		want string // "" = success
	}{
		{`{"a":1}`, ""},
		{"  ", "body is empty"},
		{`not json`, "invalid character 'o'"},
		{`{"a":1} {"b":2}`, "unexpected data after the JSON value"},
		{`{"a":"x"}`, "cannot unmarshal string"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			ev := &lawcket.Event{Body: []byte(tt.body)}
			var v struct{ A int }
			err := ev.DecodeJSON(&v)
			if tt.want == "" {
				if err != nil || v.A != 1 {
					t.Fatalf("got %v, %+v", err, v)
				}
				return
			}
			var rej *lawcket.Rejection
			if !errors.As(err, &rej) || rej.Status != 400 || !strings.Contains(rej.Reason, tt.want) {
				t.Fatalf("err = %v, want a 400 Rejection containing %q", err, tt.want)
			}
		})
	}
	var syn *json.SyntaxError
	if err := (&lawcket.Event{Body: []byte("nope")}).DecodeJSON(new(any)); !errors.As(err, &syn) {
		t.Errorf("the decoder's error is not reachable: %v", err)
	}
}

// recorder notes which hooks and handlers ran, safely across goroutines.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	r.ran = append(r.ran, s)
	r.mu.Unlock()
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ran)
}

func (r *recorder) handler(name string, err error) lawcket.HandlerFunc {
	return func(context.Context, *lawcket.Event) error { r.note(name); return err }
}

// plugin is a test plugin with all three hooks.
type plugin struct {
	name                  string
	rec                   *recorder
	connect, msg, closeFn func(ctx context.Context) error
}

func (p *plugin) Name() string { return p.name }
func (p *plugin) call(ctx context.Context, hook string, fn func(context.Context) error) error {
	p.rec.note(p.name + "." + hook)
	if fn != nil {
		return fn(ctx)
	}
	return nil
}
func (p *plugin) OnConnect(ctx context.Context, ev *lawcket.Event) error {
	return p.call(ctx, "connect", p.connect)
}
func (p *plugin) OnMessage(ctx context.Context, ev *lawcket.Event) error {
	return p.call(ctx, "message", p.msg)
}
func (p *plugin) OnClose(ctx context.Context, ev *lawcket.Event) error {
	return p.call(ctx, "close", p.closeFn)
}

func TestMiddlewareRejectOnConnect(t *testing.T) {
	rec := &recorder{}
	auth := func(next lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
			if ev.Type == lawcket.Connect && ev.Query("token") != "secret" {
				return lawcket.Reject(http.StatusUnauthorized, "missing or bad token")
			}
			return next.ServeEvent(ctx, ev)
		})
	}
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithMiddleware(auth),
		lawcket.WithPlugins(&plugin{name: "sync", rec: rec}))
	a.On(lawcket.Connect, rec.handler("handler", nil))
	resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
	if err != nil {
		t.Fatalf("Go error %v; a refusal must not count as a Lambda error", err)
	}
	if resp.StatusCode != http.StatusUnauthorized || resp.Body != "missing or bad token" {
		t.Errorf("got %d %q, want 401 with the reason", resp.StatusCode, resp.Body)
	}
	if got := rec.list(); len(got) != 0 {
		t.Errorf("ran %v, want neither plugins nor handler", got)
	}
}

func TestMiddlewareOrderAndChanges(t *testing.T) {
	rec := &recorder{}
	mw := func(name string) lawcket.Middleware {
		return func(next lawcket.Handler) lawcket.Handler {
			return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
				rec.note(name + ">")
				err := next.ServeEvent(ctx, ev)
				rec.note("<" + name)
				return err
			})
		}
	}
	reroute := func(next lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
			copied := *ev // a copy keeps the invocation state
			copied.RouteKey = "send"
			copied.Body = []byte("rewritten")
			return next.ServeEvent(ctx, &copied)
		})
	}
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithMiddleware(mw("outer"), mw("inner"), reroute),
		lawcket.WithPlugins(&plugin{name: "p", rec: rec}))
	a.Route("send", func(ctx context.Context, ev *lawcket.Event) error {
		rec.note("send:" + string(ev.Body))
		return nil
	})
	resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d, %v", resp.StatusCode, err)
	}
	want := []string{"outer>", "inner>", "p.message", "send:rewritten", "<inner", "<outer"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestConnectPlugins(t *testing.T) {
	boom := errors.New("table unavailable")
	tests := []struct {
		name     string
		connectA func(context.Context) error
		status   int
		goErr    bool
		body     string
	}{
		{"plugin fault refuses with 500", func(context.Context) error { return boom }, 500, true, "Internal Server Error"},
		{"plugin rejection keeps its status", func(context.Context) error {
			return lawcket.Reject(400, `field "room": query parameter room is required`)
		}, 400, false, `field "room": query parameter room is required`},
		{"plugin panic is a fault", func(context.Context) error { panic("nil map") }, 500, true, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			log, logs := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(
				&plugin{name: "a", rec: rec, connect: tt.connectA},
				&plugin{name: "b", rec: rec},
			))
			a.On(lawcket.Connect, rec.handler("handler", nil))
			resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
			if resp.StatusCode != tt.status || resp.Body != tt.body || (err != nil) != tt.goErr {
				t.Fatalf("got %d %q, %v; want %d %q, Go error %v", resp.StatusCode, resp.Body, err, tt.status, tt.body, tt.goErr)
			}
			got := rec.list()
			if slices.Contains(got, "handler") {
				t.Errorf("handler ran after a failing plugin: %v", got)
			}
			// b stored its state; the refused connect is undone for b only.
			if !slices.Contains(got, "b.close") || slices.Contains(got, "a.close") {
				t.Errorf("rollback: ran %v, want b.close and not a.close", got)
			}
			if tt.goErr && !strings.Contains(logs.String(), `plugin "a"`) {
				t.Errorf("log does not name the plugin:\n%s", logs)
			}
		})
	}
	t.Run("handler failure undoes the plugins", func(t *testing.T) {
		rec := &recorder{}
		log, _ := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(&plugin{name: "a", rec: rec}))
		a.On(lawcket.Connect, rec.handler("handler", lawcket.Reject(403, "room full")))
		resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
		if err != nil || resp.StatusCode != 403 {
			t.Fatalf("got %d, %v; want 403", resp.StatusCode, err)
		}
		if want := []string{"a.connect", "handler", "a.close"}; !slices.Equal(rec.list(), want) {
			t.Errorf("ran %v, want %v", rec.list(), want)
		}
	})
	t.Run("only plugins with OnClose are undone", func(t *testing.T) {
		rec := &recorder{}
		log, _ := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(
			connectOnly{&plugin{name: "a", rec: rec}}, &plugin{name: "b", rec: rec}))
		a.On(lawcket.Connect, rec.handler("handler", lawcket.Reject(403, "room full")))
		if resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby")))); err != nil || resp.StatusCode != 403 {
			t.Fatalf("got %d, %v; want 403", resp.StatusCode, err)
		}
		got := rec.list()
		slices.Sort(got) // the connect hooks run concurrently
		if want := []string{"a.connect", "b.close", "b.connect", "handler"}; !slices.Equal(got, want) {
			t.Errorf("ran %v, want %v", got, want)
		}
	})
	t.Run("a failing undo is logged", func(t *testing.T) {
		rec := &recorder{}
		log, logs := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(
			&plugin{name: "a", rec: rec, closeFn: func(context.Context) error { return boom }}))
		a.On(lawcket.Connect, rec.handler("handler", lawcket.Reject(403, "room full")))
		if resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby")))); err != nil || resp.StatusCode != 403 {
			t.Fatalf("got %d, %v; want 403", resp.StatusCode, err)
		}
		if !strings.Contains(logs.String(), `undoing a refused connect failed`) || !strings.Contains(logs.String(), `plugin "a" on connect: table unavailable`) {
			t.Errorf("failed undo not logged:\n%s", logs)
		}
	})
}

// connectOnly hides every hook of p but OnConnect.
type connectOnly struct{ p *plugin }

func (c connectOnly) Name() string { return c.p.name }
func (c connectOnly) OnConnect(ctx context.Context, ev *lawcket.Event) error {
	return c.p.OnConnect(ctx, ev)
}

// TestPanics checks that a panic anywhere in the pipeline is a fault whose
// error and log say where it happened.
func TestPanics(t *testing.T) {
	boom := func(context.Context) error { panic("boom") }
	handler := func(context.Context, *lawcket.Event) error { panic("boom") }
	panicking := lawcket.WithMiddleware(func(lawcket.Handler) lawcket.Handler { return lawcket.HandlerFunc(handler) })
	tests := []struct {
		name, fixture string
		opt           lawcket.Option
		on            lawcket.EventType
		in, want      string // the log's in attribute, the error
	}{
		{"middleware", "message-default.json", panicking, 0, "in=middleware", "lawcket: panic in middleware: boom"},
		{"connect handler", "connect.json", nil, lawcket.Connect, `in="connect handler"`, "lawcket: connect handler: lawcket: panic in connect handler: boom"},
		{"message handler", "message-default.json", nil, lawcket.Message, `in="message handler"`, "lawcket: message handler: lawcket: panic in message handler: boom"},
		{"close handler", "disconnect.json", nil, lawcket.Close, `in="close handler"`, "lawcket: close handler: lawcket: panic in close handler: boom"},
		{"connect plugin", "connect.json", lawcket.WithPlugins(&plugin{name: "p", rec: &recorder{}, connect: boom}), 0, `in="plugin p"`, `lawcket: plugin "p" on connect: lawcket: panic in plugin p: boom`},
		{"message plugin", "message-default.json", lawcket.WithPlugins(&plugin{name: "p", rec: &recorder{}, msg: boom}), 0, `in="plugin p"`, `lawcket: plugin "p" on message: lawcket: panic in plugin p: boom`},
		{"close plugin", "disconnect.json", lawcket.WithPlugins(&plugin{name: "p", rec: &recorder{}, closeFn: boom}), 0, `in="plugin p"`, `lawcket: plugin "p" on close: lawcket: panic in plugin p: boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := quietLogger()
			opts := []lawcket.Option{lawcket.WithLogger(log)}
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			a := lawcket.New(opts...)
			if tt.on != 0 {
				a.On(tt.on, handler)
			}
			resp, err := invoke(t, a, fixture(t, tt.fixture))
			if resp.StatusCode != 500 || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %d, %v; want 500 and %q", resp.StatusCode, err, tt.want)
			}
			for _, want := range []string{`msg="lawcket: recovered panic" connectionId=`, tt.in + " panic=boom stack="} {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
		})
	}
}

func TestConnectPluginsRunConcurrentlyAndAreAwaited(t *testing.T) {
	rec := &recorder{}
	var arrived sync.WaitGroup
	arrived.Add(2)
	var done atomic.Int32
	// Each plugin waits until both have started: this only completes when
	// they run concurrently.
	both := func(ctx context.Context) error {
		arrived.Done()
		ch := make(chan struct{})
		go func() { arrived.Wait(); close(ch) }()
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			return errors.New("the other plugin never started: plugins are not concurrent")
		}
		time.Sleep(20 * time.Millisecond)
		done.Add(1)
		return nil
	}
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(
		&plugin{name: "a", rec: rec, connect: both},
		&plugin{name: "b", rec: rec, connect: both},
	))
	a.On(lawcket.Connect, func(context.Context, *lawcket.Event) error {
		if n := done.Load(); n != 2 {
			return errors.New("handler ran before every plugin finished")
		}
		return nil
	})
	resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %q, %v", resp.StatusCode, resp.Body, err)
	}
}

func TestCloseOrdering(t *testing.T) {
	handlerErr := errors.New("handler broke")
	pluginErr := errors.New("delete failed")
	tests := []struct {
		name       string
		handlerErr error
		closeA     func(context.Context) error
		status     int
		wantErrs   []error
	}{
		{"all succeed", nil, nil, 200, nil},
		{"plugins run after a failing handler", handlerErr, nil, 500, []error{handlerErr}},
		{"errors are joined", handlerErr, func(context.Context) error { return pluginErr }, 500, []error{handlerErr, pluginErr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(
				&plugin{name: "a", rec: rec, closeFn: tt.closeA},
				&plugin{name: "b", rec: rec},
			))
			a.On(lawcket.Close, rec.handler("handler", tt.handlerErr))
			resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Disconnect()))
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if tt.wantErrs == nil && err != nil {
				t.Errorf("err = %v", err)
			}
			got := rec.list()
			if len(got) != 3 || got[0] != "handler" || !slices.Contains(got, "a.close") || !slices.Contains(got, "b.close") {
				t.Errorf("ran %v, want handler then a.close and b.close", got)
			}
		})
	}
}

func TestMessagePlugins(t *testing.T) {
	rec := &recorder{}
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(&plugin{name: "a", rec: rec}))
	a.On(lawcket.Message, rec.handler("handler", nil))
	if _, err := invoke(t, a, lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`))); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.message", "handler"}; !slices.Equal(rec.list(), want) {
		t.Errorf("ran %v, want %v", rec.list(), want)
	}

	rec = &recorder{}
	a = lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(&plugin{name: "a", rec: rec, msg: func(context.Context) error {
		return lawcket.Reject(429, "slow down")
	}}))
	a.On(lawcket.Message, rec.handler("handler", nil))
	resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`)))
	if err != nil || resp.StatusCode != 429 || slices.Contains(rec.list(), "handler") {
		t.Errorf("got %d, %v, ran %v; want 429 and no handler", resp.StatusCode, err, rec.list())
	}
}

func TestOutcomes(t *testing.T) {
	fault := errors.New("db down")
	tests := []struct {
		name   string
		fn     lawcket.HandlerFunc
		status int
		body   string
		goErr  bool
	}{
		{"nil", func(context.Context, *lawcket.Event) error { return nil }, 200, "", false},
		{"rejection", func(context.Context, *lawcket.Event) error { return lawcket.Reject(403, "not your room") }, 403, "not your room", false},
		{"wrapped rejection", func(context.Context, *lawcket.Event) error {
			return errors.Join(lawcket.Reject(409, "taken"), lawcket.Reject(400, "also bad"))
		}, 409, "taken", false},
		{"rejection joined with a fault", func(context.Context, *lawcket.Event) error {
			return errors.Join(lawcket.Reject(400, "bad"), fault)
		}, 500, "Internal Server Error", true},
		{"rejection with an invalid status", func(context.Context, *lawcket.Event) error { return lawcket.Reject(200, "ok?") }, 500, "Internal Server Error", true},
		{"fault", func(context.Context, *lawcket.Event) error { return fault }, 500, "Internal Server Error", true},
		{"panic", func(context.Context, *lawcket.Event) error { panic("oops") }, 500, "Internal Server Error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log))
			a.On(lawcket.Message, tt.fn)
			resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`)))
			if resp.StatusCode != tt.status || resp.Body != tt.body || (err != nil) != tt.goErr {
				t.Fatalf("got %d %q, %v; want %d %q, Go error %v", resp.StatusCode, resp.Body, err, tt.status, tt.body, tt.goErr)
			}
			if tt.goErr && !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("fault not logged as an error:\n%s", logs)
			}
			if tt.status != 200 && (!strings.Contains(logs.String(), `connectionId="BQ1a2ecXDoECJQg="`) || !strings.Contains(logs.String(), `requestId="BQ1knPH17NjMFftw="`)) {
				t.Errorf("log lacks connectionId/requestId:\n%s", logs)
			}
		})
	}
}

type namedOnly struct{ name string }

func (n namedOnly) Name() string { return n.name }

func TestInvalidConfiguration(t *testing.T) {
	tests := []struct {
		name  string
		opts  []lawcket.Option
		after func(a *lawcket.App)
		want  string
	}{
		{"nil plugin", []lawcket.Option{lawcket.WithPlugins(nil)}, nil, "plugin 0 is nil"},
		{"nil middleware", []lawcket.Option{lawcket.WithMiddleware(nil)}, nil, "middleware 0 is nil"},
		{"middleware returning nil", []lawcket.Option{lawcket.WithMiddleware(func(lawcket.Handler) lawcket.Handler { return nil })}, nil, "returned a nil Handler"},
		{"duplicate plugin names", []lawcket.Option{lawcket.WithPlugins(&plugin{name: "x"}), lawcket.WithPlugins(&plugin{name: "x"})}, nil, `two plugins are named "x"`},
		{"plugin without hooks", []lawcket.Option{lawcket.WithPlugins(namedOnly{"lazy"})}, nil, `plugin "lazy"`},
		{"empty plugin name", []lawcket.Option{lawcket.WithPlugins(&plugin{})}, nil, "empty name"},
		{"typed nil plugin", []lawcket.Option{lawcket.WithPlugins((*plugin)(nil))}, nil, "plugin 0 is a nil *lawcket_test.plugin"},
		{"middleware returning a nil HandlerFunc", []lawcket.Option{lawcket.WithMiddleware(func(lawcket.Handler) lawcket.Handler { return lawcket.HandlerFunc(nil) })}, nil, "returned a nil Handler"},
		{"panicking middleware", []lawcket.Option{lawcket.WithMiddleware(func(lawcket.Handler) lawcket.Handler { panic("boom") })}, nil, "panic in middleware 0: boom"},
		{"panicking option", []lawcket.Option{func(*lawcket.App) { panic("bad option") }}, nil, "panic in option 1: bad option"},
		{"nil logger", []lawcket.Option{lawcket.WithLogger(nil)}, nil, "nil logger"},
		{"nil option", []lawcket.Option{nil}, nil, "option 1 is nil"},
		{"bad subprotocol", []lawcket.Option{lawcket.WithSubprotocols("a, b")}, nil, "invalid subprotocol"},
		{"nil management client", []lawcket.Option{lawcket.WithManagement(nil)}, nil, "nil client"},
		{"invalid event type", nil, func(a *lawcket.App) { a.On(0, func(context.Context, *lawcket.Event) error { return nil }) }, "invalid event type"},
		{"nil handler", nil, func(a *lawcket.App) { a.On(lawcket.Message, nil) }, "nil handler"},
		{"duplicate handler", nil, func(a *lawcket.App) {
			h := func(context.Context, *lawcket.Event) error { return nil }
			a.On(lawcket.Message, h)
			a.On(lawcket.Message, h)
		}, "already registered"},
		{"route $connect", nil, func(a *lawcket.App) { a.Route("$connect", func(context.Context, *lawcket.Event) error { return nil }) }, "use On(Connect)"},
		{"empty route", nil, func(a *lawcket.App) { a.Route("", func(context.Context, *lawcket.Event) error { return nil }) }, "empty route key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := quietLogger()
			a := lawcket.New(append([]lawcket.Option{lawcket.WithLogger(log)}, tt.opts...)...)
			if tt.after != nil {
				tt.after(a)
			}
			if a.Err() == nil || !strings.Contains(a.Err().Error(), tt.want) {
				t.Fatalf("Err() = %v, want it to contain %q", a.Err(), tt.want)
			}
			resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
			if resp.StatusCode != 500 || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %d, %v; want 500 and the configuration error", resp.StatusCode, err)
			}
			if tt.name != "nil logger" && !strings.Contains(logs.String(), tt.want) {
				t.Errorf("configuration error not logged:\n%s", logs)
			}
		})
	}
	if err := lawcket.New().Err(); err != nil {
		t.Errorf("New().Err() = %v", err)
	}
}

func TestSubprotocols(t *testing.T) {
	tests := []struct {
		name    string
		opts    []lawcket.Option
		file    string
		handler lawcket.HandlerFunc
		status  int
		header  string
	}{
		{"server preference wins", []lawcket.Option{lawcket.WithSubprotocols("chat.v1", "lawcket.v2")}, "connect-subprotocol.json", nil, 200, "chat.v1"},
		{"first supported", []lawcket.Option{lawcket.WithSubprotocols("x", "lawcket.v2")}, "connect-subprotocol.json", nil, 200, "lawcket.v2"},
		{"none supported is refused", []lawcket.Option{lawcket.WithSubprotocols("x")}, "connect-subprotocol.json", nil, 400, ""},
		{"client offers none", []lawcket.Option{lawcket.WithSubprotocols("x")}, "connect.json", nil, 200, ""},
		{"handler chooses", nil, "connect-subprotocol.json", func(ctx context.Context, ev *lawcket.Event) error {
			return ev.SetSubprotocol("lawcket.v2")
		}, 200, "lawcket.v2"},
		{"handler cannot choose one not offered", nil, "connect-subprotocol.json", func(ctx context.Context, ev *lawcket.Event) error {
			return ev.SetSubprotocol("nope")
		}, 500, ""},
		{"no option, no header", nil, "connect-subprotocol.json", nil, 200, ""},
		{"not echoed on a refusal", []lawcket.Option{lawcket.WithSubprotocols("chat.v1")}, "connect-subprotocol.json", func(context.Context, *lawcket.Event) error {
			return lawcket.Reject(401, "no")
		}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, _ := quietLogger()
			a := lawcket.New(append(tt.opts, lawcket.WithLogger(log))...)
			if tt.handler != nil {
				a.On(lawcket.Connect, tt.handler)
			}
			resp, _ := invoke(t, a, fixture(t, tt.file))
			if resp.StatusCode != tt.status || resp.Headers["Sec-WebSocket-Protocol"] != tt.header {
				t.Errorf("got %d, header %q; want %d, %q (body %q)", resp.StatusCode, resp.Headers["Sec-WebSocket-Protocol"], tt.status, tt.header, resp.Body)
			}
		})
	}
}

func TestRejectionError(t *testing.T) {
	err := lawcket.Reject(401, "missing token")
	if got := err.Error(); got != "lawcket: rejected with 401: missing token" {
		t.Errorf("Error() = %q", got)
	}
	if got := lawcket.Reject(403, "").Error(); got != "lawcket: rejected with 403 (Forbidden)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestConcurrentInvocations(t *testing.T) {
	log, _ := quietLogger()
	var n atomic.Int64
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(&plugin{name: "p", rec: &recorder{}}))
	a.On(lawcket.Message, func(context.Context, *lawcket.Event) error { n.Add(1); return nil })
	raw := lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if resp, err := invoke(t, a, raw); err != nil || resp.StatusCode != 200 {
				t.Errorf("got %d, %v", resp.StatusCode, err)
			}
		})
	}
	wg.Wait()
	if n.Load() != 16 {
		t.Errorf("handled %d, want 16", n.Load())
	}
}

func BenchmarkMessage(b *testing.B) {
	a := lawcket.New(lawcket.WithLogger(slog.New(slog.DiscardHandler)))
	a.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	benchServe(b, a, "message-route.json", func() {})
}

func BenchmarkConnectThreePlugins(b *testing.B) {
	rec := &recorder{}
	a := lawcket.New(lawcket.WithLogger(slog.New(slog.DiscardHandler)), lawcket.WithPlugins(
		&plugin{name: "a", rec: rec}, &plugin{name: "b", rec: rec}, &plugin{name: "c", rec: rec}))
	benchServe(b, a, "connect.json", func() {
		rec.mu.Lock()
		rec.ran = rec.ran[:0]
		rec.mu.Unlock()
	})
}

// benchServe measures a's handler on the fixture's event, calling after
// each time.
func benchServe(b *testing.B, a *lawcket.App, name string, after func()) {
	var req events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(fixture(b, name), &req); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(ctx, req); err != nil {
			b.Fatal(err)
		}
		after()
	}
}
