package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/syncspec"
)

// fullSpec has a field of every kind, a default, a required index field and a ttl.
const fullSpec = `table: Connections
ttl: 3h
fields:
  channel: "#general"
  limit: 42
  admin: false
  tags: [a, b]
  plan:
    value: { tier: free, seats: 3 }
  user:
    expr: query.user ?? "anonymous"
  room:
    expr: query.room
    required: true
    index: true
  team:
    expr: lower(headers["x-team"])
    default: none
  agent:
    expr: headers["user-agent"]
`

// noEnv keeps the test's process environment (LAWCKET_TABLE, …) out of specs.
func noEnv(string) (string, bool) { return "", false }

func parseSpec(t testing.TB, yaml string) *syncspec.Spec {
	t.Helper()
	spec, err := syncspec.Parse("lawcket.yaml", []byte(yaml), syncspec.WithLookupEnv(noEnv))
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return spec
}

// connectEvent is the tests' $connect, as API Gateway sends it
// (lawckettest), with the room and user the specs read; opts change it.
func connectEvent(opts ...lawckettest.Option) events.APIGatewayWebsocketProxyRequest {
	return lawckettest.Connect(append([]lawckettest.Option{lawckettest.Query("room", "lobby"), lawckettest.Query("user", "ada")}, opts...)...)
}

// env is one dynalite server with the spec's table and a counting client.
type env struct {
	client  *dynamodb.Client
	counter *dynalitetest.Counter
	spec    *syncspec.Spec
}

func newEnv(t testing.TB, yaml string) *env {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	e := &env{counter: &dynalitetest.Counter{}, spec: parseSpec(t, yaml)}
	e.client = dynalitetest.Client(endpoint, dynalitetest.WithCounter(e.counter))
	dynalitetest.CreateTable(t, e.client, dynamo.TableDefinition(e.spec, ""))
	e.counter.Reset()
	return e
}

// invoker runs raw events through the real wrapper (an App with plugin p,
// opts and a no-op message handler) and the Lambda decode path.
type invoker struct{ h lambda.Handler }

func newInvoker(p lawcket.Plugin, opts ...lawcket.Option) invoker {
	app := lawcket.New(append(opts, lawcket.WithPlugins(p))...)
	app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	return invoker{h: lambda.NewHandler(app.Handler())}
}

func (in invoker) invoke(t testing.TB, raw []byte) (events.APIGatewayProxyResponse, error) {
	t.Helper()
	out, err := in.h.Invoke(context.Background(), raw)
	var resp events.APIGatewayProxyResponse
	if err == nil {
		if jerr := json.Unmarshal(out, &resp); jerr != nil {
			t.Fatalf("response %s: %v", out, jerr)
		}
	}
	return resp, err
}

func (e *env) items(t testing.TB) []map[string]types.AttributeValue {
	t.Helper()
	out, err := e.client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.spec.Table)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

var t0 = time.Date(2024, 11, 11, 11, 35, 24, 0, time.UTC)

func fixedClock(t time.Time) dynamo.Option { return dynamo.WithClock(func() time.Time { return t }) }

