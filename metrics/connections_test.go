package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/metrics"
)

// connApp is an App with the metrics middleware first, an auth middleware
// (401 without a token) and a connect handler that refuses room "full"
// (403) and fails in room "broken" (500).
func connApp(mw lawcket.Middleware, logs io.Writer) func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	auth := func(next lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
			if ev.Type == lawcket.Connect && ev.Request.QueryStringParameters["token"] == "" {
				return lawcket.Reject(http.StatusUnauthorized, "no token")
			}
			return next.ServeEvent(ctx, ev)
		})
	}
	app := lawcket.New(lawcket.WithMiddleware(mw, auth), lawcket.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	app.On(lawcket.Connect, func(_ context.Context, ev *lawcket.Event) error {
		switch ev.Request.QueryStringParameters["room"] {
		case "full":
			return lawcket.Reject(http.StatusForbidden, "room is full")
		case "broken":
			return errors.New("store down")
		}
		return nil
	})
	app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	return app.Handler()
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		if err := checkEMF([]byte(l)); err != nil {
			t.Errorf("not EMF: %v\n%s", err, l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestConnections: one EMF line per connect and disconnect through the real
// App, with the status it answered (a middleware's 401, a handler's 403, a
// fault's 500), none for messages; Events adds messages.
func TestConnections(t *testing.T) {
	var buf, logs bytes.Buffer
	e, err := metrics.New(&buf, "lawcket")
	if err != nil {
		t.Fatal(err)
	}
	h := connApp(metrics.Connections(e), &logs)
	ctx := context.Background()
	stage := lawckettest.Stage("prod")
	for _, tt := range []struct {
		req    events.APIGatewayWebsocketProxyRequest
		status int
	}{
		{lawckettest.Connect(stage, lawckettest.Query("token", "t"), lawckettest.Query("room", "lobby")), 200},
		{lawckettest.Connect(stage, lawckettest.Query("room", "lobby")), 401},
		{lawckettest.Connect(stage, lawckettest.Query("token", "t"), lawckettest.Query("room", "full")), 403},
		{lawckettest.Connect(stage, lawckettest.Query("token", "t"), lawckettest.Query("room", "broken")), 500},
		{lawckettest.Message(`{"action":"x"}`, stage), 200},
		{lawckettest.Disconnect(stage), 200},
	} {
		resp, _ := h(ctx, tt.req)
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: %d, want %d", tt.req.RequestContext.EventType, resp.StatusCode, tt.status)
		}
	}
	got := lines(t, &buf)
	want := []struct {
		kind, status              string
		accepted, refused, failed float64
	}{
		{"connect", "200", 1, 0, 0},
		{"connect", "401", 0, 1, 0},
		{"connect", "403", 0, 1, 0},
		{"connect", "500", 0, 0, 1},
		{"disconnect", "200", 1, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d (no message line):\n%s", len(got), len(want), buf.String())
	}
	for i, w := range want {
		l := got[i]
		if l["Stage"] != "prod" || l["EventType"] != w.kind || l["Status"] != w.status || l["Accepted"] != w.accepted ||
			l["Refused"] != w.refused || l["Failed"] != w.failed || l["Events"] != 1.0 {
			t.Errorf("line %d = %v, want %+v", i, l, w)
		}
		if d, ok := l["Duration"].(float64); !ok || d < 0 {
			t.Errorf("line %d Duration %v", i, l["Duration"])
		}
		dirs := l["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
		if len(dirs) != 2 || fmt.Sprint(dirs[0].(map[string]any)["Dimensions"]) != "[[EventType Stage]]" ||
			fmt.Sprint(dirs[1].(map[string]any)["Dimensions"]) != "[[EventType Stage Status]]" {
			t.Errorf("line %d directives %v", i, dirs)
		}
		// Nothing client-controlled is a dimension or a member.
		for k, v := range l {
			if s, ok := v.(string); ok && (strings.Contains(s, lawckettest.DefaultConnectionID) || s == "lobby" || s == "full") {
				t.Errorf("line %d carries %s=%q", i, k, s)
			}
		}
	}

	buf.Reset()
	h = connApp(metrics.Events(e), &logs)
	if _, err := h(ctx, lawckettest.Message(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, &buf); len(got) != 1 || got[0]["EventType"] != "message" || got[0]["Accepted"] != 1.0 {
		t.Errorf("Events on a message: %v", got)
	}

	// Off: a nil Emitter passes events through and writes nothing.
	buf.Reset()
	h = connApp(metrics.Connections(nil), &logs)
	if resp, _ := h(ctx, lawckettest.Connect(lawckettest.Query("room", "lobby"))); resp.StatusCode != 401 || buf.Len() != 0 {
		t.Errorf("nil Emitter: %d, %q", resp.StatusCode, buf.String())
	}
	if strings.Contains(logs.String(), "metrics:") {
		t.Errorf("metrics warnings logged: %s", logs.String())
	}
}

// failingWriter refuses every line.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

// TestConnectionsWriteError: a line that cannot be written is logged and
// changes nothing of the event's answer.
func TestConnectionsWriteError(t *testing.T) {
	e, err := metrics.New(failingWriter{}, "lawcket")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := connApp(metrics.Connections(e), &logs)
	resp, err := h(context.Background(), lawckettest.Connect(lawckettest.Query("token", "t")))
	if err != nil || resp.StatusCode != 200 || !strings.Contains(logs.String(), "metrics: connection metrics not written") {
		t.Errorf("%d, %v, logs %s", resp.StatusCode, err, logs.String())
	}
	var buf bytes.Buffer
	e, _ = metrics.New(&buf, "lawcket")
	if err := metrics.Connection(e, "", lawcket.Connect, 200, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, &buf); len(got) != 1 || got[0]["Stage"] != "-" || got[0]["Duration"] != 1.0 {
		t.Errorf("empty stage: %v", got)
	}
	for name, d := range map[string]metrics.Directive{
		"unknown dimension": {Dimensions: []string{"Room"}, Metrics: []metrics.Metric{{Name: "x", Value: 1}}},
		"dimension twice":   {Dimensions: []string{"Stage", "Stage"}, Metrics: []metrics.Metric{{Name: "x", Value: 1}}},
		"no metric":         {Dimensions: []string{"Stage"}},
	} {
		if err := e.EmitDirectives(map[string]string{"Stage": "prod"}, d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := e.EmitDirectives(map[string]string{"Stage": "prod"}); err == nil {
		t.Error("no directive: accepted")
	}
}

// Connect and disconnect metrics for an App: the middleware goes first, so
// that it sees the refusals of the others.
func ExampleConnections() {
	var buf bytes.Buffer // a Lambda writes to os.Stdout
	e, _ := metrics.New(&buf, "lawcket")
	app := lawcket.New(lawcket.WithMiddleware(metrics.Connections(e)), lawcket.WithLogger(slog.New(slog.DiscardHandler)))
	app.On(lawcket.Connect, func(context.Context, *lawcket.Event) error {
		return lawcket.Reject(http.StatusForbidden, "room is full")
	})
	resp, _ := app.Handler()(context.Background(), lawckettest.Connect(lawckettest.Stage("prod")))
	var line map[string]any
	_ = json.Unmarshal(buf.Bytes(), &line)
	fmt.Println(resp.StatusCode, line["Stage"], line["EventType"], line["Status"], line["Accepted"], line["Refused"], line["Events"])
	// Output:
	// 403 prod connect 403 0 1 1
}
