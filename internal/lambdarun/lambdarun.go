package lambdarun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// Build compiles cmd/lawcket-sync as dir/bootstrap exactly as for
// provided.al2023 (CGO_ENABLED=0, -tags lambda.norpc), for the host's
// GOOS/GOARCH so it can run here.
func Build(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "github.com/lawcket/lawcket/cmd/lawcket-sync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdarun: go build: %v\n%s", err, b)
	}
	return out, nil
}

// FindRIE returns the path of aws-lambda-rie: $LAWCKET_RIE, else on PATH,
// else in $(go env GOPATH)/bin.
func FindRIE() (string, bool) {
	if p := os.Getenv("LAWCKET_RIE"); p != "" {
		return p, true
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, true
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(gopath))) {
			p := filepath.Join(dir, "bin", "aws-lambda-rie")
			if _, err := os.Stat(p); err == nil {
				return p, true
			}
		}
	}
	return "", false
}

// Result is the outcome of one invocation.
type Result struct {
	// Payload is the function's response, or the error document
	// ({"errorMessage": …, "errorType": …}) when Error is set.
	Payload []byte
	// Error is the error type when the invocation or the init failed.
	Error string
}

// Function is a running bootstrap.
type Function struct {
	// Mode is "rie" or "runtime-api".
	Mode   string
	invoke func(ctx context.Context, event []byte) (Result, error)
	stop   func()
	stderr *testsupport.SyncBuffer
	mu     sync.Mutex
}

// Invoke sends one event and waits for its result.
func (f *Function) Invoke(ctx context.Context, event []byte) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.invoke(ctx, event)
}

// Output is what the bootstrap (and the emulator) wrote to stdout and stderr so far.
func (f *Function) Output() string { return f.stderr.String() }

// Close stops the bootstrap (and the emulator).
func (f *Function) Close() { f.stop() }

// Start runs bootstrap with env added to the environment: under rie when
// rie is not empty, else under internal/runtimeapi's Runtime API (the one `lawcket dev`
// runs handlers behind).
func Start(ctx context.Context, rie, bootstrap string, env []string) (*Function, error) {
	if rie != "" {
		return startRIE(ctx, rie, bootstrap, env)
	}
	out := &testsupport.SyncBuffer{}
	fn, err := runtimeapi.StartFunction(ctx, runtimeapi.FunctionConfig{
		Command:      []string{bootstrap},
		Dir:          filepath.Dir(bootstrap),
		Env:          env,
		FunctionName: "lawcket-sync",
		Logger:       slog.New(slog.NewTextHandler(out, nil)),
		Output:       out,
	})
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %w", err)
	}
	invoke := func(ctx context.Context, event []byte) (Result, error) {
		body, err := fn.Invoke(ctx, event)
		return runtimeAPIResult(body, err)
	}
	return &Function{Mode: "runtime-api", invoke: invoke, stop: fn.Close, stderr: out}, nil
}

// runtimeAPIResult is the outcome of a runtimeapi invocation as Lambda reports
// it: the error document the function or its init posted, Runtime.ExitError
// when the bootstrap exited without one.
func runtimeAPIResult(body []byte, err error) (Result, error) {
	var fe *runtimeapi.FunctionError
	switch {
	case err == nil:
		return Result{Payload: body}, nil
	case errors.As(err, &fe):
		r := Result{Payload: fe.Payload, Error: fe.Type}
		if r.Error == "" {
			r.Error = "Unhandled"
		}
		return r, nil
	case errors.Is(err, runtimeapi.ErrCrashed), errors.Is(err, runtimeapi.ErrUnavailable):
		doc, _ := json.Marshal(map[string]string{"errorType": "Runtime.ExitError", "errorMessage": err.Error()})
		return Result{Payload: doc, Error: "Runtime.ExitError"}, nil
	}
	return Result{}, err
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startRIE(ctx context.Context, rie, bootstrap string, env []string) (*Function, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	out := &testsupport.SyncBuffer{}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, "--log-level", "error", bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdarun: start %s: %w", rie, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("lambdarun: aws-lambda-rie exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("lambdarun: aws-lambda-rie did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	invoke := func(ctx context.Context, event []byte) (Result, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
		if err != nil {
			return Result{}, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return Result{}, fmt.Errorf("lambdarun: invoke: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return Result{}, err
		}
		r := Result{Payload: body}
		if t := resp.Header.Get("X-Amz-Function-Error"); t != "" {
			r.Error = t
		} else if t := errorType(body); t != "" {
			r.Error = t
		}
		return r, nil
	}
	return &Function{Mode: "rie", invoke: invoke, stop: stop, stderr: out}, nil
}

// errorType is the errorType of an error document, or "".
func errorType(body []byte) string {
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	return doc.ErrorType
}
