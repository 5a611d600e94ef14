package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/devauth"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/samtemplate"
)

// templateFlags are the flags of `lawcket dev --template`.
type templateFlags struct {
	path      string
	functions map[string][]string // --function LogicalId=COMMAND
	envFile   string
	params    map[string]string // --parameter Name=Value
}

func addTemplateFlags(f *flags) *templateFlags {
	tf := &templateFlags{functions: map[string][]string{}, params: map[string]string{}}
	f.StringVar(&tf.path, "template", "", "run the WebSocket API of this SAM or CloudFormation template `file`: its routes, functions (Go ones built from CodeUri), $connect authorizer, tables and stage")
	f.Func("function", "with --template, run function `LogicalId=COMMAND` with COMMAND (split on spaces) instead of building it; repeatable", func(s string) error {
		id, cmd, ok := strings.Cut(s, "=")
		if !ok || id == "" || strings.TrimSpace(cmd) == "" {
			return errors.New("want LogicalId=COMMAND")
		}
		tf.functions[id] = strings.Fields(cmd)
		return nil
	})
	f.StringVar(&tf.envFile, "env-file", "", "with --template, environment variables for the functions from this `file`: KEY=VALUE lines for all, or SAM's --env-vars JSON ({\"Parameters\": {...}, \"LogicalId\": {...}})")
	f.Func("parameter", "with --template, a template parameter `Name=Value` (overrides its Default); repeatable", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return errors.New("want Name=Value")
		}
		tf.params[k] = v
		return nil
	})
	return tf
}

// templateRun is what applyTemplate set up.
type templateRun struct {
	tpl       *samtemplate.Template
	functions []string // logical ids started, sorted
	buildDir  string
	gateway   *devgw.Gateway // set once New returns, for the authorizer
}

// cleanup removes the build directory.
func (t *templateRun) cleanup() {
	if t != nil && t.buildDir != "" {
		os.RemoveAll(t.buildDir)
	}
}

// applyTemplate reads the template of tf into cfg: stage, route
// selection, routes, route responses, one devgw.Function per function the
// API invokes (Go ones built), the authorizer (cfg.BeforeConnect) and the
// tables. explicit names the flags given on the command line.
func applyTemplate(ctx context.Context, cfg *devgw.Config, tf *templateFlags, explicit map[string]bool, stderr io.Writer) (*templateRun, error) {
	for _, name := range []string{"routes", "route-responses", "route-selection"} {
		if explicit[name] {
			return nil, fmt.Errorf("--%s comes from the template with --template", name)
		}
	}
	if len(cfg.Command) > 0 {
		return nil, errors.New("with --template the template names the functions: give a command with --function LogicalId=COMMAND, not after --")
	}
	if cfg.APIID == "" {
		cfg.APIID = localAPIID()
	}
	region := cfg.Region
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	opts := samtemplate.Options{Region: region, APIID: cfg.APIID, Parameters: tf.params}
	if _, port, err := net.SplitHostPort(cfg.Addr); err == nil && port != "0" {
		opts.Endpoint = cfg.Addr // the execute-api URLs in environments become local
	}
	tpl, err := samtemplate.Load(tf.path, opts)
	if err != nil {
		return nil, err
	}
	api := tpl.API
	if !explicit["stage"] && api.Stage != "" {
		cfg.Stage = api.Stage
	}
	cfg.RouteSelection = api.RouteSelectionExpression
	cfg.Routes = api.RouteKeys()
	cfg.RouteResponses = nil
	cfg.RouteFunctions = map[string]string{}
	for _, k := range api.RouteKeys() {
		r := api.Routes[k]
		if r.TwoWay {
			cfg.RouteResponses = append(cfg.RouteResponses, k)
		}
		cfg.RouteFunctions[k] = r.Function
	}
	for id := range tf.functions {
		if _, ok := tpl.Functions[id]; !ok {
			return nil, fmt.Errorf("--function %s: the template has no function %s (it has %s)", id, id, strings.Join(sortedNames(tpl.Functions), ", "))
		}
	}
	global, perFunction, err := readEnvFile(tf.envFile)
	if err != nil {
		return nil, err
	}
	run := &templateRun{tpl: tpl}
	for _, id := range tpl.UsedFunctions() {
		fn := tpl.Functions[id]
		command, dir := tf.functions[id], ""
		if command == nil {
			if !fn.IsGo() || fn.CodeURI == "" {
				run.cleanup()
				return nil, fmt.Errorf("%s: function %s (runtime %q) is not a Go function with a local CodeUri and Metadata.BuildMethod go1.x: give its command with --function %s=COMMAND", tpl.File, id, fn.Runtime, id)
			}
			if run.buildDir == "" {
				if run.buildDir, err = os.MkdirTemp("", "lawcket-dev-build-"); err != nil {
					return nil, err
				}
			}
			fmt.Fprintf(stderr, "lawcket dev: building %s from %s (go build, as sam build does for BuildMethod go1.x)\n", id, fn.CodeURI)
			start := time.Now()
			bin, err := samtemplate.BuildGo(ctx, fn, run.buildDir)
			if err != nil {
				run.cleanup()
				return nil, err
			}
			fmt.Fprintf(stderr, "lawcket dev: built %s in %v\n", id, time.Since(start).Round(time.Millisecond))
			command, dir = []string{bin}, fn.CodeURI
		}
		timeout := time.Duration(fn.Timeout) * time.Second
		if timeout > cfg.Timeout {
			timeout = cfg.Timeout // API Gateway's integration timeout ends it first
		}
		cfg.Functions = append(cfg.Functions, devgw.Function{Name: id, Config: runtimeapi.FunctionConfig{
			Command:      command,
			Dir:          dir,
			Env:          append(functionEnv(fn.Environment, global, perFunction[id]), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemorySize)),
			Timeout:      timeout,
			FunctionName: fn.Name,
		}})
		run.functions = append(run.functions, id)
	}
	for _, t := range tpl.Tables {
		cfg.Tables = append(cfg.Tables, devgw.Table{Definition: t.Definition, TTLAttribute: t.TTLAttribute})
	}
	// The template declares the tables; the spec's table: is then the
	// function's LAWCKET_TABLE (!Ref to one of them), not another table.
	cfg.NoSpecTable = len(tpl.Tables) > 0
	if a := api.Authorizer; a != nil {
		auth, err := devauth.New(devauth.Config{
			Name:           a.Name,
			IdentitySource: a.IdentitySource,
			Invoker:        lateInvoker{run, a.Function},
			Region:         region,
			StageVariables: api.StageVariables,
		})
		if err != nil {
			run.cleanup()
			return nil, err
		}
		logger := cfg.Logger
		cfg.BeforeConnect = func(ctx context.Context, _ *http.Request, ev *events.APIGatewayWebsocketProxyRequest) error {
			d := auth.Authorize(ctx, ev)
			if !d.Allowed {
				return &devgw.Refusal{Status: d.Status, Message: d.Message, Err: fmt.Errorf("authorizer %s: %s", a.Name, d.Reason)}
			}
			logger.Debug("authorizer allowed the connect", "authorizer", a.Name, "connectionId", ev.RequestContext.ConnectionID, "principalId", d.Context["principalId"])
			ev.RequestContext.Authorizer = d.Context
			return nil
		}
	}
	return run, nil
}

