package lawcket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// rollbackTimeout bounds the OnClose calls that undo a refused $connect
// (within the event's deadline, when it has one).
const rollbackTimeout = 5 * time.Second

// withReserve returns ctx with an earlier deadline, holding back part of
// the time left for the rollback of a refused $connect: a fifth of it, at
// least 50 ms and at most 1 s, never more than half. Without a deadline it
// returns ctx as it is.
func withReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	remaining := time.Until(deadline)
	r := min(max(remaining/5, 50*time.Millisecond), time.Second, remaining/2)
	return context.WithDeadline(ctx, deadline.Add(-r))
}

// serve is the Lambda handler: one invocation, one event.
func (a *App) serve(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := req.RequestContext
	inv := &invocation{app: a, connectionID: rc.ConnectionID, requestID: rc.RequestID, routeKey: rc.RouteKey}
	if err := a.Err(); err != nil {
		return respond(inv, 0, err)
	}
	ev, err := newEvent(req)
	if err != nil {
		// Not an API Gateway WebSocket event: a wiring mistake, answered 400
		// without a Go error (retrying it cannot help).
		inv.log().Warn("lawcket: malformed event", "error", err)
		var rej *Rejection
		errors.As(err, &rej)
		return textResponse(rej.Status, rej.Reason), nil
	}
	ev.inv = inv
	typ := ev.Type
	if typ == Connect && len(a.subprotocols) > 0 {
		offered := ev.Subprotocols()
		for _, p := range a.subprotocols {
			if slices.Contains(offered, p) {
				inv.subprotocol = p
				break
			}
		}
	}
	chainCtx, cancel := ctx, context.CancelFunc(func() {})
	if typ == Connect && a.canRollback {
		// Keep part of the deadline for undoing a refused connect.
		chainCtx, cancel = withReserve(ctx)
	}
	err = protect(inv.log, "middleware", func() error { return a.chain.ServeEvent(chainCtx, ev) })
	cancel()
	if err != nil && typ == Connect {
		a.rollback(ctx, ev, inv)
	}
	if typ == Close && !inv.closed {
		// A middleware refused (or failed) the $disconnect without reaching
		// the close plugins: run them anyway, since no other event will
		// clean up after this connection.
		_, perr := runHooks(ctx, ev, a.closeHooks, ClosePlugin.OnClose)
		err = errors.Join(err, perr)
	}
	return respond(inv, typ, err)
}

// core is the innermost Handler: plugins and the user's handlers.
func (a *App) core(ctx context.Context, ev *Event) error {
	if ev == nil {
		return errors.New("lawcket: middleware passed a nil Event to next")
	}
	if ev.inv == nil {
		return errors.New("lawcket: middleware passed an Event not built by the App to next (copy the one it was given)")
	}
	switch ev.Type {
	case Connect:
		if len(a.subprotocols) > 0 && ev.Subprotocol() == "" {
			if offered := ev.Subprotocols(); len(offered) > 0 {
				return Reject(http.StatusBadRequest, fmt.Sprintf("no supported subprotocol among %q (supported: %q)", offered, a.subprotocols))
			}
		}
		succeeded, err := runHooks(ctx, ev, a.connectHooks, ConnectPlugin.OnConnect)
		ev.inv.connected = succeeded
		if err != nil {
			return err
		}
		return callHandler(ctx, ev, "connect handler", a.handler(Connect))
	case Message:
		if _, err := runHooks(ctx, ev, a.messageHooks, MessagePlugin.OnMessage); err != nil {
			return err
		}
		h := a.route(ev.RouteKey)
		if h == nil {
			return Reject(http.StatusNotFound, fmt.Sprintf("no handler for route %q (register one with Route or On(Message))", ev.RouteKey))
		}
		return callHandler(ctx, ev, "message handler", h)
	case Close:
		herr := callHandler(ctx, ev, "close handler", a.handler(Close))
		ev.inv.closed = true
		_, perr := runHooks(ctx, ev, a.closeHooks, ClosePlugin.OnClose)
		return errors.Join(herr, perr)
	}
	return Reject(http.StatusBadRequest, fmt.Sprintf("invalid event type %v", ev.Type))
}

