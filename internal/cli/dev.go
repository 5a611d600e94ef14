package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/syncspec"
)

const devAbout = `
Run COMMAND (a handler binary built for lambda.Start) behind a local API
Gateway WebSocket API. Each WebSocket handshake on --addr becomes a $connect
event, each message a route event, each close a $disconnect event, delivered
through the Lambda Runtime API to COMMAND's processes. The Management API
(@connections) answers on the same port. DynamoDB runs embedded in memory
(unless --dynamodb-endpoint is given) with the table and GSIs of the spec.

The handler gets AWS_LAMBDA_RUNTIME_API, AWS_ENDPOINT_URL_DYNAMODB,
LAWCKET_MANAGEMENT_ENDPOINT, LAWCKET_CONFIG, AWS_REGION, static credentials
(local/local) and the Lambda function variables. Its output is copied to
stderr, each line prefixed with [function n]. Stop with Ctrl-C.

With --template, the API is the one a SAM or CloudFormation template
declares (AWS::Serverless::WebSocketApi, or AWS::ApiGatewayV2::Api with its
Route, Integration, Authorizer, RouteResponse and Stage): each route runs its
own function (Go functions with Metadata.BuildMethod go1.x are built from
CodeUri, others are given with --function), with the template's
Environment.Variables (!Ref/!GetAtt/!Sub resolved to local values) plus
--env-file; a Lambda REQUEST authorizer runs on $connect; the template's
tables are created with their key schema, GSIs and TTL; its stage and route
selection expression are used. See docs/local-dev.md.

examples:
  go build -o bootstrap ./examples/chat
  lawcket dev -c examples/chat/lawcket.yaml --static examples/chat/static -- ./bootstrap
  lawcket dev --template examples/chat/template.yaml -c examples/chat/lawcket.yaml --static examples/chat/static`

func runDev(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("dev", "lawcket dev [flags] -- COMMAND [ARGS...]\n       lawcket dev --template template.yaml [--function LogicalId=COMMAND]... [flags]", devAbout, stderr)
	config := configFlag(f.FlagSet)
	var cfg devgw.Config
	f.StringVar(&cfg.Addr, "addr", devgw.DefaultAddr, "`host:port` of the WebSocket server, Management API and static files")
	f.StringVar(&cfg.Stage, "stage", devgw.DefaultStage, "stage `name` in events, URLs and the Management API path")
	f.StringVar(&cfg.DynamoDBEndpoint, "dynamodb-endpoint", "", "use this DynamoDB `URL` instead of the embedded one (the table is created if missing)")
	f.StringVar(&cfg.RouteSelection, "route-selection", devgw.DefaultRouteSelection, "route selection `expression` applied to JSON message bodies")
	routes := f.String("routes", "", "comma-separated route `keys` the API declares, $default included if it has one; other values go to $default, or get a Forbidden error frame without it (default: any string value is a route)")
	routeResponses := f.String("route-responses", "", "comma-separated route `keys` with a route response: the function's returned body is sent to the client")
	f.IntVar(&cfg.Concurrency, "concurrency", 1, "number of handler `processes` (each handles one invocation at a time)")
	f.StringVar(&cfg.StaticDir, "static", "", "serve this `dir` at / (plain HTTP GETs)")
	frameLimit := f.Bool("frame-limit", true, "enforce API Gateway's 32 KB frame limit: a larger client frame closes with 1009 and is not delivered (--frame-limit=false: messages up to 128 KB in one frame)")
	allowOrigins := f.String("allow-origin", "", "comma-separated `origins` (scheme://host:port) whose pages may open WebSockets and call the gateway, besides its own")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", devgw.DefaultIdleTimeout, "close connections idle this `long`")
	f.DurationVar(&cfg.MaxLifetime, "max-lifetime", devgw.DefaultMaxLifetime, "close connections after this `long`")
	f.DurationVar(&cfg.Timeout, "timeout", devgw.DefaultTimeout, "integration timeout: a handler taking `longer` is answered 504 and restarted")
	f.StringVar(&cfg.FunctionName, "function-name", devgw.DefaultFunctionName, "AWS_LAMBDA_FUNCTION_NAME of the handler")
	rows := f.Bool("rows", false, "print the table's rows on stdout after every $connect and $disconnect")
	tf := addTemplateFlags(f)

	flagArgs, command := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		flagArgs, command = args[:i], args[i+1:]
	}
	if code, ok := f.parse(flagArgs, stdout, stderr); !ok {
		return code
	}
	if len(command) == 0 && tf.path == "" {
		return f.usageError(stderr, "no handler command: put it after -- (or run a SAM template with --template)")
	}
	if tf.path == "" && (len(tf.functions) > 0 || tf.envFile != "" || len(tf.params) > 0) {
		return f.usageError(stderr, "--function, --env-file and --parameter go with --template")
	}
	cfg.Command = command
	cfg.NoFrameLimit = !*frameLimit
	cfg.Routes = splitList(*routes)
	cfg.RouteResponses = splitList(*routeResponses)
	cfg.AllowOrigins = splitList(*allowOrigins)
	if cfg.Concurrency < 1 {
		return f.usageError(stderr, "--concurrency %d: want at least 1", cfg.Concurrency)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"idle-timeout", cfg.IdleTimeout}, {"max-lifetime", cfg.MaxLifetime}, {"timeout", cfg.Timeout}} {
		if d.v <= 0 {
			return f.usageError(stderr, "--%s %v: want a positive duration", d.name, d.v)
		}
	}

	// The spec: -c given → it must load; the default lawcket.yaml may be absent.
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	explicit := given["c"]
	if _, err := os.Stat(*config); err == nil || explicit {
		spec, ok := loadSpec(*config, stderr)
		if !ok {
			return ExitFindings
		}
		cfg.SpecPath = *config
		devAPIFromSpec(f, spec, &cfg)
	} else if errors.Is(err, fs.ErrNotExist) {
		if tf.path != "" {
			fmt.Fprintf(stderr, "lawcket dev: no %s here: the functions get no LAWCKET_CONFIG (name a spec with -c FILE)\n", *config)
		} else {
			fmt.Fprintf(stderr, "lawcket dev: no %s here: running without a table (name a spec with -c FILE)\n", *config)
		}
	}

	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.Output = stderr
	if *rows {
		cfg.RowsOutput = stdout
	}
	var run *templateRun
	if tf.path != "" {
		var err error
		if run, err = applyTemplate(ctx, &cfg, tf, given, stderr); err != nil {
			fmt.Fprintf(stderr, "lawcket dev: %v\n", err)
			return ExitFindings
		}
		defer run.cleanup()
	}
	if path := os.Getenv("LAWCKET_DEV_CPUPROFILE"); path != "" {
		// The gateway's own CPU profile, for the benchmarks (docs/performance.md).
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	g, err := devgw.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket dev: %v\n", err)
		return ExitUsage
	}
	if run != nil {
		run.gateway = g
	}
	if err := g.Start(ctx); err != nil {
		fmt.Fprintf(stderr, "lawcket dev: %v\n", err)
		return ExitFindings
	}
	printDevBanner(stdout, g, cfg, run)
	started := time.Now()
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		// Connects that arrive before this wait for the handler (go run compiles, init runs).
		if g.WaitReady(ctx) == nil {
			fmt.Fprintf(stderr, "lawcket dev: handler ready after %v\n", time.Since(started).Round(time.Millisecond))
		}
	}()
	<-ctx.Done()
	<-ready // WaitReady returns once ctx is done: nothing writes to stderr after Main returns
	fmt.Fprintln(stderr, "lawcket dev: shutting down")
	if err := g.Close(); err != nil {
		fmt.Fprintf(stderr, "lawcket dev: %v\n", err)
		return ExitFindings
	}
	return ExitOK
}