// lateInvoker invokes a function of the gateway, which exists only once
// it is started (the authorizer runs on handshakes, after Start).
type lateInvoker struct {
	run  *templateRun
	name string
}

func (l lateInvoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if l.run.gateway == nil || l.run.gateway.Function(l.name) == nil {
		return nil, fmt.Errorf("function %s is not running", l.name)
	}
	return l.run.gateway.Function(l.name).Invoke(ctx, payload)
}

// functionEnv is a function's environment: the template's variables, then
// the env file's for all functions, then its own (later wins), sorted.
func functionEnv(layers ...map[string]string) []string {
	merged := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			merged[k] = v
		}
	}
	env := make([]string, 0, len(merged))
	for _, k := range sortedNames(merged) {
		env = append(env, k+"="+merged[k])
	}
	return env
}

// readEnvFile reads --env-file: SAM's --env-vars JSON (Parameters for
// every function, a logical id's object for that one), or KEY=VALUE lines
// (blank lines, # comments, "export " and quoted values allowed).
func readEnvFile(path string) (global map[string]string, perFunction map[string]map[string]string, err error) {
	if path == "" {
		return nil, nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var doc map[string]map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, nil, fmt.Errorf("%s: SAM env-vars JSON: %v (want {\"Parameters\": {...}, \"LogicalId\": {\"VAR\": \"value\"}})", path, err)
		}
		perFunction = map[string]map[string]string{}
		for id, vars := range doc {
			m := map[string]string{}
			for k, v := range vars {
				switch x := v.(type) {
				case string:
					m[k] = x
				case float64:
					m[k] = strconv.FormatFloat(x, 'f', -1, 64)
				case bool:
					m[k] = strconv.FormatBool(x)
				default:
					return nil, nil, fmt.Errorf("%s: %s.%s: want a string, number or boolean", path, id, k)
				}
			}
			if id == "Parameters" {
				global = m
			} else {
				perFunction[id] = m
			}
		}
		return global, perFunction, nil
	}
	global = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		k, v, ok := strings.Cut(s, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, nil, fmt.Errorf("%s:%d: want KEY=VALUE", path, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			if v[0] == '"' {
				uq, err := strconv.Unquote(v)
				if err != nil {
					return nil, nil, fmt.Errorf("%s:%d: %s: bad quoting", path, line, k)
				}
				v = uq
			} else {
				v = v[1 : len(v)-1]
			}
		}
		global[k] = v
	}
	return global, nil, sc.Err()
}

// localAPIID is a random apiId shaped like API Gateway's (10 lower-case
// letters and digits).
func localAPIID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// printTemplateBanner lists what the template runs.
func printTemplateBanner(w io.Writer, run *templateRun) {
	tpl := run.tpl
	api := tpl.API
	fmt.Fprintf(w, "  Template:        %s   (API %s, route selection %s)\n", tpl.File, api.LogicalID, api.RouteSelectionExpression)
	for _, k := range api.RouteKeys() {
		r := api.Routes[k]
		extra := ""
		if r.TwoWay {
			extra = ", route response"
		}
		fmt.Fprintf(w, "  Route:           %-12s → %s%s\n", k, r.Function, extra)
	}
	if a := api.Authorizer; a != nil {
		fmt.Fprintf(w, "  Authorizer:      %s → %s   (identity source %s)\n", a.Name, a.Function, strings.Join(a.IdentitySource, ", "))
	}
	for _, t := range tpl.Tables {
		fmt.Fprintf(w, "  Table:           %s   (%s)\n", t.Name, t.LogicalID)
	}
}