func (a *App) handler(t EventType) HandlerFunc {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.handlers[t]
}

// route is the handler for a message route key: its Route handler, else the
// Message handler, else nil.
func (a *App) route(key string) HandlerFunc {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if h, ok := a.routes[key]; ok {
		return h
	}
	return a.handlers[Message]
}

// callHandler runs a user handler (nil is a no-op), turning a panic into an
// error; what names it ("connect handler").
func callHandler(ctx context.Context, ev *Event, what string, h HandlerFunc) error {
	if h == nil {
		return nil
	}
	if err := protect(ev.Logger, what, func() error { return h(ctx, ev) }); err != nil {
		return fmt.Errorf("lawcket: %s: %w", what, err)
	}
	return nil
}

// hook is a plugin as New validated it, with its name and the label its
// panics are reported under, so that serving does not build them.
type hook[P Plugin] struct {
	plugin P
	name   string
	label  string // "plugin NAME"
}

func newHook[P Plugin](p P, name string) hook[P] { return hook[P]{p, name, "plugin " + name} }

// runHooks runs fn for every plugin concurrently and waits for all of
// them. It returns the plugins that succeeded and their errors joined in
// plugin order.
func runHooks[P Plugin](ctx context.Context, ev *Event, hooks []hook[P], fn func(P, context.Context, *Event) error) ([]hook[P], error) {
	if len(hooks) == 0 {
		return nil, nil
	}
	errs := make([]error, len(hooks))
	run := func(i int) {
		h := hooks[i]
		if err := protect(ev.Logger, h.label, func() error { return fn(h.plugin, ctx, ev) }); err != nil {
			errs[i] = fmt.Errorf("lawcket: plugin %q on %v: %w", h.name, ev.Type, err)
		}
	}
	if len(hooks) == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for i := range hooks {
			wg.Go(func() { run(i) })
		}
		wg.Wait()
	}
	ok := make([]hook[P], 0, len(hooks))
	for i, h := range hooks {
		if errs[i] == nil {
			ok = append(ok, h)
		}
	}
	return ok, errors.Join(errs...)
}

// rollback calls OnClose for the plugins whose OnConnect succeeded on a
// connect that is being refused. Failures are logged.
func (a *App) rollback(ctx context.Context, ev *Event, inv *invocation) {
	var undo []hook[ClosePlugin]
	for _, h := range inv.connected {
		if c, ok := h.plugin.(ClosePlugin); ok {
			undo = append(undo, hook[ClosePlugin]{c, h.name, h.label})
		}
	}
	if len(undo) == 0 {
		return
	}
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > rollbackTimeout {
		deadline = time.Now().Add(rollbackTimeout)
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	if _, err := runHooks(ctx, ev, undo, ClosePlugin.OnClose); err != nil {
		inv.log().Error("lawcket: undoing a refused connect failed", "error", err)
	}
}

// protect calls fn, turning a panic into an error (logged with its stack to
// log(), called only then).
func protect(log func() *slog.Logger, what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lawcket: panic in %s: %v", what, r)
			log().Error("lawcket: recovered panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return fn()
}

// respond maps the pipeline's outcome to the response, in one place:
//   - nil: 200 (on $connect with the chosen subprotocol echoed);
//   - a refusal (see classify): its status and reason, and no Go error;
//   - anything else: 500 and the error returned to Lambda.
func respond(inv *invocation, t EventType, err error) (events.APIGatewayProxyResponse, error) {
	if err == nil {
		resp := events.APIGatewayProxyResponse{StatusCode: http.StatusOK}
		if t == Connect && inv.subprotocol != "" {
			resp.Headers = map[string]string{"Sec-WebSocket-Protocol": inv.subprotocol}
		}
		return resp, nil
	}
	if rej, fault := classify(err); !fault {
		inv.log().Info("lawcket: event refused", "status", rej.Status, "error", err)
		return textResponse(rej.Status, rej.Reason), nil
	}
	inv.log().Error("lawcket: event failed", "error", err)
	return textResponse(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)), err
}

func textResponse(status int, body string) events.APIGatewayProxyResponse {
	if body == "" {
		body = http.StatusText(status)
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		Body:       body,
	}
}