func TestLifecycleThroughWrapper(t *testing.T) {
	e := newEnv(t, fullSpec)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	inv := newInvoker(p)

	connect := lawckettest.JSON(connectEvent(
		lawckettest.Header("X-Team", "Blue"),
		// Query values named like reserved attributes are data: they change nothing.
		lawckettest.Query("connectionId", "forged"),
		lawckettest.Query("expiresAt", "0"),
	))
	resp, err := inv.invoke(t, connect)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("connect: %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	if n := e.counter.Count(""); n != 1 || e.counter.Count("PutItem") != 1 {
		t.Fatalf("connect made %d requests (%d PutItem), want exactly 1 PutItem", n, e.counter.Count("PutItem"))
	}
	items := e.items(t)
	if len(items) != 1 {
		t.Fatalf("%d rows after connect, want 1", len(items))
	}
	want := map[string]types.AttributeValue{
		"connectionId": &types.AttributeValueMemberS{Value: "BQ1a2ecXDoECJQg="},
		"domainName":   &types.AttributeValueMemberS{Value: "abc123def4.execute-api.eu-west-1.amazonaws.com"},
		"stage":        &types.AttributeValueMemberS{Value: "prod"},
		"connectedAt":  &types.AttributeValueMemberN{Value: "1731324924553"},
		"expiresAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(t0.Add(3*time.Hour).Unix(), 10)},
		"channel":      &types.AttributeValueMemberS{Value: "#general"},
		"limit":        &types.AttributeValueMemberN{Value: "42"},
		"admin":        &types.AttributeValueMemberBOOL{Value: false},
		"tags": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberS{Value: "b"},
		}},
		"plan": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"tier": &types.AttributeValueMemberS{Value: "free"}, "seats": &types.AttributeValueMemberN{Value: "3"},
		}},
		"user":  &types.AttributeValueMemberS{Value: "ada"},
		"room":  &types.AttributeValueMemberS{Value: "lobby"},
		"team":  &types.AttributeValueMemberS{Value: "blue"},
		"agent": &types.AttributeValueMemberS{Value: lawckettest.DefaultUserAgent},
	}
	if got, exp := render(items[0]), render(want); got != exp {
		t.Errorf("row\n got %s\nwant %s", got, exp)
	}

	e.counter.Reset()
	resp, err = inv.invoke(t, lawckettest.JSON(lawckettest.Message(`{"action":"sendmessage","text":"hi"}`)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("message: %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	if n := e.counter.Count(""); n != 0 {
		t.Fatalf("message made %d DynamoDB requests, want 0", n)
	}

	resp, err = inv.invoke(t, lawckettest.JSON(lawckettest.Disconnect()))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("disconnect: %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	if n := e.counter.Count(""); n != 1 || e.counter.Count("DeleteItem") != 1 {
		t.Fatalf("disconnect made %d requests (%d DeleteItem), want exactly 1 DeleteItem", n, e.counter.Count("DeleteItem"))
	}
	if items := e.items(t); len(items) != 0 {
		t.Fatalf("%d rows after disconnect, want 0: %s", len(items), render(items[0]))
	}
}

// render is a stable text form of an item, for comparisons and messages.
func render(item map[string]types.AttributeValue) string {
	b, _ := json.Marshal(typed(&types.AttributeValueMemberM{Value: item}))
	return string(b)
}

func TestRefusalsLeaveNoRowAndMakeNoRequest(t *testing.T) {
	e := newEnv(t, fullSpec)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	inv := newInvoker(p)
	tests := []struct {
		name  string
		req   events.APIGatewayWebsocketProxyRequest
		field string
	}{
		{"required field missing", connectEvent(lawckettest.Query("room")), "room"},
		{"no query string at all", lawckettest.Connect(), "room"},
		{"item over 400 KB", connectEvent(lawckettest.Query("user", strings.Repeat("x", dynamo.MaxItemSize))), "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.counter.Reset()
			resp, err := inv.invoke(t, lawckettest.JSON(tt.req))
			if err != nil {
				t.Fatalf("a refusal is not a fault, got Go error %v", err)
			}
			if resp.StatusCode != 400 || !strings.Contains(resp.Body, "field "+tt.field) {
				t.Errorf("response %d %q, want 400 naming field %s", resp.StatusCode, resp.Body, tt.field)
			}
			if n := e.counter.Count(""); n != 0 {
				t.Errorf("refused connect made %d DynamoDB requests, want 0", n)
			}
			if items := e.items(t); len(items) != 0 {
				t.Errorf("%d rows after a refusal, want 0", len(items))
			}
		})
	}
}

// TestStoreFailureIsAFault: a PutItem or DeleteItem that fails is returned
// as an error (not a refusal); the wrapper answers it with a Go error (500)
// and logs it once, naming the connection.
func TestStoreFailureIsAFault(t *testing.T) {
	e := newEnv(t, fullSpec)
	spec := parseSpec(t, strings.Replace(fullSpec, "table: Connections", "table: Missing", 1))
	p, err := dynamo.NewPlugin(context.Background(), spec, dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		req  events.APIGatewayWebsocketProxyRequest
		typ  lawcket.EventType
		hook func(context.Context, *lawcket.Event) error
	}{
		{"connect", connectEvent(), lawcket.Connect, p.OnConnect},
		{"close", lawckettest.Disconnect(), lawcket.Close, p.OnClose},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			raw := lawckettest.JSON(req)
			err := tt.hook(context.Background(), &lawcket.Event{Type: tt.typ, Request: req})
			if !errors.Is(err, dynamo.ErrTableNotFound) {
				t.Fatalf("hook on a missing table: %v, want ErrTableNotFound", err)
			}
			var rej *lawcket.Rejection
			if errors.As(err, &rej) {
				t.Fatalf("a failed write must be a fault, not a %d rejection", rej.Status)
			}

			var logs strings.Builder
			resp, err := newInvoker(p, lawcket.WithLogger(slogTo(&logs))).invoke(t, raw)
			if err == nil {
				t.Errorf("answered %d %q without a Go error, want a fault (500)", resp.StatusCode, resp.Body)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], req.RequestContext.ConnectionID) || !strings.Contains(lines[0], "table not found") {
				t.Errorf("want one log line naming the connection and the failure, got:\n%s", logs.String())
			}
		})
	}
}

