package devgw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/localdynamo"
	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// Defaults for the zero values of Config.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultStage          = "local"
	DefaultRouteSelection = "$request.body.action"
	DefaultIdleTimeout    = 10 * time.Minute
	DefaultMaxLifetime    = 2 * time.Hour
	DefaultTimeout        = runtimeapi.DefaultTimeout
	DefaultFunctionName   = runtimeapi.DefaultFunctionName
	DefaultRegion         = runtimeapi.DefaultRegion
	// MaxMessageSize is API Gateway's message size limit (128 KB): larger
	// client messages close the connection with 1009, larger posts answer 413.
	MaxMessageSize = 128 << 10
)

// Config configures a Gateway. The zero value of every field means its
// default; only Command (or Functions) is required.
type Config struct {
	// Addr is the host:port of the WebSocket server, the Management API and
	// the static files (default DefaultAddr; "127.0.0.1:0" picks a free port).
	// Requests are answered only for loopback Host names (localhost,
	// 127.0.0.0/8, ::1) and Addr's own host (with an unspecified host such
	// as 0.0.0.0: this machine's IP addresses); others get 403, against
	// DNS rebinding.
	Addr string
	// Stage is the stage name in events and in the Management API path
	// (default "local").
	Stage string
	// Command is the handler binary and its arguments, started with
	// AWS_LAMBDA_RUNTIME_API pointing at the gateway's Runtime API. It runs
	// every route not in RouteFunctions; it may be empty when Functions
	// are given.
	Command []string
	// Functions are the API's functions when it has several (a SAM
	// template's), each with its own processes; RouteFunctions maps route
	// keys ($connect, $disconnect, $default, custom keys) to their Name. A
	// route in neither RouteFunctions nor run by Command has no integration:
	// $connect is then accepted and $disconnect sent nowhere, as on AWS
	// without those routes.
	Functions      []Function
	RouteFunctions map[string]string
	// Tables are created at Start besides the spec's (a template's tables);
	// the first is the one RowsOutput prints when there is no spec table.
	Tables []Table
	// NoSpecTable: the spec (SpecPath) is given to the handler but its
	// table is not created (a template declares the tables).
	NoSpecTable bool
	// Dir is the handler's working directory (default the gateway's).
	Dir string
	// Env is added to the handler's environment last (KEY=VALUE), so it
	// overrides what the gateway sets.
	Env []string
	// SpecPath is lawcket.yaml; its table and GSIs are created at start and
	// its absolute path is given to the handler as LAWCKET_CONFIG. Empty: no
	// table is created.
	SpecPath string
	// DynamoDBEndpoint is an external DynamoDB-compatible endpoint. Empty:
	// an embedded in-memory one (minidyn) is started on a free loopback port.
	DynamoDBEndpoint string
	// RouteSelection is the route selection expression (default
	// "$request.body.action").
	RouteSelection string
	// Routes are the route keys the API declares for messages ("$default"
	// among them declares the $default route; "$connect" and "$disconnect"
	// may be listed and are ignored here). With routes declared, as on API
	// Gateway, a selected value that names no declared route, a non-string
	// value and a body that is not a JSON object go to $default; without a
	// $default route the client then gets API Gateway's error frame
	// {"message": "Forbidden", "connectionId": ..., "requestId": ...} and no
	// function is invoked. Empty: any selected string is the route key and
	// everything else goes to $default.
	Routes []string
	// RouteResponses are the routes with a route response (on AWS a
	// RouteResponse with RouteResponseSelectionExpression $default): the
	// body the function returns for them (the proxy response's body, or
	// the whole answer when it is not a proxy response) is sent to the
	// client as a message. Other routes' answers are dropped, as on AWS.
	RouteResponses []string
	// BeforeConnect, when set, is called for every handshake with the
	// $connect event before the $connect route is invoked: where API
	// Gateway runs a $connect authorizer. An error refuses the handshake
	// without invoking $connect (and without $disconnect): a *Refusal with
	// its status and {"message": Message} body, any other error with 500
	// {"message": "Internal server error"}. It may set
	// ev.RequestContext.Authorizer, which is then delivered in the
	// requestContext of $connect and of every later event of the
	// connection. It is called concurrently for concurrent handshakes.
	BeforeConnect func(ctx context.Context, r *http.Request, ev *events.APIGatewayWebsocketProxyRequest) error
	// Concurrency is the number of handler processes (default 1); each
	// handles one invocation at a time.
	Concurrency int
	// StaticDir, when set, is served at / for plain (non-WebSocket) GETs,
	// through an os.Root: no file outside it (symlinks that leave it are
	// not followed), no dotfiles, no directory listings (a directory serves
	// its index.html).
	StaticDir string
	// AllowOrigins are the origins (scheme://host[:port]) besides the
	// gateway's own whose pages may open WebSockets and call the
	// Management API; a request with another Origin is refused with 403.
	// Requests without Origin (not from a browser) are not affected.
	AllowOrigins []string
	// NoFrameLimit turns off API Gateway's 32 KB frame limit
	// (MaxFrameSize), so that a message up to 128 KB may come as one
	// frame. By default a larger client frame closes the connection with
	// 1009 and its message is never delivered to the function.
	NoFrameLimit bool
	// IdleTimeout closes a connection without traffic (default 10 min).
	IdleTimeout time.Duration
	// MaxLifetime closes a connection after this long (default 2 h).
	MaxLifetime time.Duration
	// Timeout is the integration timeout (default 29 s, API Gateway's
	// maximum); a handler that takes longer is killed and restarted.
	Timeout time.Duration
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME (default "lawcket-dev").
	FunctionName string
	// Region is AWS_REGION for the handler (default $AWS_REGION, else us-east-1).
	Region string
	// APIID is the apiId in events (default a random 10-character id).
	APIID string
	// Logger receives the gateway's log (default slog.Default()).
	Logger *slog.Logger
	// Output receives the handler's stdout and stderr, each line prefixed
	// with "[function n] " (default os.Stderr).
	Output io.Writer
	// RowsOutput, when set and there is a table, receives the table's rows
	// after every $connect and $disconnect (a development aid; it Scans the
	// whole table each time).
	RowsOutput io.Writer
}

var stageRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Refusal is an error Config.BeforeConnect returns to refuse a handshake
// with an HTTP status and API Gateway's {"message": Message} body, as a
// $connect authorizer does: 401 "Unauthorized" when the identity source is
// missing, 403 "Forbidden" for a Deny, 500 "Internal server error" when the
// authorizer fails.
type Refusal struct {
	Status  int
	Message string
	Err     error // the cause, for the gateway's log (optional)
}

func (r *Refusal) Error() string {
	s := fmt.Sprintf("refused with %d %s", r.Status, r.Message)
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// Gateway is a local API Gateway WebSocket API in front of a handler binary.
// Build it with New, run it with Start, stop it with Close. Its methods are
// safe for concurrent use.
type Gateway struct {
	cfg   Config
	log   *slog.Logger
	route *routeSelector

	ln        net.Listener
	srv       *http.Server
	fn        *runtimeapi.Function            // Command's, nil without one
	fns       map[string]*runtimeapi.Function // Config.Functions by name
	dynamo    *localdynamo.Server
	dynamoURL string
	table     string
	static    http.Handler
	staticDir *os.Root
	hosts     *hostPolicy
	origins   map[string]bool

	rowsMu     sync.Mutex
	rowsClosed bool
	rowsCh     chan string
	rowsDone   chan struct{}
	mu         sync.Mutex
	conns      map[string]*conn
	closed     bool
	connWG     sync.WaitGroup
	wg         sync.WaitGroup
}

// New validates cfg and returns a Gateway that is not started yet.
func New(cfg Config) (*Gateway, error) {
	if err := setFunctionDefaults(&cfg); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Stage == "" {
		cfg.Stage = DefaultStage
	}
	if !stageRE.MatchString(cfg.Stage) {
		return nil, fmt.Errorf("devgw: stage %q: only letters, digits, - and _ are allowed", cfg.Stage)
	}
	if cfg.RouteSelection == "" {
		cfg.RouteSelection = DefaultRouteSelection
	}
	route, err := parseRouteSelection(cfg.RouteSelection, cfg.Routes, cfg.RouteResponses)
	if err != nil {
		return nil, err
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxLifetime == 0 {
		cfg.MaxLifetime = DefaultMaxLifetime
	}
	if cfg.IdleTimeout < 0 || cfg.MaxLifetime < 0 {
		return nil, errors.New("devgw: timeouts must be positive")
	}
	if cfg.APIID == "" {
		cfg.APIID = randomAPIID()
	}
	if cfg.SpecPath != "" {
		abs, err := filepath.Abs(cfg.SpecPath)
		if err != nil {
			return nil, fmt.Errorf("devgw: config %s: %w", cfg.SpecPath, err)
		}
		cfg.SpecPath = abs
	}
	origins, err := normalizeOrigins(cfg.AllowOrigins)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:     cfg,
		log:     cfg.Logger,
		route:   route,
		conns:   make(map[string]*conn),
		hosts:   newHostPolicy(cfg.Addr),
		origins: origins,
	}
	if cfg.StaticDir != "" {
		st, err := os.Stat(cfg.StaticDir)
		if err != nil {
			return nil, fmt.Errorf("devgw: static dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("devgw: static dir %s is not a directory", cfg.StaticDir)
		}
		root, err := os.OpenRoot(cfg.StaticDir)
		if err != nil {
			return nil, fmt.Errorf("devgw: static dir: %w", err)
		}
		g.staticDir = root
		g.static = staticFiles{root}
	}
	return g, nil
}

// Start listens on Addr, starts DynamoDB (embedded unless DynamoDBEndpoint
// is set) and creates the table, then starts the handler processes. It
// returns once the gateway accepts connections; connects that arrive before
// a handler process is ready wait for it (see WaitReady). ctx bounds the
// start-up only; stop the gateway with Close.
func (g *Gateway) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("devgw: listen on %s: %w", g.cfg.Addr, err)
	}
	g.ln = ln
	if err := g.startDynamo(ctx); err != nil {
		ln.Close()
		return err
	}
	if err := g.startRows(ctx); err != nil {
		ln.Close()
		g.stopDynamo()
		return err
	}
	if err = g.startFunctions(ctx); err != nil {
		ln.Close()
		g.stopRows()
		g.stopDynamo()
		return err
	}
	g.srv = &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       rawHeaderConnContext,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := g.srv.Serve(rawHeaderListener{ln}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("gateway server stopped", "err", err)
		}
	}()
	return nil
}

