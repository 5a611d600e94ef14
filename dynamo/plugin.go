package dynamo

import (
	"context"
	"errors"

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
func (p *Plugin) OnConnect(ctx context.Context, ev *lawcket.Event) error {
	if ev == nil {
		return errors.New("dynamo: nil event")
	}
	item, err := p.builder.build(&ev.Request, p.table.clock())
	if err != nil {
		return err
	}
	return p.table.Put(ctx, item)
}

// OnClose deletes the connection's row with one DeleteItem. A failure is
// returned, and the wrapper logs it with the connectionId and requestId; the
// row still expires by TTL and broadcasts delete rows whose connection is
// gone.
func (p *Plugin) OnClose(ctx context.Context, ev *lawcket.Event) error {
	if ev == nil {
		return errors.New("dynamo: nil event")
	}
	id := ev.Request.RequestContext.ConnectionID
	if id == "" {
		id = ev.Connection.ID
	}
	return p.table.Delete(ctx, id)
}

// Table returns the plugin's table (for reading back and broadcast).
func (p *Plugin) Table() *Table { return p.table }