// putRows stores n connections in room through p, connection ids prefix-0…
func putRows(t testing.TB, p *dynamo.Plugin, prefix, room string, n int) {
	t.Helper()
	base := connectEvent()
	for i := range n {
		req := base
		req.RequestContext.ConnectionID = fmt.Sprintf("%s-%03d", prefix, i)
		req.QueryStringParameters = map[string]string{"room": room, "user": "u" + strconv.Itoa(i)}
		if err := p.OnConnect(context.Background(), &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
			t.Fatal(err)
		}
	}
}

func collect(t testing.TB, tbl *dynamo.Table, sel dynamo.Selector) []string {
	t.Helper()
	var ids []string
	for row, err := range tbl.Connections(context.Background(), sel) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, row.ConnectionID)
	}
	return ids
}

func TestConnectionsReadsEveryPage(t *testing.T) {
	e := newEnv(t, fullSpec)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client), dynamo.WithPageSize(4), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, p, "lobby", "lobby", 23)
	putRows(t, p, "attic", "attic", 5)
	tbl := p.Table()

	e.counter.Reset()
	ids := collect(t, tbl, dynamo.Selector{Field: "room", Value: "lobby"})
	if len(ids) != 23 {
		t.Fatalf("Query room=lobby returned %d rows, want 23: %v", len(ids), ids)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "lobby-") {
			t.Errorf("Query room=lobby returned %s", id)
		}
	}
	if q := e.counter.Count("Query"); q < 6 {
		t.Errorf("23 rows in pages of 4 took %d Query requests, want ≥ 6", q)
	}

	e.counter.Reset()
	if ids := collect(t, tbl, dynamo.Selector{}); len(ids) != 28 {
		t.Fatalf("Scan returned %d rows, want 28", len(ids))
	}
	if s := e.counter.Count("Scan"); s < 7 {
		t.Errorf("28 rows in pages of 4 took %d Scan requests, want ≥ 7", s)
	}

	// Stopping early stops reading.
	e.counter.Reset()
	for range tbl.Connections(context.Background(), dynamo.Selector{}) {
		break
	}
	if s := e.counter.Count("Scan"); s != 1 {
		t.Errorf("breaking after the first row made %d Scan requests, want 1", s)
	}
}

func TestConnectionsSkipsExpiredRows(t *testing.T) {
	e := newEnv(t, fullSpec)
	ctx := context.Background()
	old, err := dynamo.NewPlugin(ctx, e.spec, dynamo.WithClient(e.client), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, old, "old", "lobby", 3) // expire at t0+3h
	fresh, err := dynamo.NewPlugin(ctx, e.spec, dynamo.WithClient(e.client), fixedClock(t0.Add(2*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, fresh, "new", "lobby", 2) // expire at t0+5h

	for _, tt := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"before any expiry", t0.Add(time.Hour), 5},
		{"at the first expiry", t0.Add(3 * time.Hour), 2},
		{"after every expiry", t0.Add(6 * time.Hour), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := dynamo.NewTable(ctx, e.spec, dynamo.WithClient(e.client), fixedClock(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			for _, sel := range []dynamo.Selector{{}, {Field: "room", Value: "lobby"}} {
				rows := 0
				for row, err := range tbl.Connections(ctx, sel) {
					if err != nil {
						t.Fatal(err)
					}
					if !row.ExpiresAt.After(tt.at) {
						t.Errorf("%+v: expired row %s (expiresAt %v)", sel, row.ConnectionID, row.ExpiresAt)
					}
					rows++
				}
				if rows != tt.want {
					t.Errorf("%+v at %v: %d rows, want %d", sel, tt.at, rows, tt.want)
				}
			}
		})
	}
}

func TestConnectionsRow(t *testing.T) {
	e := newEnv(t, fullSpec)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, p, "c", "lobby", 1)
	var rows []dynamo.Row
	for row, err := range p.Table().Connections(context.Background(), dynamo.Selector{Field: "room", Value: "lobby"}) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	if r.ConnectionID != "c-000" || r.DomainName != "abc123def4.execute-api.eu-west-1.amazonaws.com" || r.Stage != "prod" ||
		r.ConnectedAt.UnixMilli() != 1731324924553 || !r.ExpiresAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("row %+v", r)
	}
	// UTC, as lawcket.Connection.ConnectedAt is (issue 10 §6).
	if r.ConnectedAt.Location() != time.UTC || r.ExpiresAt.Location() != time.UTC {
		t.Errorf("row times not in UTC: %v, %v", r.ConnectedAt.Location(), r.ExpiresAt.Location())
	}
	if u, ok := r.Item["user"].(*types.AttributeValueMemberS); !ok || u.Value != "u0" {
		t.Errorf("row item user = %#v", r.Item["user"])
	}
}

