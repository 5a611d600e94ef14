package lawcket_test

import (
	"context"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
)

// FuzzInvoke feeds arbitrary payloads through the Lambda JSON path: the
// App must answer every event (or Lambda must reject the JSON) without
// panicking, and only faults may carry a Go error.
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
	h := lambda.NewHandler(a.Handler())
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Must not panic. Lambda may refuse JSON it cannot decode, but no
		// handler here faults, so lawcket itself must never return an error.
		if _, err := h.Invoke(context.Background(), raw); err != nil && strings.HasPrefix(err.Error(), "lawcket") {
			t.Fatalf("Go error for %q: %v", raw, err)
		}
	})
}
