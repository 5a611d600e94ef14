package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
)

// These tests check Send's own lifecycle (goroutines, timers) in a synctest
// bubble, where a goroutine left behind fails the test and time is fake.
// The Management API behaviour is tested against a real HTTP server in
// broadcast_test.go; here the Poster is a function.

type posterFunc func(ctx context.Context, t lawcket.Target, data []byte) error

func (f posterFunc) Post(ctx context.Context, t lawcket.Target, data []byte) error {
	return f(ctx, t, data)
}

func manyRows(n int) []dynamo.Row {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c-%04d", i)
	}
	return rowsOf("example.com", "r1", ids...)
}

func TestSendLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posts atomic.Int64
		slow := posterFunc(func(ctx context.Context, _ lawcket.Target, _ []byte) error {
			posts.Add(1)
			select {
			case <-time.After(10 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		sender, err := broadcast.New(&memStore{rows: manyRows(1000)}, slow, broadcast.WithConcurrency(8))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 25*time.Millisecond)
		defer cancel()
		rep, err := sender.Send(ctx, dynamo.Selector{}, []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		// 8 workers: two rounds of 10ms done, the third cut short.
		if rep.Sent != 16 || rep.Failed != 8 || posts.Load() != 24 {
			t.Errorf("report %+v after %d posts", rep, posts.Load())
		}
		// Returning from the bubble with a goroutine still running or a
		// timer of Send's still set fails the test.
	})
}

func TestSendRetryBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posts atomic.Int64
		throttled := posterFunc(func(ctx context.Context, _ lawcket.Target, _ []byte) error {
			posts.Add(1)
			return fmt.Errorf("%w: post: api error LimitExceededException", lawcket.ErrLimitExceeded)
		})
		store := &memStore{rows: manyRows(10)}

		// Attempts bound: 4 posts per connection, 3 retries.
		sender, err := broadcast.New(store, throttled, broadcast.WithRetry(4, time.Hour), broadcast.WithBackoff(100*time.Millisecond, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rep, err := sender.Send(t.Context(), dynamo.Selector{}, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if posts.Load() != 40 || rep.Retries != 30 || rep.Failed != 10 {
			t.Errorf("%d posts, report %+v", posts.Load(), rep)
		}
		for _, f := range rep.Failures {
			if f.Attempts != 4 || !errors.Is(f.Err, lawcket.ErrLimitExceeded) {
				t.Errorf("failure %+v", f)
			}
		}
		// Full jitter: waits below 100+200+400 ms in all.
		if d := time.Since(start); d >= 700*time.Millisecond {
			t.Errorf("took %v", d)
		}

		// Time bound: never a retry that would end past 1s after the first post.
		posts.Store(0)
		start = time.Now()
		rep, err = sender.Send(t.Context(), dynamo.Selector{}, []byte("x"),
			broadcast.WithRetry(1000, time.Second), broadcast.WithBackoff(50*time.Millisecond, 400*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v, budget 1s", d)
		}
		if rep.Failed != 10 || posts.Load() < 20 || rep.Retries != int(posts.Load())-10 {
			t.Errorf("%d posts, report %+v", posts.Load(), rep)
		}
	})
}