func TestConnectionsSelectorErrors(t *testing.T) {
	spec := parseSpec(t, `table: Connections
fields:
  room:
    expr: query.room
    index: true
  level:
    expr: int(query.level ?? "0")
    type: number
    index: true
  user:
    expr: query.user
`)
	tbl, err := dynamo.NewTable(context.Background(), spec, dynamo.WithClient(unusedClient{t}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sel      dynamo.Selector
		want     string
		sentinel error
	}{
		{dynamo.Selector{Field: "user", Value: "ada"}, `"user" is not declared index: true`, dynamo.ErrNotIndexed},
		{dynamo.Selector{Field: "nope", Value: "x"}, `"nope"`, dynamo.ErrNotIndexed},
		{dynamo.Selector{Field: "level", Value: "high"}, `level is a number field`, nil},
		{dynamo.Selector{Field: "room", Value: ""}, `empty value`, nil},
		{dynamo.Selector{Value: "lobby"}, `without a field`, nil},
	} {
		t.Run(tt.sel.Field+"="+tt.sel.Value, func(t *testing.T) {
			n := 0
			for _, err := range tbl.Connections(context.Background(), tt.sel) {
				n++
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
				if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
					t.Errorf("error %v is not %v", err, tt.sentinel)
				}
			}
			if n != 1 {
				t.Errorf("yielded %d pairs, want exactly one error", n)
			}
		})
	}
}

func TestNumberIndex(t *testing.T) {
	e := newEnv(t, `table: Connections
fields:
  level:
    expr: int(query.level)
    type: number
    index: true
`)
	p, err := dynamo.NewPlugin(context.Background(), e.spec, dynamo.WithClient(e.client))
	if err != nil {
		t.Fatal(err)
	}
	base := connectEvent()
	for i, lvl := range []string{"1", "2", "2"} {
		req := base
		req.RequestContext.ConnectionID = "n" + strconv.Itoa(i)
		req.QueryStringParameters = map[string]string{"level": lvl}
		if err := p.OnConnect(context.Background(), &lawcket.Event{Type: lawcket.Connect, Request: req}); err != nil {
			t.Fatal(err)
		}
	}
	if ids := collect(t, p.Table(), dynamo.Selector{Field: "level", Value: "2"}); len(ids) != 2 {
		t.Errorf("level=2: %v, want 2 rows", ids)
	}
	if ids := collect(t, p.Table(), dynamo.Selector{Field: "level", Value: "2.0"}); len(ids) != 2 {
		t.Errorf("level=2.0 (same number): %v, want 2 rows", ids)
	}
}

