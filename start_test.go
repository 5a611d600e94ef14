package lawcket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
)

// fakeRuntime is the Lambda Runtime API as far as Start's tests need it:
// it hands out the queued payloads on /invocation/next (then blocks), and
// records every request and the responses.
type fakeRuntime struct {
	*httptest.Server
	mu        sync.Mutex
	paths     []string
	queue     [][]byte
	responses chan string
	initErr   chan string
	done      chan struct{}
}

func newFakeRuntime(t *testing.T, payloads ...[]byte) *fakeRuntime {
	f := &fakeRuntime{queue: payloads, responses: make(chan string, 16), initErr: make(chan string, 1), done: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		var next []byte
		if r.URL.Path == "/2018-06-01/runtime/invocation/next" && len(f.queue) > 0 {
			next, f.queue = f.queue[0], f.queue[1:]
		}
		f.mu.Unlock()
		switch {
		case r.URL.Path == "/2018-06-01/runtime/init/error":
			f.initErr <- string(body)
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/2018-06-01/runtime/invocation/next" && next != nil:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", fmt.Sprintf("req-%d", time.Now().UnixNano()))
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:ws")
			w.Write(next)
		case r.URL.Path == "/2018-06-01/runtime/invocation/next":
			select { // no more events: hold the runtime loop until the test ends
			case <-f.done:
			case <-r.Context().Done():
			}
		case strings.HasSuffix(r.URL.Path, "/response") || strings.HasSuffix(r.URL.Path, "/error"):
			f.responses <- r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:] + " " + string(body)
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(func() { close(f.done); f.Close() })
	return f
}

func (f *fakeRuntime) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

// TestMain lets a test run Start in a child process (Start exits or never
// returns): LAWCKET_TEST_START names the App to start.
func TestMain(m *testing.M) {
	switch os.Getenv("LAWCKET_TEST_START") {
	case "":
		os.Exit(m.Run())
	case "misconfigured":
		app := lawcket.New(lawcket.WithPlugins(nil), lawcket.WithSubprotocols("bad protocol"))
		app.On(lawcket.Message, nil)
		app.Start()
	case "failinit":
		lawcket.FailInit(fmt.Errorf("my-sync: invalid spec:\n%w", errors.Join(errors.New("spec.yaml:2:6: ttl: not a duration"), errors.New("spec.yaml:5:9: fields.room.expr: unexpected end"))))
	case "options":
		type key struct{}
		app := lawcket.New()
		app.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
			v, _ := ctx.Value(key{}).(string)
			return lawcket.Reject(http.StatusTeapot, "context value "+v)
		})
		app.Start(lambda.WithContextValue(key{}, "from lambda.Option"))
	}
	fmt.Fprintln(os.Stderr, "Start returned")
	os.Exit(3)
}

// startChild runs the App named by which in a child process against the
// fake Runtime API.
func startChild(t *testing.T, which string, rt *fakeRuntime) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LAWCKET_TEST_START="+which, "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(rt.URL, "http://"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

func TestStartRefusesAMisconfiguredApp(t *testing.T) {
	rt := newFakeRuntime(t, lawckettest.JSON(lawckettest.Message("hi")))
	cmd, stderr := startChild(t, "misconfigured", rt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("Start of a misconfigured App did not exit; runtime requests: %q; stderr:\n%s", rt.requests(), stderr)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr)
	}
	for _, want := range []string{"WithPlugins: plugin 0 is nil", `invalid subprotocol \"bad protocol\"`, "On(message): nil handler", "not starting: invalid configuration"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, p := range rt.requests() {
		if strings.Contains(p, "/invocation/") {
			t.Errorf("a misconfigured App asked the Runtime API for events: %q", rt.requests())
		}
	}
	select {
	case body := <-rt.initErr:
		if !strings.Contains(body, "lawcket.InitError") || !strings.Contains(body, "plugin 0 is nil") {
			t.Errorf("init error: %s", body)
		}
	default:
		t.Errorf("no init error reported; runtime requests: %q", rt.requests())
	}
}

func TestStartTakesLambdaOptionsAndDecodesItself(t *testing.T) {
	rt := newFakeRuntime(t,
		lawckettest.JSON(lawckettest.Message("hi")),
		[]byte(`{"requestContext":{"eventType":"CONNECT","routeKey":"$connect","connectionId":12345,"connectedAt":"yesterday"}}`),
	)
	cmd, stderr := startChild(t, "options", rt)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var got []string
	for len(got) < 2 {
		select {
		case r := <-rt.responses:
			got = append(got, r)
		case <-time.After(20 * time.Second):
			t.Fatalf("responses %q; runtime requests %q; stderr:\n%s", got, rt.requests(), stderr)
		}
	}
	var first, second events.APIGatewayProxyResponse
	if !strings.HasPrefix(got[0], "response ") || json.Unmarshal([]byte(strings.TrimPrefix(got[0], "response ")), &first) != nil ||
		first.StatusCode != http.StatusTeapot || first.Body != "context value from lambda.Option" {
		t.Errorf("first response %q: the lambda.Option did not reach the handler", got[0])
	}
	if !strings.HasPrefix(got[1], "response ") || json.Unmarshal([]byte(strings.TrimPrefix(got[1], "response ")), &second) != nil ||
		second.StatusCode != http.StatusBadRequest || !strings.Contains(second.Body, "requestContext.connectionId") {
		t.Errorf("second response %q: want 400 naming requestContext.connectionId", got[1])
	}
}

func TestFailInit(t *testing.T) {
	rt := newFakeRuntime(t)
	cmd, stderr := startChild(t, "failinit", rt)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr)
	}
	for _, want := range []string{"spec.yaml:2:6: ttl", "spec.yaml:5:9: fields.room.expr", "lawcket: init failed"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	select {
	case body := <-rt.initErr:
		if !strings.Contains(body, `"errorType":"lawcket.InitError"`) || !strings.Contains(body, "my-sync: invalid spec") || !strings.Contains(body, "spec.yaml:5:9") {
			t.Errorf("init error: %s", body)
		}
	default:
		t.Errorf("no init error reported; runtime requests: %q", rt.requests())
	}
}
