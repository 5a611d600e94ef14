package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/lambdarun"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// spec is lawckettest's room spec with a literal field added.
const spec = lawckettest.RoomSpec + `  channel: "#general"
`

// badSpec has two problems; both must be reported with their positions.
const badSpec = `table: Connections
ttl: soon
fields:
  room:
    expr: query.room +
`

// The events, as API Gateway sends them.
var (
	connectEvent    = lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada")))
	noQueryEvent    = lawckettest.JSON(lawckettest.Connect(lawckettest.ConnectionID("BQ1b0nQueryKeys=")))
	messageEvent    = lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`))
	disconnectEvent = lawckettest.JSON(lawckettest.Disconnect())
)

// modes are the ways the bootstrap is run: under aws-lambda-rie when it is
// installed (the Done-when of the issue), and always under the Runtime API
// of internal/runtimeapi (which also relays the init/error report).
func modes(t *testing.T) map[string]string {
	m := map[string]string{"runtime-api": ""}
	if rie, ok := lambdarun.FindRIE(); ok {
		m["rie"] = rie
	} else {
		if os.Getenv("CI") == "true" {
			t.Errorf("aws-lambda-rie not found (CI=true): go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest")
		}
		t.Log("aws-lambda-rie not found: running under internal/runtimeapi's Runtime API only")
	}
	return m
}

func proxy(t *testing.T, endpoint string) (string, *dynalitetest.Counter) {
	c := &dynalitetest.Counter{}
	srv, err := c.Proxy(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.URL, c
}

func awsEnv(endpoint string, dir string) []string {
	return []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-credentials"),
		"LAWCKET_CONFIG=", "LAWCKET_TABLE=", "LAWCKET_TTL=", "LAWCKET_METRICS_NAMESPACE=",
	}
}

func TestBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	endpoint := dynalitetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bootstrap, err := lambdarun.Build(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// lawcket.yaml beside the bootstrap, as in the deployment package.
	if err := os.WriteFile(filepath.Join(dir, "lawcket.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := syncspec.Parse("lawcket.yaml", []byte(spec), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	client := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, client, dynamo.TableDefinition(parsed, ""))
	table, err := dynamo.NewTable(ctx, parsed, dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	proxied, count := proxy(t, endpoint)

	for name, rie := range modes(t) {
		t.Run(name, func(t *testing.T) {
			fn, err := lambdarun.Start(ctx, rie, bootstrap, append(awsEnv(proxied, dir), "LAWCKET_METRICS_NAMESPACE=lawcket-test"))
			if err != nil {
				t.Fatal(err)
			}
			defer fn.Close()
			invoke := func(t *testing.T, event []byte) events.APIGatewayProxyResponse {
				t.Helper()
				count.Reset()
				r, err := fn.Invoke(ctx, event)
				if err != nil {
					t.Fatalf("%v\n%s", err, fn.Output())
				}
				if r.Error != "" {
					t.Fatalf("function error %s: %s\n%s", r.Error, r.Payload, fn.Output())
				}
				var resp events.APIGatewayProxyResponse
				if err := json.Unmarshal(r.Payload, &resp); err != nil {
					t.Fatalf("response %s: %v", r.Payload, err)
				}
				return resp
			}
			row := func(t *testing.T, id string) map[string]any {
				t.Helper()
				r, err := table.Get(ctx, id)
				if errors.Is(err, dynamo.ErrNotFound) {
					return nil
				}
				if err != nil {
					t.Fatal(err)
				}
				return plain(r.Item)
			}

			connect := connectEvent
			resp := invoke(t, connect)
			if resp.StatusCode != 200 {
				t.Fatalf("connect: %d %q\n%s", resp.StatusCode, resp.Body, fn.Output())
			}
			if n, p := count.Count(""), count.Count("PutItem"); n != 1 || p != 1 {
				t.Errorf("connect: %d requests (%d PutItem), want exactly 1 PutItem", n, p)
			}
			got := row(t, lawckettest.DefaultConnectionID)
			for _, attr := range []string{"connectionId", "domainName", "stage", "connectedAt", "expiresAt", "channel", "user", "room"} {
				if _, ok := got[attr]; !ok {
					t.Errorf("row has no %s: %v", attr, got)
				}
			}
			if got["room"] != "S:lobby" || got["user"] != "S:ada" || got["connectedAt"] != "N:1731324924553" || !strings.HasPrefix(fmt.Sprint(got["expiresAt"]), "N:") {
				t.Errorf("row %v", got)
			}

			resp = invoke(t, messageEvent)
			if resp.StatusCode != 200 {
				t.Errorf("message: %d %q", resp.StatusCode, resp.Body)
			}
			if n := count.Count(""); n != 0 {
				t.Errorf("message made %d DynamoDB requests, want 0", n)
			}

			resp = invoke(t, disconnectEvent)
			if resp.StatusCode != 200 {
				t.Errorf("disconnect: %d %q", resp.StatusCode, resp.Body)
			}
			if n, d := count.Count(""), count.Count("DeleteItem"); n != 1 || d != 1 {
				t.Errorf("disconnect: %d requests (%d DeleteItem), want exactly 1 DeleteItem", n, d)
			}
			if got := row(t, lawckettest.DefaultConnectionID); got != nil {
				t.Errorf("row still there after disconnect: %v", got)
			}

			resp = invoke(t, noQueryEvent)
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, "field room") {
				t.Errorf("connect without room: %d %q, want 400 naming field room", resp.StatusCode, resp.Body)
			}
			if n := count.Count(""); n != 0 {
				t.Errorf("refused connect made %d DynamoDB requests, want 0", n)
			}
			var noQuery events.APIGatewayWebsocketProxyRequest
			if err := json.Unmarshal(noQueryEvent, &noQuery); err != nil {
				t.Fatal(err)
			}
			if got := row(t, noQuery.RequestContext.ConnectionID); got != nil {
				t.Errorf("refused connection has a row: %v", got)
			}

			// LAWCKET_METRICS_NAMESPACE: one EMF line on stdout per connect
			// and disconnect (none for the message), with the status.
			var lines []string
			for _, l := range emfLines(t, fn.Output()) {
				aws := l["_aws"].(map[string]any)
				dirs := aws["CloudWatchMetrics"].([]any)
				if ns := dirs[0].(map[string]any)["Namespace"]; ns != "lawcket-test" || len(dirs) != 2 {
					t.Errorf("line %v: namespace %v", l, ns)
				}
				lines = append(lines, fmt.Sprintf("%v %v %v accepted=%v refused=%v", l["Stage"], l["EventType"], l["Status"], l["Accepted"], l["Refused"]))
			}
			want := []string{"prod connect 200 accepted=1 refused=0", "prod disconnect 200 accepted=1 refused=0", "prod connect 400 accepted=0 refused=1"}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("EMF lines:\n%s\nwant:\n%s\noutput:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"), fn.Output())
			}
		})
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(badSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, rie := range modes(t) {
		t.Run(name+"/invalid spec", func(t *testing.T) {
			env := append(awsEnv(proxied, dir), "LAWCKET_CONFIG="+bad)
			fn, err := lambdarun.Start(ctx, rie, bootstrap, env)
			if err != nil {
				t.Fatal(err)
			}
			defer fn.Close()
			r, err := fn.Invoke(ctx, connectEvent)
			if err != nil {
				t.Fatal(err)
			}
			if r.Error == "" {
				t.Fatalf("invalid spec: invocation succeeded: %s", r.Payload)
			}
			// Both problems, positioned, in the log; and in the init error
			// report where the runtime relays it.
			for _, want := range []string{bad + ":2:6", bad + ":5:"} {
				if !strings.Contains(fn.Output(), want) {
					t.Errorf("log lacks %q:\n%s", want, fn.Output())
				}
			}
			if r.Error != "lawcket.InitError" || !strings.Contains(string(r.Payload), bad+":2:6") {
				t.Errorf("init error report: %s %s", r.Error, r.Payload)
			}
			t.Logf("%s: invoke with an invalid spec → %s %s", name, r.Error, r.Payload)
		})
	}
}

// emfLines returns the CloudWatch EMF lines (JSON objects with "_aws") of
// a function's output.
func emfLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		i := strings.Index(l, `{`)
		if i < 0 || !strings.Contains(l, `"_aws"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l[i:]), &m); err != nil {
			t.Errorf("an EMF line that is not one JSON object: %v\n%s", err, l)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}
