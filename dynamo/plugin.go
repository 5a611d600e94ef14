package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/syncspec"
)

// Plugin stores connections: one PutItem on connect, one DeleteItem on
// close, nothing on messages (it has no message hook). A Plugin is safe for
// concurrent use.
type Plugin struct {
	table   *Table
	builder *builder
}

var (
	_ lawcket.ConnectPlugin = (*Plugin)(nil)
	_ lawcket.ClosePlugin   = (*Plugin)(nil)
)

// NewPlugin returns the sync plugin for spec, which must be loaded and
// compiled (syncspec.Load). It takes the same options as NewTable and, like
// it, builds its DynamoDB client from the default AWS config unless
// WithClient is given. Build it once, in main, and reuse it for every
// invocation.
func NewPlugin(ctx context.Context, spec *syncspec.Spec, opts ...Option) (*Plugin, error) {
	b, err := newBuilder(spec)
	if err != nil {
		return nil, err
	}
	t, err := NewTable(ctx, spec, opts...)
	if err != nil {
		return nil, err
	}
	return &Plugin{table: t, builder: b}, nil
}

// Name returns "dynamo".
func (p *Plugin) Name() string { return "dynamo" }

// OnConnect stores the connection's row (BuildItem, then one PutItem).
// A refusal from the spec is a 400 *lawcket.Rejection and makes no request.
// A failed PutItem (after the SDK's retries, bounded by ctx's deadline) is
// returned as an error, so the wrapper refuses the client with 500 (and logs
// the error with the connectionId and requestId): a client is never
// accepted without its row.
//
// A failed PutItem may still have been applied: its answer lost to a reset
// connection or a truncated body, or sent after the deadline. So, unless
// DynamoDB refused the request outright (invalid, table missing), the
// failure is followed by one compensating DeleteItem of the row, so that a
// refused client leaves no row. The PutItem runs with part of ctx's
// remaining time held back (a fifth, 50 ms to 1 s) and the DeleteItem runs
// in that reserve, even when ctx was cancelled. What the DeleteItem cannot
// remove is left to the row's TTL (see docs/reliability.md).
func (p *Plugin) OnConnect(ctx context.Context, ev *lawcket.Event) error {
	if ev == nil {
		return errors.New("dynamo: nil event")
	}
	item, err := p.builder.build(&ev.Request, p.table.clock())
	if err != nil {
		return err
	}
	write, cancel, cleanup := reserve(ctx)
	err = p.table.Put(write, item)
	cancel()
	if err == nil || !mayBeApplied(err) {
		return err
	}
	dctx, dcancel := cleanup()
	defer dcancel()
	if derr := p.table.Delete(dctx, idOf(ev)); derr != nil {
		return fmt.Errorf("%w (the row may remain until its TTL: the compensating DeleteItem failed: %w)", err, derr)
	}
	return fmt.Errorf("%w (compensated: the row, if written, was deleted)", err)
}

// mayBeApplied reports whether a failed write may have been applied: every
// failure but DynamoDB's outright refusals, which no retry follows.
func mayBeApplied(err error) bool {
	for _, refused := range []error{ErrInvalidRequest, ErrItemTooLarge, ErrTableNotFound, ErrConditionFailed} {
		if errors.Is(err, refused) {
			return false
		}
	}
	return true
}

func idOf(ev *lawcket.Event) string {
	if id := ev.Request.RequestContext.ConnectionID; id != "" {
		return id
	}
	return ev.Connection.ID
}

// OnClose deletes the connection's row with one DeleteItem. A failure is
// returned, and the wrapper logs it with the connectionId and requestId; the
// row still expires by TTL and broadcasts delete rows whose connection is
// gone.
func (p *Plugin) OnClose(ctx context.Context, ev *lawcket.Event) error {
	if ev == nil {
		return errors.New("dynamo: nil event")
	}
	return p.table.Delete(ctx, idOf(ev))
}

// Table returns the plugin's table (for reading back and broadcast).
func (p *Plugin) Table() *Table { return p.table }
