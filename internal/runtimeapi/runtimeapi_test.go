package runtimeapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// rawRuntimeEnv makes the test binary a custom runtime speaking the Runtime
// API with plain HTTP (see rawRuntime), to check the protocol itself.
const rawRuntimeEnv = "RUNTIMEAPI_TEST_RAW_RUNTIME"

func TestMain(m *testing.M) {
	if os.Getenv(rawRuntimeEnv) != "" {
		os.Exit(rawRuntime())
	}
	os.Exit(m.Run())
}

// rawRuntime checks every invocation's headers, answers a wrong request id
// first (it must be refused with 400), then accepts connects and fails
// messages through /error. Protocol violations exit with status 2.
func rawRuntime() int {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "PROTOCOL: "+format+"\n", args...)
		return 2
	}
	for {
		resp, err := http.Get(base + "next")
		if err != nil {
			return fail("next: %v", err)
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		deadline, err := strconv.ParseInt(resp.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
		switch {
		case resp.StatusCode != http.StatusOK:
			return fail("next: status %d", resp.StatusCode)
		case id == "":
			return fail("no Lambda-Runtime-Aws-Request-Id")
		case err != nil || deadline < time.Now().UnixMilli():
			return fail("Lambda-Runtime-Deadline-Ms %q", resp.Header.Get("Lambda-Runtime-Deadline-Ms"))
		case !strings.HasPrefix(resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"), "arn:aws:lambda:"):
			return fail("Lambda-Runtime-Invoked-Function-Arn %q", resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn"))
		case !strings.HasPrefix(resp.Header.Get("Lambda-Runtime-Trace-Id"), "Root=1-"):
			return fail("Lambda-Runtime-Trace-Id %q", resp.Header.Get("Lambda-Runtime-Trace-Id"))
		}
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fail("payload: %v", err)
		}
		post := func(path, body string) (int, error) {
			r, err := http.Post(base+path, "application/json", strings.NewReader(body))
			if err != nil {
				return 0, err
			}
			r.Body.Close()
			return r.StatusCode, nil
		}
		if code, err := post("not-"+id+"/response", `{}`); err != nil || code != http.StatusBadRequest {
			return fail("response for a wrong id: %d %v, want 400", code, err)
		}
		if ms, _ := strconv.Atoi(os.Getenv("RUNTIMEAPI_TEST_SLEEP_MS")); ms > 0 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		path, body := id+"/response", `{"statusCode":200}`
		if ev.RequestContext.EventType == "MESSAGE" {
			path, body = id+"/error", `{"errorMessage":"boom","errorType":"RawError"}`
		}
		if code, err := post(path, body); err != nil || code != http.StatusAccepted {
			return fail("%s: %d %v, want 202", path, code, err)
		}
	}
}

func TestFunctionInvoke(t *testing.T) {
	t.Setenv(rawRuntimeEnv, "1")
	out := &testsupport.SyncBuffer{}
	ctx := t.Context()
	fn, err := runtimeapi.StartFunction(ctx, runtimeapi.FunctionConfig{
		Command: []string{os.Args[0], "-test.run=^$"},
		Logger:  slog.New(slog.NewTextHandler(out, nil)),
		Output:  out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if err := fn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	event := func(eventType string) []byte {
		b, _ := json.Marshal(events.APIGatewayWebsocketProxyRequest{
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{EventType: eventType},
		})
		return b
	}
	if body, err := fn.Invoke(ctx, event("CONNECT")); err != nil || string(body) != `{"statusCode":200}` {
		t.Errorf("CONNECT: %s, %v; want the response posted\n%s", body, err, out)
	}
	_, err = fn.Invoke(ctx, event("MESSAGE"))
	var fe *runtimeapi.FunctionError
	if !errors.Is(err, runtimeapi.ErrFunction) || !errors.As(err, &fe) || fe.Type != "RawError" || fe.Message != "boom" {
		t.Errorf("MESSAGE: %v; want ErrFunction with RawError: boom", err)
	}
	if fn.InitError() != nil {
		t.Errorf("InitError: %v", fn.InitError())
	}
	if strings.Contains(out.String(), "PROTOCOL") {
		t.Errorf("the runtime saw a protocol violation:\n%s", out)
	}
}

// TestQueueWaitNotCharged: with one busy process, invocations queue; the
// wait is not charged to the timeout (Lambda would use another
// environment), only each one's own run is.
func TestQueueWaitNotCharged(t *testing.T) {
	t.Setenv(rawRuntimeEnv, "1")
	t.Setenv("RUNTIMEAPI_TEST_SLEEP_MS", "600")
	out := &testsupport.SyncBuffer{}
	ctx := t.Context()
	fn, err := runtimeapi.StartFunction(ctx, runtimeapi.FunctionConfig{
		Command: []string{os.Args[0], "-test.run=^$"},
		Timeout: time.Second,
		Logger:  slog.New(slog.NewTextHandler(out, nil)),
		Output:  out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if err := fn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	event, _ := json.Marshal(events.APIGatewayWebsocketProxyRequest{
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{EventType: "CONNECT"},
	})
	errs := make(chan error, 4)
	start := time.Now()
	for range 4 {
		go func() {
			_, err := fn.Invoke(ctx, event)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("queued invocation: %v\n%s", err, out)
		}
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("4 invocations of 0.6 s on one process took %v: not queued?", d)
	}
}
