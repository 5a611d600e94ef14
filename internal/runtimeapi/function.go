package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FunctionConfig configures a Function: a Lambda handler binary run as in a
// Lambda execution environment, behind this package's Runtime API. The zero
// value of every field means its default; only Command is required.
type FunctionConfig struct {
	// Command is the handler binary and its arguments, started with
	// AWS_LAMBDA_RUNTIME_API pointing at the Runtime API. A command with a
	// path separator is relative to the current directory, not to Dir.
	Command []string
	// Dir is the handler's working directory (default the current one).
	Dir string
	// Env is added last to the handler's environment (KEY=VALUE), so it
	// overrides what is set for it (see StartFunction).
	Env []string
	// Concurrency is the number of handler processes (default 1); each
	// handles one invocation at a time.
	Concurrency int
	// Timeout bounds each invocation (default DefaultTimeout); a handler
	// that takes longer is killed and restarted.
	Timeout time.Duration
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME (default DefaultFunctionName).
	FunctionName string
	// Region is AWS_REGION for the handler (default $AWS_REGION, else
	// DefaultRegion).
	Region string
	// Logger receives the log of the processes' lifecycle: crashes, init
	// errors, restarts (default slog.Default()).
	Logger *slog.Logger
	// Output receives the handler's stdout and stderr, each line prefixed
	// with "[FunctionName n] " (default os.Stderr).
	Output io.Writer
}

// Defaults for the zero values of FunctionConfig.
const (
	DefaultTimeout      = 29 * time.Second
	DefaultFunctionName = "lawcket-dev"
	DefaultRegion       = "us-east-1"
)

// SetDefaults checks c, resolves Command on PATH (to an absolute path when
// it names a path) and fills in the defaults. StartFunction calls it; it is
// exported for callers that validate a configuration before starting it.
// Calling it again changes nothing.
func (c *FunctionConfig) SetDefaults() error {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return errors.New("runtimeapi: no handler command")
	}
	path, err := exec.LookPath(c.Command[0])
	if err != nil {
		return fmt.Errorf("runtimeapi: handler command: %w", err)
	}
	if strings.ContainsRune(c.Command[0], filepath.Separator) {
		if path, err = filepath.Abs(path); err != nil {
			return fmt.Errorf("runtimeapi: handler command: %w", err)
		}
	}
	c.Command = append([]string{path}, c.Command[1:]...)
	c.FillDefaults()
	if c.Concurrency < 0 || c.Concurrency > 1000 {
		return fmt.Errorf("runtimeapi: concurrency %d: want 1 to 1000", c.Concurrency)
	}
	if c.Timeout < 0 {
		return errors.New("runtimeapi: timeouts must be positive")
	}
	return nil
}

// FillDefaults sets the zero fields other than Command to their defaults
// (SetDefaults' defaults, without resolving Command or checking values).
func (c *FunctionConfig) FillDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.FunctionName == "" {
		c.FunctionName = DefaultFunctionName
	}
	if c.Region == "" {
		c.Region = os.Getenv("AWS_REGION")
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Output == nil {
		c.Output = os.Stderr
	}
}

func (c *FunctionConfig) functionARN() string {
	return "arn:aws:lambda:" + c.Region + ":000000000000:function:" + c.FunctionName
}

