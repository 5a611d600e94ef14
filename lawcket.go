package lawcket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/mgmt"
)

// EventType says which part of a connection's life an Event is.
// The zero value is invalid, so an unset type is caught.
type EventType int

const (
	// Connect is the $connect route (requestContext.eventType CONNECT).
	Connect EventType = iota + 1
	// Message is any message route: $default or a custom route key (MESSAGE).
	Message
	// Close is the $disconnect route (DISCONNECT).
	Close
)

// String returns "connect", "message", "close", or "EventType(N)".
func (t EventType) String() string {
	switch t {
	case Connect:
		return "connect"
	case Message:
		return "message"
	case Close:
		return "close"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// parseEventType maps requestContext.eventType to an EventType.
func parseEventType(s string) (EventType, bool) {
	switch s {
	case "CONNECT":
		return Connect, true
	case "MESSAGE":
		return Message, true
	case "DISCONNECT":
		return Close, true
	}
	return 0, false
}

// Handler serves one event. Any of a Handler's methods may be called
// concurrently (Lambda may reuse an environment; the local gateway and tests
// call it from many goroutines).
type Handler interface {
	ServeEvent(ctx context.Context, ev *Event) error
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(ctx context.Context, ev *Event) error

// ServeEvent calls f(ctx, ev).
func (f HandlerFunc) ServeEvent(ctx context.Context, ev *Event) error { return f(ctx, ev) }

// Middleware wraps a Handler. It may change the event, refuse it by
// returning a Rejection (without calling next), or call next. Middleware
// wraps everything the App does for an event: plugins and handler.
type Middleware func(next Handler) Handler

// Plugin is a named extension with optional lifecycle hooks: implement any of
// ConnectPlugin, MessagePlugin, ClosePlugin (at least one). Names must be
// unique within an App. Hooks may be called concurrently, for different
// events and alongside other plugins' hooks for the same event; they must
// treat the Event as read-only.
type Plugin interface {
	Name() string
}

// ConnectPlugin runs on $connect, before the user's connect handler. All
// connect plugins run concurrently and are all awaited; if any fails the
// client is refused and the handler does not run.
type ConnectPlugin interface {
	Plugin
	OnConnect(ctx context.Context, ev *Event) error
}

// MessagePlugin runs on every message, before the user's handler (all
// message plugins concurrently, all awaited; if any fails the handler does
// not run).
type MessagePlugin interface {
	Plugin
	OnMessage(ctx context.Context, ev *Event) error
}

// ClosePlugin runs on $disconnect, after the user's close handler (even when
// it failed). It also runs to undo a refused $connect: when the connect is
// answered with an error after this plugin's OnConnect succeeded, OnClose is
// called with that connect event (ev.Type == Connect), since no $disconnect
// will ever come for a connection that was never established.
type ClosePlugin interface {
	Plugin
	OnClose(ctx context.Context, ev *Event) error
}

// Option configures an App. The zero set of options is a working default.
// An invalid option does not panic: New records the error (see App.Err).
type Option func(*App)

// WithPlugins adds plugins. Their hooks for one event run concurrently; the
// order given is the order in which errors are reported.
func WithPlugins(p ...Plugin) Option {
	return func(a *App) {
		for i, pl := range p {
			if pl == nil {
				a.fail(fmt.Errorf("lawcket: WithPlugins: plugin %d is nil", i))
				continue
			}
			a.plugins = append(a.plugins, pl)
		}
	}
}

// WithMiddleware adds middleware, applied in the order given (the first is outermost).
func WithMiddleware(m ...Middleware) Option {
	return func(a *App) {
		for i, mw := range m {
			if mw == nil {
				a.fail(fmt.Errorf("lawcket: WithMiddleware: middleware %d is nil", i))
				continue
			}
			a.middleware = append(a.middleware, mw)
		}
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(a *App) {
		if l == nil {
			a.fail(errors.New("lawcket: WithLogger: nil logger"))
			return
		}
		a.logger = l
	}
}

// WithManagement makes Reply post through c (see package mgmt: endpoint,
// AWS config, retry policy). Share c with broadcast. Without it the App
// builds a default mgmt.Client, which loads the default AWS config on the
// first Reply. A nil c is a configuration error.
func WithManagement(c *mgmt.Client) Option {
	return func(a *App) {
		if c == nil {
			a.fail(errors.New("lawcket: WithManagement: nil client"))
			return
		}
		a.mgmt = c
	}
}

// WithSubprotocols lists the subprotocols the server speaks, in order of
// preference. On $connect the first of them that the client offers in
// Sec-WebSocket-Protocol is chosen (Event.Subprotocol) and echoed in the
// response; middleware and the connect handler may change the choice with
// Event.SetSubprotocol. When the client offers subprotocols and none is
// supported, the connect is refused with 400 before plugins run (a browser
// would fail the handshake anyway). A client that offers none is accepted
// without the header.
func WithSubprotocols(protocols ...string) Option {
	return func(a *App) {
		for _, p := range protocols {
			if p == "" || strings.ContainsAny(p, ", \t") {
				a.fail(fmt.Errorf("lawcket: WithSubprotocols: invalid subprotocol %q", p))
				continue
			}
			a.subprotocols = append(a.subprotocols, p)
		}
	}
}

// App is a WebSocket Lambda: handlers per event and route, middleware and
// plugins. Configure it (New, On, Route) before serving; its handler is then
// safe for concurrent use. Registering while serving is also safe.
type App struct {
	logger       *slog.Logger
	plugins      []Plugin
	middleware   []Middleware
	subprotocols []string
	mgmt         *mgmt.Client

	canRollback  bool // a connect plugin is also a ClosePlugin
	connectHooks []hook[ConnectPlugin]
	messageHooks []hook[MessagePlugin]
	closeHooks   []hook[ClosePlugin]
	chain        Handler // middleware around a.core

	mu       sync.RWMutex
	err      error // configuration errors, joined
	handlers map[EventType]HandlerFunc
	routes   map[string]HandlerFunc
}

// New returns an App configured by opts. It never panics and does no I/O:
// invalid options are recorded, logged, and returned by Err, and every
// invocation is then answered 500 with that error.
func New(opts ...Option) *App {
	a := &App{
		logger:   slog.Default(),
		handlers: map[EventType]HandlerFunc{},
		routes:   map[string]HandlerFunc{},
	}
	log := func() *slog.Logger { return a.logger }
	for i, o := range opts {
		if o == nil {
			a.fail(fmt.Errorf("lawcket: New: option %d is nil", i))
			continue
		}
		if err := protect(log, fmt.Sprintf("option %d", i), func() error { o(a); return nil }); err != nil {
			a.fail(err)
		}
	}
	seen := map[string]bool{}
	for i, p := range a.plugins {
		if v := reflect.ValueOf(p); v.Kind() == reflect.Pointer && v.IsNil() {
			a.fail(fmt.Errorf("lawcket: WithPlugins: plugin %d is a nil %T", i, p))
			continue
		}
		var name string
		if err := protect(log, fmt.Sprintf("plugin %d Name", i), func() error { name = p.Name(); return nil }); err != nil {
			a.fail(err)
			continue
		}
		switch {
		case name == "":
			a.fail(fmt.Errorf("lawcket: WithPlugins: plugin %T has an empty name", p))
		case seen[name]:
			a.fail(fmt.Errorf("lawcket: WithPlugins: two plugins are named %q", name))
		}
		seen[name] = true
		c, okC := p.(ConnectPlugin)
		m, okM := p.(MessagePlugin)
		cl, okCl := p.(ClosePlugin)
		if okC {
			a.connectHooks = append(a.connectHooks, newHook(c, name))
			a.canRollback = a.canRollback || okCl
		}
		if okM {
			a.messageHooks = append(a.messageHooks, newHook(m, name))
		}
		if okCl {
			a.closeHooks = append(a.closeHooks, newHook(cl, name))
		}
		if !okC && !okM && !okCl {
			a.fail(fmt.Errorf("lawcket: WithPlugins: plugin %q (%T) implements none of OnConnect, OnMessage, OnClose", name, p))
		}
	}
	if a.mgmt == nil {
		a.mgmt, _ = mgmt.New() // no options: no error, no I/O
	}
	var h Handler = HandlerFunc(a.core)
	for i := len(a.middleware) - 1; i >= 0; i-- {
		next := h
		err := protect(log, fmt.Sprintf("middleware %d", i), func() error { h = a.middleware[i](next); return nil })
		if err == nil && isNil(h) {
			err = fmt.Errorf("lawcket: WithMiddleware: middleware %d returned a nil Handler", i)
		}
		if err != nil {
			a.fail(err)
			h = next
		}
	}
	a.chain = h
	if err := a.Err(); err != nil {
		a.logger.Error("lawcket: invalid configuration; Start refuses to run and every event is answered 500", "error", err)
	}
	return a
}

// isNil reports whether h is nil or a typed nil (a nil func or pointer).
func isNil(h Handler) bool {
	if h == nil {
		return true
	}
	switch v := reflect.ValueOf(h); v.Kind() {
	case reflect.Func, reflect.Pointer, reflect.Map, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// fail records a configuration error.
func (a *App) fail(err error) {
	a.mu.Lock()
	a.err = errors.Join(a.err, err)
	a.mu.Unlock()
}

// Err returns the configuration errors recorded by New, On and Route
// (joined), or nil.
func (a *App) Err() error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.err
}

// Management returns the Management API client Reply uses (WithManagement,
// or the App's default). Share it for posts to other connections.
func (a *App) Management() *mgmt.Client { return a.mgmt }

// On registers fn for an event type: Connect, Message (every message route
// without its own Route handler) or Close. Registering twice for one type,
// an invalid type or a nil fn is a configuration error (see Err).
func (a *App) On(t EventType, fn HandlerFunc) {
	switch {
	case t != Connect && t != Message && t != Close:
		a.fail(fmt.Errorf("lawcket: On: invalid event type %v", t))
		return
	case fn == nil:
		a.fail(fmt.Errorf("lawcket: On(%v): nil handler", t))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.handlers[t]; dup {
		a.err = errors.Join(a.err, fmt.Errorf("lawcket: On(%v): a handler is already registered", t))
		return
	}
	a.handlers[t] = fn
}

// Route registers fn for a message route key (a custom route such as "send",
// or "$default"); messages on route keys without a Route handler go to the
// Message handler. "$connect", "$disconnect", "", a nil fn and a second
// registration of a key are configuration errors (see Err).
func (a *App) Route(routeKey string, fn HandlerFunc) {
	switch {
	case routeKey == "":
		a.fail(errors.New("lawcket: Route: empty route key"))
		return
	case routeKey == "$connect" || routeKey == "$disconnect":
		a.fail(fmt.Errorf("lawcket: Route(%q): use On(Connect) or On(Close)", routeKey))
		return
	case fn == nil:
		a.fail(fmt.Errorf("lawcket: Route(%q): nil handler", routeKey))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.routes[routeKey]; dup {
		a.err = errors.Join(a.err, fmt.Errorf("lawcket: Route(%q): a handler is already registered", routeKey))
		return
	}
	a.routes[routeKey] = fn
}

// Handler returns the function lambda.Start accepts. It is safe for
// concurrent use and never panics. Prefer App.Start (or App.Invoke): with
// lambda.Start(a.Handler()) aws-lambda-go decodes the event itself, so a
// payload with a wrong JSON type (say "headers": 5) fails the invocation
// instead of being answered 400 naming the field.
func (a *App) Handler() func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return a.serve
}
