package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/runtimeapi"
	"github.com/lawcket/lawcket/internal/testsupport"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// The README program is run for real: this test binary re-executes itself
// with runMainEnv set, which runs main(), whose lambda.Start talks to the
// Lambda Runtime API `lawcket dev` runs handlers behind (a runtimeapi.Function).
// DynamoDB is dynalite; the Management API is a local HTTP server.
const runMainEnv = "LAWCKET_README_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // never returns: lambda.Start loops until the process is killed
		return
	}
	os.Exit(m.Run())
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
	out := &testsupport.SyncBuffer{}
	fn, err := runtimeapi.StartFunction(ctx, runtimeapi.FunctionConfig{
		Command: []string{os.Args[0], "-test.run=^$"},
		Env: []string{
			runMainEnv + "=1",
			"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
			"AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=test",
			"AWS_SECRET_ACCESS_KEY=test",
			"AWS_EC2_METADATA_DISABLED=true",
			"LAWCKET_MANAGEMENT_ENDPOINT=" + mgmt.URL + "/{stage}",
		},
		FunctionName: "readme",
		Timeout:      30 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(out, nil)),
		Output:       out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		fn.Close()
		if t.Failed() {
			t.Logf("program output:\n%s", out.String())
		}
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fn.WaitReady(waitCtx); err != nil {
		t.Fatalf("the function never asked for the next event: %v", err)
	}

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
	const id = lawckettest.DefaultConnectionID
	const routed = `{"action": "send", "room": "lobby", "text": "hi there"}`
	steps := []struct {
		name  string
		event events.APIGatewayWebsocketProxyRequest
		check func(t *testing.T)
	}{
		{"connect", lawckettest.Connect(lawckettest.Query("room", "lobby")), func(t *testing.T) {
			if r := rows(); len(r) != 1 || r[0].ConnectionID != id {
				t.Errorf("rows after connect: %+v, want the connection's row", r)
			}
		}},
		{"message", lawckettest.Message("hello"), func(t *testing.T) {
			want := "POST /prod/@connections/" + id + ` {"echo":"hello"}`
			if got := mgmt.got(); len(got) != 1 || got[0] != want {
				t.Errorf("Management API got %q, want %q", got, want)
			}
		}},
		{"message on a route", lawckettest.Message(routed, lawckettest.Route("send")), func(t *testing.T) {
			echo, _ := json.Marshal(map[string]string{"echo": routed})
			want := "POST /prod/@connections/" + id + " " + string(echo)
			if got := mgmt.got(); len(got) != 2 || got[1] != want {
				t.Errorf("Management API got %q, want a second post %q", got, want)
			}
		}},
		{"disconnect", lawckettest.Disconnect(), func(t *testing.T) {
			if r := rows(); len(r) != 0 {
				t.Errorf("rows after close: %+v, want none", r)
			}
		}},
	}
	for _, s := range steps {
		body, err := fn.Invoke(ctx, lawckettest.JSON(s.event))
		if err != nil || !strings.Contains(string(body), `"statusCode":200`) {
			t.Fatalf("%s: function answered %s (error: %v), want status 200", s.name, body, err)
		}
		s.check(t)
	}
}
