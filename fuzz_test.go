package lawcket_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
)

// FuzzInvoke feeds arbitrary payloads through the Lambda runtime's path
// into the App, which decodes them itself (App.Invoke): every payload gets
// an API Gateway response — 400 for one that is not a WebSocket event's
// JSON, whatever its types — never a panic, and, since no handler here
// faults, never a Go error.
func FuzzInvoke(f *testing.F) {
	err := fs.WalkDir(fixtures, "testdata/events", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(p) > 5 && p[len(p)-5:] == ".json" {
			b, _ := fixtures.ReadFile(p)
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"requestContext":{"eventType":"MESSAGE","connectionId":"x"},"body":"\u0000","isBase64Encoded":true}`))
	a := lawcket.New(lawcket.WithLogger(slog.New(slog.DiscardHandler)), lawcket.WithSubprotocols("chat"))
	a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		var v any
		_ = ev.Subprotocols()
		_ = ev.Header("content-type")
		return ev.DecodeJSON(&v)
	})
	f.Add([]byte(`{"requestContext":{"eventType":"CONNECT","connectionId":7,"connectedAt":"x"}}`))
	f.Add([]byte(`[]`))
	h := lambda.NewHandler(a)
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := h.Invoke(context.Background(), raw)
		if err != nil {
			t.Fatalf("Go error for %q: %v", raw, err)
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %q for %q is not a proxy response: %v", out, raw, err)
		}
		switch resp.StatusCode {
		case 200, 400, 404:
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, raw)
		}
	})
}
