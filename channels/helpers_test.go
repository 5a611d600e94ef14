package channels_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// testSpec declares a rooms namespace with presence by user, a news
// namespace whose subscribe rule reads the authorizer, and a sharded one.
const testSpec = `table: conns
ttl: 2h
fields:
  user:
    expr: query.user ?? "anonymous"
  plan:
    expr: authorizer.plan ?? "free"
  room:
    expr: query.room
    index: true # only for the benchmark's baseline (a room broadcast)
channels:
  namespaces:
    rooms:
      subscribe: 'connection.user != "anonymous" && channel.segments[1] != "staff"'
      publish: connection.user != "mute"
      presence:
        member: user
        fields: [user]
    news:
      subscribe: authorizer.plan == "pro" || channel.path == "/news/free"
    hot:
      shards: 4
      publish: true
`

// mgmtAPI is a local Management API: POST and GET /{stage}/@connections/{id}.
// Ids marked gone (and ids starting with "gone-") answer 410 GoneException;
// every other id is open. It records the frames posted to each id.
type mgmtAPI struct {
	*httptest.Server
	mu     sync.Mutex
	frames map[string][]string
	gone   map[string]bool
	gets   int
}

func newMgmtAPI(t testing.TB) *mgmtAPI {
	m := &mgmtAPI{frames: map[string][]string{}, gone: map[string]bool{}}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *mgmtAPI) serve(w http.ResponseWriter, r *http.Request) {
	_, raw, ok := strings.Cut(r.URL.EscapedPath(), "/@connections/")
	id, err := url.PathUnescape(raw)
	if !ok || err != nil || r.Header.Get("Authorization") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	gone := m.gone[id] || strings.HasPrefix(id, "gone-")
	if r.Method == http.MethodGet {
		m.gets++
	}
	if !gone && r.Method == http.MethodPost {
		m.frames[id] = append(m.frames[id], string(body))
	}
	m.mu.Unlock()
	if gone {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"message":"gone"}`)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"connectedAt":"2026-01-01T00:00:00Z","identity":{"sourceIp":"127.0.0.1"},"lastActiveAt":"2026-01-01T00:00:00Z"}`)
	}
}

func (m *mgmtAPI) setGone(id string) {
	m.mu.Lock()
	m.gone[id] = true
	m.mu.Unlock()
}

// take returns and forgets the frames posted to id, decoded.
func (m *mgmtAPI) take(id string) []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]any
	for _, f := range m.frames[id] {
		var v map[string]any
		if err := json.Unmarshal([]byte(f), &v); err != nil {
			v = map[string]any{"raw": f}
		}
		out = append(out, v)
	}
	delete(m.frames, id)
	return out
}

// world is an App with the dynamo and channels plugins over dynalite.
type world struct {
	t       testing.TB
	spec    *syncspec.Spec
	db      *dynamodb.Client
	counter *dynalitetest.Counter
	table   *dynamo.Table
	ch      *channels.Plugin
	mgmt    *mgmtAPI
	app     *lawcket.App
	awsCfg  aws.Config
	client  *mgmt.Client // the Management API at mgmt.URL, shared by the App and the channels
}

