package lawcket_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
)

// Issue 10 §6: a middleware that refuses $disconnect used to skip the close
// plugins, leaving the row until TTL.
func TestClosePluginsRunWhateverTheMiddlewareAnswers(t *testing.T) {
	refuse := func(lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(context.Context, *lawcket.Event) error {
			return lawcket.Reject(http.StatusUnauthorized, "no session")
		})
	}
	swallow := func(lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(context.Context, *lawcket.Event) error { return nil })
	}
	broken := func(lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(context.Context, *lawcket.Event) error { panic("middleware bug") })
	}
	passes := func(next lawcket.Handler) lawcket.Handler { return next }
	for _, tc := range []struct {
		name   string
		mw     lawcket.Middleware
		status int
	}{
		{"refused", refuse, http.StatusUnauthorized},
		{"answered without next", swallow, http.StatusOK},
		{"panicked", broken, http.StatusInternalServerError},
		{"passed on (once, not twice)", passes, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithMiddleware(tc.mw), lawcket.WithPlugins(&plugin{name: "sync", rec: rec}))
			resp, _ := invoke(t, a, lawckettest.JSON(lawckettest.Disconnect()))
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := rec.list(); !slices.Equal(got, []string{"sync.close"}) {
				t.Errorf("ran %v, want the close plugin once", got)
			}
		})
	}
	t.Run("a refused connect or message runs no close plugin", func(t *testing.T) {
		rec := &recorder{}
		log, _ := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithMiddleware(refuse), lawcket.WithPlugins(&plugin{name: "sync", rec: rec}))
		invoke(t, a, lawckettest.JSON(lawckettest.Connect()))
		invoke(t, a, lawckettest.JSON(lawckettest.Message("x")))
		if got := rec.list(); len(got) != 0 {
			t.Errorf("ran %v", got)
		}
	})
	t.Run("a close plugin failure after a refusal is a fault", func(t *testing.T) {
		rec := &recorder{}
		log, _ := quietLogger()
		boom := errors.New("delete failed")
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithMiddleware(refuse), lawcket.WithPlugins(&plugin{name: "sync", rec: rec, closeFn: func(context.Context) error { return boom }}))
		resp, err := invoke(t, a, lawckettest.JSON(lawckettest.Disconnect()))
		if resp.StatusCode != http.StatusInternalServerError || !errors.Is(err, boom) {
			t.Errorf("status %d, err %v", resp.StatusCode, err)
		}
	})
}

// Issue 11 item 9: a $connect whose JSON has a wrong type used to fail in
// aws-lambda-go's decoder as a Lambda error; the App decodes the payload
// itself (it is a lambda.Handler) and answers 400 naming the field.
func TestWrongJSONTypesAreAnswered400(t *testing.T) {
	for _, tc := range []struct {
		name, raw, field string
	}{
		{"numeric connectionId", `{"requestContext":{"eventType":"CONNECT","routeKey":"$connect","connectionId":12345}}`, "requestContext.connectionId"},
		{"connectedAt as a string", `{"requestContext":{"eventType":"CONNECT","routeKey":"$connect","connectionId":"c-1","connectedAt":"1731324924553"}}`, "requestContext.connectedAt"},
		{"headers as a list", `{"headers":["Host"],"requestContext":{"eventType":"CONNECT","routeKey":"$connect","connectionId":"c-1"}}`, "headers"},
		{"body as an object", `{"body":{"a":1},"requestContext":{"eventType":"MESSAGE","routeKey":"$default","connectionId":"c-1"}}`, "body"},
		{"not JSON", `{"requestContext":`, "not valid JSON"},
		{"JSON but not an object", `[1,2]`, "the event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log))
			out, err := lambda.NewHandler(a).Invoke(context.Background(), []byte(tc.raw))
			if err != nil {
				t.Fatalf("Lambda error %v, want a 400 response", err)
			}
			resp, err := lawckettest.Invoke(context.Background(), a, []byte(tc.raw))
			if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, tc.field) {
				t.Errorf("response %+v (%s), %v: want 400 naming %s", resp, out, err, tc.field)
			}
			if !strings.Contains(logs.String(), "malformed event") {
				t.Errorf("not logged: %s", logs)
			}
		})
	}
	t.Run("valid events through Invoke answer as through Handler", func(t *testing.T) {
		a := lawcket.New()
		a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
			if ev.Query("token") == "" {
				return lawcket.Reject(http.StatusUnauthorized, "no token <here>")
			}
			return nil
		})
		for _, raw := range [][]byte{lawckettest.JSON(lawckettest.Connect()), lawckettest.JSON(lawckettest.Connect(lawckettest.Query("token", "t")))} {
			viaInvoke, err1 := lawckettest.Invoke(context.Background(), a, raw)
			viaHandler, err2 := lawckettest.Invoke(context.Background(), a.Handler(), raw)
			if err1 != nil || err2 != nil || viaInvoke.StatusCode != viaHandler.StatusCode || viaInvoke.Body != viaHandler.Body {
				t.Errorf("Invoke %+v %v, Handler %+v %v", viaInvoke, err1, viaHandler, err2)
			}
		}
	})
	t.Run("a fault still reaches Lambda as an error", func(t *testing.T) {
		boom := errors.New("boom")
		a := lawcket.New()
		a.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return boom })
		_, err := a.Invoke(context.Background(), lawckettest.JSON(lawckettest.Message("x")))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestReplyDuringConnectErrorPrefix(t *testing.T) {
	var got error
	a := lawcket.New()
	a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		got = ev.Reply(ctx, "hi")
		return nil
	})
	if _, err := a.Handler()(context.Background(), lawckettest.Connect(lawckettest.ConnectionID("c-1"))); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got, lawcket.ErrNotEstablished) || !strings.HasPrefix(got.Error(), "lawcket: reply to c-1: ") {
		t.Errorf("Reply during $connect: %v", got)
	}
}

var _ lambda.Handler = (*lawcket.App)(nil)

// Issue 11 item 4 (wrapper side): a connect handler that uses up its
// deadline still leaves the rollback time within the event's deadline.
func TestRollbackRunsWithinTheEventDeadline(t *testing.T) {
	var handlerDeadline, closeDeadline time.Time
	var closeErr error
	rec := &recorder{}
	log, _ := quietLogger()
	p := &plugin{name: "sync", rec: rec, closeFn: func(ctx context.Context) error {
		closeDeadline, _ = ctx.Deadline()
		closeErr = ctx.Err()
		return nil
	}}
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithPlugins(p))
	a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		handlerDeadline, _ = ctx.Deadline()
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	eventDeadline, _ := ctx.Deadline()
	resp, _ := a.Handler()(ctx, lawckettest.Connect())
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d", resp.StatusCode)
	}
	if got := rec.list(); !slices.Equal(got, []string{"sync.connect", "sync.close"}) {
		t.Fatalf("ran %v", got)
	}
	if !handlerDeadline.Before(eventDeadline.Add(-50*time.Millisecond)) || handlerDeadline.Before(eventDeadline.Add(-time.Second)) {
		t.Errorf("handler deadline %v before the event's, want 50ms..1s", eventDeadline.Sub(handlerDeadline))
	}
	if closeErr != nil || closeDeadline.IsZero() || closeDeadline.After(eventDeadline) {
		t.Errorf("rollback ran with err %v, deadline %v after the event's", closeErr, closeDeadline.Sub(eventDeadline))
	}
}
