package lawcket

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
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
// returning a Rejection, or call next.
type Middleware func(next Handler) Handler

// Plugin is a named extension with optional lifecycle hooks: implement any of
// ConnectPlugin, MessagePlugin, ClosePlugin.
type Plugin interface {
	Name() string
}

// ConnectPlugin runs on $connect, before the user's connect handler.
type ConnectPlugin interface {
	Plugin
	OnConnect(ctx context.Context, ev *Event) error
}

// MessagePlugin runs on every message, before the user's handler.
type MessagePlugin interface {
	Plugin
	OnMessage(ctx context.Context, ev *Event) error
}

// ClosePlugin runs on $disconnect, after the user's close handler.
type ClosePlugin interface {
	Plugin
	OnClose(ctx context.Context, ev *Event) error
}

// Option configures an App. The zero set of options is a working default.
type Option func(*App)

// WithPlugins adds plugins, run in the order given when sequential semantics matter.
func WithPlugins(p ...Plugin) Option { return func(a *App) {} }

// WithMiddleware adds middleware, applied in the order given (the first is outermost).
func WithMiddleware(m ...Middleware) Option { return func(a *App) {} }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *App) {} }

// WithAWSConfig sets the AWS config used to build the Management API client
// (default: config.LoadDefaultConfig on first reply).
func WithAWSConfig(cfg aws.Config) Option { return func(a *App) {} }

// WithManagementEndpoint overrides the Management API endpoint (see ManagementEndpoint).
func WithManagementEndpoint(url string) Option { return func(a *App) {} }

// WithManagementClient makes Reply post through c instead of building a client.
func WithManagementClient(c ManagementAPI) Option { return func(a *App) {} }

// WithSubprotocols lists the subprotocols the server speaks, in order of
// preference; on $connect the first one the client offers in
// Sec-WebSocket-Protocol is echoed in the response.
func WithSubprotocols(protocols ...string) Option { return func(a *App) {} }

// App is a WebSocket Lambda: handlers per event and route, middleware and plugins.
type App struct{}

// New returns an App configured by opts.
func New(opts ...Option) *App { return &App{} }

// On registers fn for an event type.
func (a *App) On(t EventType, fn HandlerFunc) {}

// Route registers fn for a custom route key; messages on other route keys go
// to the Message handler.
func (a *App) Route(routeKey string, fn HandlerFunc) {}

// Handler returns the function lambda.Start accepts.
func (a *App) Handler() func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return nil
}

// Start runs the App with lambda.Start. It does not return.
func (a *App) Start() {}
