package lambdarun

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// runtimeAPI is the minimal Lambda Runtime API a custom runtime talks to.
type runtimeAPI struct {
	events  chan invocation
	results chan Result
	ids     atomic.Int64
}

type invocation struct {
	id    string
	event []byte
}

func (rt *runtimeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-rt.events:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:lawcket-sync")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
			w.Write(inv.event)
		case <-r.Context().Done():
		}
	})
	result := func(errType func(*http.Request) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			rt.results <- Result{Payload: body, Error: errType(r)}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	errType := func(r *http.Request) string {
		if t := r.Header.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			return t
		}
		return "Unhandled"
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", result(func(*http.Request) string { return "" }))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", result(errType))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", result(errType))
	return mux
}

func startRuntimeAPI(ctx context.Context, bootstrap string, env []string) (*Function, error) {
	rt := &runtimeAPI{events: make(chan invocation), results: make(chan Result, 4)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: rt.handler()}
	go srv.Serve(l)

	out := &syncBuffer{}
	cmd := exec.Command(bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(), append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=lawcket-sync",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
	}, env...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("lambdarun: start bootstrap: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
		srv.Close()
	}
	invoke := func(ctx context.Context, event []byte) (Result, error) {
		id := fmt.Sprint("req-", rt.ids.Add(1))
		select {
		case r := <-rt.results: // an init error posted before any invocation
			return r, nil
		case rt.events <- invocation{id: id, event: event}:
		case <-exited:
			return rt.exitResult()
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		select {
		case r := <-rt.results:
			return r, nil
		case <-exited:
			return rt.exitResult()
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	return &Function{Mode: "runtime-api", invoke: invoke, stop: stop, stderr: out}, nil
}

// exitResult is the result after the bootstrap exited: the init error it
// posted, if any, else Runtime.ExitError (as Lambda reports it).
func (rt *runtimeAPI) exitResult() (Result, error) {
	select {
	case r := <-rt.results:
		return r, nil
	case <-time.After(100 * time.Millisecond):
	}
	return Result{Payload: []byte(`{"errorType":"Runtime.ExitError","errorMessage":"bootstrap exited"}`), Error: "Runtime.ExitError"}, nil
}
