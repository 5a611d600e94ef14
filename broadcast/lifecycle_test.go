package broadcast_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/mgmt"
)

// These tests check Send's own lifecycle (goroutines, timers) in a synctest
// bubble, where a goroutine left behind fails the test and time is fake.
// The Management API behaviour is tested against a real HTTP server in
// broadcast_test.go; here the Poster is a function.

type posterFunc func(ctx context.Context, t mgmt.Target, data []byte) error

func (f posterFunc) Post(ctx context.Context, t mgmt.Target, data []byte, _ ...mgmt.CallOption) (mgmt.Result, error) {
	return mgmt.Result{Attempts: 1}, f(ctx, t, data)
}

func manyRows(n int) []row {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c-%04d", i)
	}
	return rowsOf("example.com", "r1", ids...)
}

func TestSendLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var posts atomic.Int64
		slow := posterFunc(func(ctx context.Context, _ mgmt.Target, _ []byte) error {
			posts.Add(1)
			select {
			case <-time.After(10 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		store := &memStore{rows: manyRows(1000)}
		sender, err := broadcast.New(slow, store, broadcast.WithConcurrency(8))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 25*time.Millisecond)
		defer cancel()
		rep, err := sender.Send(ctx, store.targets(""), []byte("x"))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		// 8 workers: two rounds of 10ms done, the third cut short.
		if rep.Sent != 16 || rep.Failed != 8 || posts.Load() != 24 || rep.Attempts != 24 {
			t.Errorf("report %+v after %d posts", rep, posts.Load())
		}
		for _, f := range rep.Failures {
			if f.Reason != broadcast.ReasonCanceled {
				t.Errorf("failure %+v: want reason canceled", f)
			}
		}
		// Returning from the bubble with a goroutine still running or a
		// timer of Send's still set fails the test.
	})
}
