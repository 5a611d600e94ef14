package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/syncspec"
)

// The README program is run for real: this test binary re-executes itself
// with runMainEnv set, which runs main(), whose lambda.Start talks to a fake
// Lambda Runtime API served by the test. DynamoDB is dynalite; the
// Management API is a local HTTP server.
const runMainEnv = "LAWCKET_README_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // never returns: lambda.Start loops until the process is killed
		return
	}
	os.Exit(m.Run())
}

// runtimeAPI is the part of the Lambda Runtime API that aws-lambda-go uses:
// it hands out one event per /next and collects the /response or /error.
type runtimeAPI struct {
	*httptest.Server
	events  chan []byte
	results chan result
	mu      sync.Mutex
	n       int
}

type result struct {
	body  string
	isErr bool
}

func newRuntimeAPI(t *testing.T) *runtimeAPI {
	rt := &runtimeAPI{events: make(chan []byte), results: make(chan result, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case ev := <-rt.events:
			rt.mu.Lock()
			rt.n++
			id := fmt.Sprint("req-", rt.n)
			rt.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(30*time.Second).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:readme")
			w.Write(ev)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.results <- result{body: string(b)}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rt.results <- result{body: string(b), isErr: true}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		t.Errorf("init error: %s", b)
		w.WriteHeader(http.StatusAccepted)
	})
	rt.Server = httptest.NewServer(mux)
	return rt
}

// invoke sends one event to the function and waits for its answer.
func (rt *runtimeAPI) invoke(t *testing.T, raw []byte) result {
	t.Helper()
	select {
	case rt.events <- raw:
	case <-time.After(30 * time.Second):
		t.Fatal("the function never asked for the next event")
	}
	select {
	case r := <-rt.results:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the function never answered")
	}
	return result{}
}

type mgmtServer struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string
}

func (m *mgmtServer) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.posts...)
}

func TestReadmeProgram(t *testing.T) {
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, db, dynamo.TableDefinition(spec, spec.Table))
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(db))
	if err != nil {
		t.Fatal(err)
	}

	mgmt := &mgmtServer{}
	mgmt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mgmt.mu.Lock()
		mgmt.posts = append(mgmt.posts, r.Method+" "+r.URL.Path+" "+string(b))
		mgmt.mu.Unlock()
	}))
	defer mgmt.Close()
	rt := newRuntimeAPI(t)

	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		runMainEnv+"=1",
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(rt.URL, "http://"),
		"AWS_ENDPOINT_URL_DYNAMODB="+endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"LAWCKET_MANAGEMENT_ENDPOINT="+mgmt.URL+"/{stage}",
	)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		rt.Close()
		if t.Failed() {
			t.Logf("program output:\n%s", stderr.String())
		}
	}()

	rows := func() []dynamo.Row {
		var out []dynamo.Row
		for row, err := range table.Connections(ctx, dynamo.Selector{}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, row)
		}
		return out
	}
	fixture := func(name string) []byte {
		b, err := os.ReadFile("../../testdata/events/" + name) // the wrapper's fixtures
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const id = "BQ1a2ecXDoECJQg="
	steps := []struct {
		file  string
		check func(t *testing.T)
	}{
		{"connect.json", func(t *testing.T) {
			if r := rows(); len(r) != 1 || r[0].ConnectionID != id {
				t.Errorf("rows after connect: %+v, want the connection's row", r)
			}
		}},
		{"message-default.json", func(t *testing.T) {
			want := "POST /prod/@connections/" + id + ` {"echo":"hello"}`
			if got := mgmt.got(); len(got) != 1 || got[0] != want {
				t.Errorf("Management API got %q, want %q", got, want)
			}
		}},
		{"message-route.json", func(t *testing.T) {
			var req events.APIGatewayWebsocketProxyRequest
			if err := json.Unmarshal(fixture("message-route.json"), &req); err != nil {
				t.Fatal(err)
			}
			echo, _ := json.Marshal(map[string]string{"echo": req.Body})
			want := "POST /prod/@connections/" + id + " " + string(echo)
			if got := mgmt.got(); len(got) != 2 || got[1] != want {
				t.Errorf("Management API got %q, want a second post %q", got, want)
			}
		}},
		{"disconnect.json", func(t *testing.T) {
			if r := rows(); len(r) != 0 {
				t.Errorf("rows after close: %+v, want none", r)
			}
		}},
	}
	for _, s := range steps {
		res := rt.invoke(t, fixture(s.file))
		if res.isErr || !strings.Contains(res.body, `"statusCode":200`) {
			t.Fatalf("%s: function answered %s (error: %v), want status 200", s.file, res.body, res.isErr)
		}
		s.check(t)
	}
}