// WaitReady waits until a handler process asks for its first invocation.
func (g *Gateway) WaitReady(ctx context.Context) error { return g.waitReady(ctx) }

// Addr is the address the gateway listens on (host:port), valid after Start.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// loopbackAddr is Addr with an unspecified host replaced by 127.0.0.1, for
// URLs given to the handler and printed to the user.
func (g *Gateway) loopbackAddr() string {
	host, port, err := net.SplitHostPort(g.Addr())
	if err != nil {
		return g.Addr()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// URL is the WebSocket URL clients connect to: ws://ADDR/STAGE.
func (g *Gateway) URL() string { return "ws://" + g.loopbackAddr() + "/" + g.cfg.Stage }

// ManagementEndpoint is the Management API endpoint (http://ADDR/STAGE),
// given to the handler as LAWCKET_MANAGEMENT_ENDPOINT.
func (g *Gateway) ManagementEndpoint() string {
	return "http://" + g.loopbackAddr() + "/" + g.cfg.Stage
}

// DynamoDBEndpoint is the DynamoDB endpoint given to the handler as
// AWS_ENDPOINT_URL_DYNAMODB.
func (g *Gateway) DynamoDBEndpoint() string { return g.dynamoURL }

// StaticURL is the URL of the static page, empty without StaticDir.
func (g *Gateway) StaticURL() string {
	if g.static == nil {
		return ""
	}
	return "http://" + g.loopbackAddr() + "/"
}

// Close closes every connection (1001 Going away, each sending $disconnect),
// then stops the handler processes and DynamoDB.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	if g.srv == nil {
		if g.staticDir != nil {
			g.staticDir.Close()
		}
		return nil
	}
	// Close the connections first: their $disconnect handlers may still use
	// the Management API. New handshakes are refused (g.closed).
	for _, c := range conns {
		c.closeByServer(1001, "Going away")
	}
	done := make(chan struct{})
	go func() { g.connWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.log.Warn("some $disconnect invocations did not finish before shutdown")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := g.srv.Shutdown(shutdownCtx)
	g.closeFunctions()
	g.wg.Wait()
	g.stopRows()
	g.stopDynamo()
	if g.staticDir != nil {
		g.staticDir.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return err
}

// function is the part of c that configures the handler processes.
func (c *Config) function() runtimeapi.FunctionConfig {
	return runtimeapi.FunctionConfig{
		Command: c.Command, Dir: c.Dir, Concurrency: c.Concurrency, Timeout: c.Timeout,
		FunctionName: c.FunctionName, Region: c.Region, Logger: c.Logger, Output: c.Output,
	}
}

// childEnv is what the gateway adds to the handler's environment (see
// runtimeapi.StartFunction): its endpoints, local credentials, the spec, then
// Config.Env.
func (g *Gateway) childEnv() []string {
	env := []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + g.dynamoURL,
		"LAWCKET_MANAGEMENT_ENDPOINT=" + g.ManagementEndpoint(),
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
	}
	if g.cfg.SpecPath != "" {
		env = append(env, "LAWCKET_CONFIG="+g.cfg.SpecPath)
	}
	return append(env, g.cfg.Env...)
}

// ServeHTTP routes WebSocket upgrades, the Management API and static files,
// after the Host and Origin checks (see security.go).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	names := headerNames(r) // counts every request of the connection
	if !g.hosts.allows(r.Host) {
		g.log.Warn("refused a request for a foreign Host (DNS rebinding?); only loopback names and --addr's host are served", "host", r.Host, "path", r.URL.Path)
		writeJSONError(w, http.StatusForbidden, "", "Forbidden")
		return
	}
	if !originAllowed(r, g.origins) {
		g.log.Warn("refused a request from a foreign Origin (allow it with --allow-origin)", "origin", r.Header.Get("Origin"), "path", r.URL.Path)
		writeJSONError(w, http.StatusForbidden, "", "Forbidden")
		return
	}
	stagePrefix := "/" + g.cfg.Stage + "/@connections/"
	if rest, ok := strings.CutPrefix(r.URL.Path, stagePrefix); ok {
		if !sigV4Signed(r) {
			w.Header()["x-amzn-RequestId"] = []string{runtimeapi.NewUUID()}
			writeJSONError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
			return
		}
		g.serveManagement(w, r, rest)
		return
	}
	if isWebSocketUpgrade(r) {
		if r.URL.Path == "/" || r.URL.Path == "/"+g.cfg.Stage || r.URL.Path == "/"+g.cfg.Stage+"/" {
			g.serveWebSocket(w, r, names)
			return
		}
		writeJSONError(w, http.StatusForbidden, "", "Forbidden")
		return
	}
	if g.static != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		g.static.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUpgradeRequired)
	fmt.Fprintf(w, "lawcket dev: connect a WebSocket client to %s\n", g.URL())
}

func isWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