func TestConstructorsValidate(t *testing.T) {
	ctx := context.Background()
	spec := parseSpec(t, fullSpec)
	noTable := *spec
	noTable.Table = ""
	noProgram := *spec
	noProgram.Program = nil
	client := unusedClient{t}
	for _, tt := range []struct {
		name string
		spec *syncspec.Spec
		opts []dynamo.Option
		want string
	}{
		{"nil spec", nil, nil, "nil spec"},
		{"no table", &noTable, []dynamo.Option{dynamo.WithClient(client)}, "names no table"},
		{"no program", &noProgram, []dynamo.Option{dynamo.WithClient(client)}, "no compiled program"},
		{"nil client", spec, []dynamo.Option{dynamo.WithClient(nil)}, "nil client"},
		{"nil clock", spec, []dynamo.Option{dynamo.WithClient(client), dynamo.WithClock(nil)}, "WithClock: nil clock"},
		{"negative page size", spec, []dynamo.Option{dynamo.WithClient(client), dynamo.WithPageSize(-1)}, "not a page size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dynamo.NewPlugin(ctx, tt.spec, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPlugin = %v, %v; want error containing %q", p, err, tt.want)
			}
		})
	}
	if _, err := dynamo.NewTable(ctx, nil); err == nil {
		t.Error("NewTable(nil spec) succeeded")
	}
	if _, err := dynamo.NewTable(ctx, &noProgram, dynamo.WithClient(client), nil); err != nil {
		t.Errorf("NewTable needs no program (it only reads): %v", err)
	}
}

func TestDefaultClientFromEnvironment(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	spec := parseSpec(t, fullSpec)
	dynalitetest.CreateTable(t, dynalitetest.Client(endpoint), dynamo.TableDefinition(spec, ""))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	p, err := dynamo.NewPlugin(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, p, "env", "lobby", 1)
	if ids := collect(t, p.Table(), dynamo.Selector{}); len(ids) != 1 || ids[0] != "env-000" {
		t.Fatalf("rows through the default client: %v", ids)
	}
}

func TestBuildItem(t *testing.T) {
	spec := parseSpec(t, fullSpec)
	req := connectEvent()
	t.Run("connectedAt falls back to now", func(t *testing.T) {
		r := req
		r.RequestContext.ConnectedAt = 0
		item, err := dynamo.BuildItem(spec, &r, t0)
		if err != nil {
			t.Fatal(err)
		}
		if got := item["connectedAt"].(*types.AttributeValueMemberN).Value; got != strconv.FormatInt(t0.UnixMilli(), 10) {
			t.Errorf("connectedAt %s", got)
		}
	})
	t.Run("no ttl, no expiresAt", func(t *testing.T) {
		s := parseSpec(t, strings.Replace(fullSpec, "ttl: 3h\n", "", 1))
		item, err := dynamo.BuildItem(s, &req, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := item["expiresAt"]; ok {
			t.Errorf("expiresAt without a ttl: %v", item["expiresAt"])
		}
	})
	t.Run("refusal", func(t *testing.T) {
		r := req
		r.QueryStringParameters = nil
		r.MultiValueQueryStringParameters = nil
		_, err := dynamo.BuildItem(spec, &r, t0)
		var rej *lawcket.Rejection
		var ref *eval.Refusal
		if !errors.As(err, &rej) || rej.Status != 400 || !errors.As(err, &ref) || ref.Field != "room" {
			t.Fatalf("BuildItem without room: %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		r := req
		r.QueryStringParameters = map[string]string{"room": "lobby", "user": strings.Repeat("é", dynamo.MaxItemSize/2)}
		_, err := dynamo.BuildItem(spec, &r, t0)
		var rej *lawcket.Rejection
		if !errors.Is(err, dynamo.ErrItemTooLarge) || !errors.As(err, &rej) || rej.Status != 400 || !strings.Contains(rej.Reason, "field user") {
			t.Fatalf("BuildItem with a 400 KB user: %v", err)
		}
	})
	for _, tt := range []struct {
		name string
		spec *syncspec.Spec
		req  *events.APIGatewayWebsocketProxyRequest
		want string
	}{
		{"nil spec", nil, &req, "nil spec"},
		{"nil event", spec, nil, "nil event"},
		{"no connection id", spec, &events.APIGatewayWebsocketProxyRequest{}, "no requestContext.connectionId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dynamo.BuildItem(tt.spec, tt.req, t0); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestItemSize(t *testing.T) {
	for _, tt := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"ab": &types.AttributeValueMemberS{Value: "héllo"}}, 2 + 6},
		{"number", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "12345"}}, 1 + 3 + 1},
		{"number zeros trimmed", map[string]types.AttributeValue{"n": &types.AttributeValueMemberN{Value: "-0012.3400"}}, 1 + 2 + 1},
		{"bool and null", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"binary", map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}}, 1 + 3},
		{"empty list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{}}, 1 + 3},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "ab"}, &types.AttributeValueMemberBOOL{},
		}}}, 1 + 3 + (1 + 2) + (1 + 1)},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"k": &types.AttributeValueMemberS{Value: "v"},
		}}}, 1 + 3 + (1 + 1 + 1)},
		{"string set", map[string]types.AttributeValue{"s": &types.AttributeValueMemberSS{Value: []string{"a", "bc"}}}, 1 + 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := dynamo.ItemSize(tt.item); got != tt.want {
				t.Errorf("ItemSize = %d, want %d", got, tt.want)
			}
		})
	}
}