// environ is the handler's environment without AWS_LAMBDA_RUNTIME_API (each
// process gets its own): this process's environment without credentials,
// profiles and endpoints, the variables Lambda sets, then Env.
func (c *FunctionConfig) environ() []string {
	drop := map[string]bool{
		"AWS_LAMBDA_RUNTIME_API": true, "AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true,
		"AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true, "AWS_ENDPOINT_URL": true,
		"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true,
		"AWS_LAMBDA_MAX_CONCURRENCY": true, // one invocation at a time per process
		"_LAMBDA_SERVER_PORT":        true, // would select aws-lambda-go's legacy RPC mode
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	cwd := c.Dir
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	name := c.FunctionName
	env = append(env,
		"AWS_REGION="+c.Region,
		"AWS_DEFAULT_REGION="+c.Region,
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+name,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+randomHex(16),
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER="+filepath.Base(c.Command[0]),
		"LAMBDA_TASK_ROOT="+cwd,
		"LAMBDA_RUNTIME_DIR="+cwd,
	)
	return append(env, c.Env...)
}

// Function is a Lambda handler binary running behind this package's Lambda
// Runtime API, invoked with raw payloads (internal/devgw sends it API
// Gateway events). Start it with StartFunction, stop it
// with Close. Its methods are safe for concurrent use.
//
// A process that exits is restarted (with a growing delay while it keeps
// failing its init); while no process is healthy and the last start failed,
// Invoke fails at once with ErrUnavailable wrapping the init error.
type Function struct {
	pool *pool
}

// StartFunction starts cfg.Concurrency processes of cfg.Command, each with
// its own Runtime API endpoint on loopback. Their environment is this
// process's without AWS credentials, profiles and endpoints, plus the
// variables Lambda sets (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...) and
// cfg.Env. It returns without waiting for a process to be ready (see
// WaitReady); ctx bounds the start-up only.
func StartFunction(ctx context.Context, cfg FunctionConfig) (*Function, error) {
	if err := cfg.SetDefaults(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := newPool(&cfg)
	if err := p.start(); err != nil {
		return nil, err
	}
	return &Function{pool: p}, nil
}

// Invoke sends payload to a handler process and returns its response. It
// fails with an error wrapping ErrFunction and a *FunctionError when the
// handler answered with an error; ErrCrashed, ErrTimeout or ErrUnavailable
// (wrapping the init error, a *FunctionError when the handler reported it)
// otherwise. ctx bounds the wait for a process to take the invocation; once
// taken, it runs until answered or FunctionConfig.Timeout, counted from
// when a process took it. While no process is healthy the wait is bounded
// by Timeout too (ErrTimeout); while processes are healthy but all busy it
// is not charged to Timeout (on AWS, Lambda would use another execution
// environment), up to MaxQueueWait.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.pool.invoke(ctx, payload)
}

// WaitReady waits until a handler process asks for its first invocation.
// When ctx ends first, it returns the last init error, if any.
func (f *Function) WaitReady(ctx context.Context) error {
	select {
	case <-f.pool.ready():
		return nil
	default:
	}
	select {
	case <-f.pool.ready():
		return nil
	case <-ctx.Done():
		if err := f.InitError(); err != nil {
			return fmt.Errorf("runtimeapi: handler not ready: %w", err)
		}
		return ctx.Err()
	}
}

// InitError is the last init failure (the process did not start, exited
// before asking for an invocation, or posted /runtime/init/error), or nil
// once a process is healthy. When the handler reported it, it wraps a
// *FunctionError.
func (f *Function) InitError() error {
	f.pool.mu.Lock()
	defer f.pool.mu.Unlock()
	return f.pool.lastInit
}

// Close stops the processes (SIGTERM, then SIGKILL after 2 s); an
// invocation in flight ends with ErrCrashed.
func (f *Function) Close() { f.pool.stop() }

// FunctionError is an error a handler reported on the Runtime API (POST
// .../error or /runtime/init/error): {"errorMessage": ..., "errorType": ...}.
type FunctionError struct {
	Type    string // errorType
	Message string // errorMessage
	Payload []byte // the body as posted
}

func newFunctionError(body []byte) *FunctionError {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	fe := &FunctionError{Payload: body}
	if json.Unmarshal(body, &e) == nil {
		fe.Type, fe.Message = e.ErrorType, e.ErrorMessage
	}
	return fe
}

// Error is "errorType: errorMessage", or the body when it is not an error
// document.
func (e *FunctionError) Error() string {
	if e.Message == "" && e.Type == "" {
		s := strings.TrimSpace(string(e.Payload))
		if s == "" {
			return "(empty error)"
		}
		return s
	}
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}