func printDevBanner(w io.Writer, g *devgw.Gateway, cfg devgw.Config, run *templateRun) {
	procs := "1 process"
	if cfg.Concurrency > 1 {
		procs = fmt.Sprintf("%d processes", cfg.Concurrency)
	}
	if run != nil {
		fmt.Fprintf(w, "lawcket dev: %s (%s each)\n", strings.Join(run.functions, ", "), procs)
	} else {
		fmt.Fprintf(w, "lawcket dev: %s (%s)\n", strings.Join(cfg.Command, " "), procs)
	}
	fmt.Fprintf(w, "  WebSocket URL:   %s\n", g.URL())
	fmt.Fprintf(w, "  Management API:  %s   (LAWCKET_MANAGEMENT_ENDPOINT)\n", g.ManagementEndpoint())
	where := "embedded, in memory"
	if cfg.DynamoDBEndpoint != "" {
		where = "external"
	}
	fmt.Fprintf(w, "  DynamoDB:        %s   (%s; AWS_ENDPOINT_URL_DYNAMODB)\n", g.DynamoDBEndpoint(), where)
	if t := g.TableName(); t != "" && run == nil {
		fmt.Fprintf(w, "  Table:           %s   (from %s)\n", t, cfg.SpecPath)
	}
	if run != nil {
		printTemplateBanner(w, run)
	}
	if u := g.StaticURL(); u != "" {
		fmt.Fprintf(w, "  Static page:     %s   (%s)\n", u, cfg.StaticDir)
	}
}

// devAPIFromSpec applies the spec's api: section where no flag overrides it
// (and before --template, whose API wins): the declared routes and $default,
// which every lawcket stack has (so an unknown route value goes to
// $default, as on AWS), and the route selection expression.
func devAPIFromSpec(f *flags, spec *syncspec.Spec, cfg *devgw.Config) {
	if spec.API == nil {
		return
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !set["routes"] && len(spec.API.Routes) > 0 {
		cfg.Routes = append(spec.API.RouteKeys(), "$default")
	}
	if !set["route-selection"] && spec.API.Selection != "" {
		cfg.RouteSelection = spec.API.Selection
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