// unusedClient fails the test on any request.
type unusedClient struct{ t testing.TB }

func (c unusedClient) fail(op string) error {
	c.t.Errorf("unexpected %s request", op)
	return errors.New("unexpected request")
}

func (c unusedClient) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, c.fail("PutItem")
}

func (c unusedClient) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, c.fail("DeleteItem")
}

func (c unusedClient) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, c.fail("Query")
}

func (c unusedClient) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, c.fail("Scan")
}

func TestGet(t *testing.T) {
	e := newEnv(t, fullSpec)
	ctx := context.Background()
	p, err := dynamo.NewPlugin(ctx, e.spec, dynamo.WithClient(e.client), fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	putRows(t, p, "g", "lobby", 1)
	e.counter.Reset()
	row, err := p.Table().Get(ctx, "g-000")
	if err != nil {
		t.Fatal(err)
	}
	if row.ConnectionID != "g-000" || row.Stage != "prod" || row.Item["room"].(*types.AttributeValueMemberS).Value != "lobby" {
		t.Errorf("row %+v", row)
	}
	if n := e.counter.Count("GetItem"); n != 1 || e.counter.Count("") != 1 {
		t.Errorf("Get made %d requests, want 1 GetItem", e.counter.Count(""))
	}
	if _, err := p.Table().Get(ctx, "nobody"); !errors.Is(err, dynamo.ErrNotFound) {
		t.Errorf("Get(absent) = %v, want ErrNotFound", err)
	}
	later, err := dynamo.NewTable(ctx, e.spec, dynamo.WithClient(e.client), fixedClock(t0.Add(3*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := later.Get(ctx, "g-000"); !errors.Is(err, dynamo.ErrNotFound) {
		t.Errorf("Get(expired) = %v, want ErrNotFound", err)
	}
	noGet, err := dynamo.NewTable(ctx, e.spec, dynamo.WithClient(unusedClient{t}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noGet.Get(ctx, "g-000"); err == nil || !strings.Contains(err.Error(), "no GetItem") {
		t.Errorf("Get through a client without GetItem: %v", err)
	}
}

// A DynamoDB that keeps throttling: the SDK retries (here with short
// backoffs; by default until its attempts or the invocation's deadline run
// out), then the connect fails with 500 — the client is not accepted.
func TestThrottledPutRefusesClientWithinDeadline(t *testing.T) {
	var calls, deletes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteItem") {
			deletes.Add(1) // the compensating delete after the failed put
		} else {
			calls.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
	}))
	defer srv.Close()
	client := dynalitetest.Client(srv.URL, func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 10
			so.MaxBackoff = 5 * time.Millisecond
		})
	})
	p, err := dynamo.NewPlugin(context.Background(), parseSpec(t, fullSpec), dynamo.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	req := connectEvent()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = p.OnConnect(ctx, &lawcket.Event{Type: lawcket.Connect, Request: req})
	if !errors.Is(err, dynamo.ErrThrottled) {
		t.Fatalf("OnConnect against a throttling DynamoDB: %v", err)
	}
	if n := calls.Load(); n != 10 {
		t.Errorf("%d PutItem attempts before giving up, want MaxAttempts = 10", n)
	}
	if n := deletes.Load(); n != 10 {
		t.Errorf("%d compensating DeleteItem attempts, want MaxAttempts = 10 (this DynamoDB throttles them too)", n)
	}
	lambdaCtx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	out, err := newInvoker(p, lawcket.WithLogger(slogTo(io.Discard))).h.Invoke(lambdaCtx, lawckettest.JSON(req))
	if err == nil {
		t.Fatalf("connect without its row was answered %s, want a fault (500)", out)
	}
}