func newWorld(t testing.TB, opts ...channels.Option) *world {
	t.Helper()
	endpoint := dynalitetest.Start(t)
	spec, err := syncspec.Parse("lawcket.yaml", []byte(testSpec), syncspec.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, spec: spec, counter: &dynalitetest.Counter{}, mgmt: newMgmtAPI(t)}
	w.db = dynalitetest.Client(endpoint, dynalitetest.WithCounter(w.counter))
	dynalitetest.CreateTable(t, w.db, dynamo.TableDefinition(spec, ""))
	dynalitetest.CreateTable(t, w.db, channels.TableDefinition(spec, ""))
	ctx := context.Background()
	sync, err := dynamo.NewPlugin(ctx, spec, dynamo.WithClient(w.db))
	if err != nil {
		t.Fatal(err)
	}
	w.table = sync.Table()
	w.awsCfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	w.client, err = mgmt.New(mgmt.WithEndpoint(w.mgmt.URL+"/{stage}"), mgmt.WithAWSConfig(w.awsCfg))
	if err != nil {
		t.Fatal(err)
	}
	w.ch, err = channels.New(ctx, spec, w.table, append([]channels.Option{channels.WithClient(w.db), channels.WithPoster(w.client)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.app = lawcket.New(lawcket.WithPlugins(sync), w.ch.Install(), lawcket.WithManagement(w.client))
	if err := w.app.Err(); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) invoke(req events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	w.t.Helper()
	req.RequestContext.DomainName = "example.test"
	req.RequestContext.Stage = "test"
	req.RequestContext.APIID = "api1"
	resp, err := w.app.Handler()(context.Background(), req)
	if err != nil {
		w.t.Fatalf("invoke %s: %v", req.RequestContext.RouteKey, err)
	}
	return resp
}

// connect opens connection id (connected a minute ago: past
// channels.EstablishWindow, so a 410 means gone) with ?user=user (none when empty) and an
// authorizer context.
func (w *world) connect(id, user string, authorizer map[string]any) {
	w.t.Helper()
	w.connectAt(id, user, authorizer, time.Now().Add(-time.Minute))
}

// connectAt is connect with requestContext.connectedAt = at.
func (w *world) connectAt(id, user string, authorizer map[string]any, at time.Time) {
	w.t.Helper()
	req := events.APIGatewayWebsocketProxyRequest{}
	if user != "" {
		req.QueryStringParameters = map[string]string{"user": user}
	}
	req.RequestContext.EventType = "CONNECT"
	req.RequestContext.RouteKey = "$connect"
	req.RequestContext.ConnectionID = id
	req.RequestContext.ConnectedAt = at.UnixMilli()
	if authorizer != nil {
		req.RequestContext.Authorizer = authorizer
	}
	if resp := w.invoke(req); resp.StatusCode != 200 {
		w.t.Fatalf("connect %s: %d %s", id, resp.StatusCode, resp.Body)
	}
}

// send delivers a message on route (API Gateway passes the authorizer
// context of $connect with every message).
func (w *world) send(id string, authorizer map[string]any, body string) events.APIGatewayProxyResponse {
	w.t.Helper()
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	route, _ := m["action"].(string)
	req := events.APIGatewayWebsocketProxyRequest{Body: body}
	req.RequestContext.EventType = "MESSAGE"
	req.RequestContext.RouteKey = route
	req.RequestContext.ConnectionID = id
	if authorizer != nil {
		req.RequestContext.Authorizer = authorizer
	}
	return w.invoke(req)
}

// request sends body on id and returns the one frame it got back.
func (w *world) request(id string, authorizer map[string]any, body string) map[string]any {
	w.t.Helper()
	w.mgmt.take(id)
	w.send(id, authorizer, body)
	frames := w.mgmt.take(id)
	for _, f := range frames {
		if t, _ := f["type"].(string); strings.HasSuffix(t, "_success") || strings.HasSuffix(t, "_error") {
			return f
		}
	}
	w.t.Fatalf("no reply to %s on %s; frames %v", body, id, frames)
	return nil
}

func (w *world) disconnect(id string) {
	w.t.Helper()
	req := events.APIGatewayWebsocketProxyRequest{}
	req.RequestContext.EventType = "DISCONNECT"
	req.RequestContext.RouteKey = "$disconnect"
	req.RequestContext.ConnectionID = id
	w.invoke(req)
}

// subscriptions counts the subscription items of a connection (a Scan: tests only).
func (w *world) subscriptions(id string) int {
	w.t.Helper()
	out, err := w.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.ch.Table())})
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, item := range out.Items {
		if v, ok := item[channels.AttrConnectionID].(*types.AttributeValueMemberS); ok && v.Value == id {
			n++
		}
	}
	return n
}

type typesAV = types.AttributeValue

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
