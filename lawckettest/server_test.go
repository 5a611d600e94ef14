package lawckettest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"
	"github.com/lawcket/lawcket/lawckettest"
)

func post(ctx context.Context, c *apigatewaymanagementapi.Client, id, data string) error {
	_, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(data)})
	return err
}

// noRetry makes the SDK client send each request once.
func noRetry(o *apigatewaymanagementapi.Options) { o.Retryer = aws.NopRetryer{} }

func newServer(t *testing.T) *lawckettest.Server {
	s := lawckettest.NewServer()
	t.Cleanup(s.Close)
	return s
}

func TestServerErrorsReachTheSDKTyped(t *testing.T) {
	s := newServer(t)
	c := s.Client("prod", noRetry)
	ctx := context.Background()
	cases := []struct {
		status int
		check  func(error) bool
		code   string
	}{
		{http.StatusGone, func(err error) bool { var e *types.GoneException; return errors.As(err, &e) }, "GoneException"},
		{http.StatusForbidden, func(err error) bool { var e *types.ForbiddenException; return errors.As(err, &e) }, "ForbiddenException"},
		{http.StatusRequestEntityTooLarge, func(err error) bool { var e *types.PayloadTooLargeException; return errors.As(err, &e) }, "PayloadTooLargeException"},
		{http.StatusTooManyRequests, func(err error) bool { var e *types.LimitExceededException; return errors.As(err, &e) }, "LimitExceededException"},
		{http.StatusInternalServerError, func(err error) bool { return true }, "InternalServerErrorException"},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			id := "c-" + http.StatusText(tc.status)
			s.Script(id, lawckettest.Answer(tc.status))
			err := post(ctx, c, id, "x")
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || !tc.check(err) {
				t.Fatalf("err = %v (%T), want %s", err, err, tc.code)
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("status of %v", err)
			}
			if got := s.Delivered(id); len(got) != 0 {
				t.Errorf("delivered %q on %d", got, tc.status)
			}
			if err := post(ctx, c, id, "again"); err != nil {
				t.Errorf("script used up: %v", err)
			}
		})
	}
}

func TestServerRecordsDeliveries(t *testing.T) {
	s := newServer(t)
	c := s.Client("prod")
	ctx := context.Background()
	id := "AbC=/+x" // base64-ish ids need escaping in the path
	if err := post(ctx, c, id, "hello"); err != nil {
		t.Fatal(err)
	}
	posts := s.Posts()
	if len(posts) != 1 || posts[0].ConnectionID != id || posts[0].Stage != "prod" || string(posts[0].Data) != "hello" || !posts[0].Delivered || !posts[0].Signed || posts[0].Status != 200 {
		t.Fatalf("posts = %+v", posts)
	}
	out, err := c.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: &id})
	if err != nil || !out.ConnectedAt.Equal(lawckettest.DefaultConnectedAt) || aws.ToString(out.Identity.SourceIp) != lawckettest.DefaultSourceIP {
		t.Fatalf("GetConnection = %+v, %v", out, err)
	}
	if _, err := c.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &id}); err != nil {
		t.Fatal(err)
	}
	if d := s.Deleted(); len(d) != 1 || d[0] != id {
		t.Errorf("Deleted = %q", d)
	}
	var gone *types.GoneException
	if err := post(ctx, c, id, "after delete"); !errors.As(err, &gone) {
		t.Errorf("post after delete: %v, want GoneException", err)
	}
	if err := post(ctx, c, "big", strings.Repeat("x", lawckettest.MaxPayload+1)); err == nil || !strings.Contains(err.Error(), "PayloadTooLarge") {
		t.Errorf("oversized post: %v", err)
	}
}

func TestServerFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("deliver then 500: the SDK's retry duplicates", func(t *testing.T) {
		s := newServer(t)
		s.Script("c", lawckettest.DeliverThen(500))
		if err := post(ctx, s.Client("prod"), "c", "m"); err != nil {
			t.Fatalf("post: %v", err)
		}
		if got := s.Delivered("c"); len(got) != 2 {
			t.Errorf("delivered %d times, want 2 (once by the failed attempt, once by the retry)", len(got))
		}
	})
	t.Run("reset before delivery", func(t *testing.T) {
		s := newServer(t)
		s.Script("c", lawckettest.ResetBeforeDelivery())
		err := post(ctx, s.Client("prod", noRetry), "c", "m")
		if err == nil {
			t.Fatal("no error on a reset")
		}
		if got := s.Delivered("c"); len(got) != 0 {
			t.Errorf("delivered %q", got)
		}
		if r := s.Requests(); len(r) != 1 || r[0].Status != 0 {
			t.Errorf("requests = %+v", r)
		}
	})
	t.Run("reset after delivery", func(t *testing.T) {
		s := newServer(t)
		s.Script("c", lawckettest.ResetAfterDelivery())
		if err := post(ctx, s.Client("prod", noRetry), "c", "m"); err == nil {
			t.Fatal("no error on a reset")
		}
		if got := s.Delivered("c"); len(got) != 1 {
			t.Errorf("delivered %q, want once", got)
		}
	})
	t.Run("answer after the deadline still delivers", func(t *testing.T) {
		s := newServer(t)
		s.Script("c", lawckettest.Answer(200).After(300*time.Millisecond))
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := post(ctx, s.Client("prod", noRetry), "c", "m"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		s.Close() // waits for the delayed answer
		if got := s.Delivered("c"); len(got) != 1 {
			t.Errorf("delivered %q, want once", got)
		}
	})
	t.Run("3x429 then 200", func(t *testing.T) {
		s := newServer(t)
		s.Script("c", lawckettest.Times(3, lawckettest.Answer(429))...)
		c := s.Client("prod", func(o *apigatewaymanagementapi.Options) {
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 5
				so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		})
		if err := post(ctx, c, "c", "m"); err != nil {
			t.Fatalf("post: %v", err)
		}
		var statuses []int
		for _, r := range s.Posts() {
			statuses = append(statuses, r.Status)
		}
		if len(statuses) != 4 || statuses[3] != 200 || len(s.Delivered("c")) != 1 {
			t.Errorf("statuses = %v, delivered %d", statuses, len(s.Delivered("c")))
		}
	})
	t.Run("Always and Gone", func(t *testing.T) {
		s := newServer(t)
		s.Always("slow", lawckettest.Answer(429))
		s.Gone("g")
		c := s.Client("prod", noRetry)
		for range 2 {
			if err := post(ctx, c, "slow", "m"); err == nil || !strings.Contains(err.Error(), "LimitExceeded") {
				t.Errorf("Always(429): %v", err)
			}
		}
		if err := post(ctx, c, "g", "m"); err == nil || !strings.Contains(err.Error(), "Gone") {
			t.Errorf("Gone: %v", err)
		}
		s.SetDefault(lawckettest.Answer(500))
		if err := post(ctx, c, "other", "m"); err == nil {
			t.Error("SetDefault(500): no error")
		}
		s.Forget()
		if len(s.Requests()) != 0 {
			t.Error("Forget kept requests")
		}
	})
}

func TestBehaviorString(t *testing.T) {
	for b, want := range map[lawckettest.Behavior]string{
		lawckettest.Answer(429):                             "429",
		lawckettest.DeliverThen(500):                        "deliver then 500",
		lawckettest.ResetBeforeDelivery():                   "reset before delivery",
		lawckettest.ResetAfterDelivery().After(time.Second): "reset after delivery after 1s",
	} {
		if got := b.String(); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
