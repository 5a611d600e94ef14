package e2e

import (
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
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// binDir holds the binaries built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lawcket-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root: go test runs in the package's directory,
// internal/e2e.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var builds sync.Map // package path → *build

type build struct {
	once sync.Once
	path string
	err  error
}

// goBuild builds pkg (once per test run) and returns the binary's path.
func goBuild(t testing.TB, pkg, name string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// chatBinary is the built chat example: an unmodified lambda.Start program.
func chatBinary(t testing.TB) string {
	return goBuild(t, "github.com/lawcket/lawcket/examples/chat", "chat")
}

// env is one running gateway in front of the chat binary, with SDK clients
// for its DynamoDB endpoint and its Management API.
type env struct {
	gw    *devgw.Gateway
	table string
	db    *dynamodb.Client
	mgmt  *apigatewaymanagementapi.Client
	out   *testsupport.SyncBuffer
}

// startChat starts a gateway on a free port running the built chat example
// with examples/chat/lawcket.yaml and the static page, and stops it at cleanup.
func startChat(t testing.TB, edit func(*devgw.Config)) *env {
	t.Helper()
	root := repoRoot(t)
	out := &testsupport.SyncBuffer{}
	cfg := devgw.Config{
		Addr:      "127.0.0.1:0",
		Command:   []string{chatBinary(t)},
		SpecPath:  filepath.Join(root, "examples", "chat", "lawcket.yaml"),
		StaticDir: filepath.Join(root, "examples", "chat", "static"),
		Logger:    slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Output:    out,
	}
	if edit != nil {
		edit(&cfg)
	}
	gw, err := devgw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := gw.Start(ctx); err != nil {
		t.Fatalf("e2e: start gateway: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if err := gw.Close(); err != nil {
			t.Errorf("e2e: close gateway: %v", err)
		}
		if t.Failed() || os.Getenv("E2E_VERBOSE") != "" {
			t.Logf("gateway and handler output:\n%s", lastLines(out.String(), 80))
		}
	})
	if err := gw.WaitReady(ctx); err != nil {
		t.Fatalf("e2e: chat handler not ready: %v\n%s", err, out)
	}
	db, err := gw.DynamoDBClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		gw:    gw,
		table: gw.TableName(),
		db:    db,
		mgmt:  managementClient(gw.ManagementEndpoint()),
		out:   out,
	}
}

// wsURL is the gateway's WebSocket endpoint with query (e.g. "user=a&room=r").
func (e *env) wsURL(query string) string {
	u := "ws://" + e.gw.Addr() + "/"
	if query != "" {
		u += "?" + query
	}
	return u
}

// client is one WebSocket client of the chat.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	tcp  net.Conn // the TCP connection under it, to drop it without a close frame
}

// dial connects with query; it returns the handshake's response and error
// instead of failing, for refusal tests.
func (e *env) dial(ctx context.Context, t testing.TB, query string) (*client, *http.Response, error) {
	t.Helper()
	c := &client{t: t}
	var mu sync.Mutex
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			mu.Lock()
			c.tcp = conn
			mu.Unlock()
			return conn, err
		},
	}
	conn, resp, err := websocket.Dial(ctx, e.wsURL(query), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: transport},
	})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	c.conn = conn
	t.Cleanup(func() { conn.CloseNow() })
	return c, resp, nil
}

// join connects with query and fails the test if the handshake is refused.
func (e *env) join(ctx context.Context, t testing.TB, query string) *client {
	t.Helper()
	c, resp, err := e.dial(ctx, t, query)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("e2e: connect ?%s: %v (HTTP %d)", query, err, status)
	}
	return c
}

// localAWS is the static configuration of the gateway's local endpoints.
var localAWS = aws.Config{
	Region:      "us-east-1",
	Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
}

// managementClient is an SDK Management API client for endpoint.
func managementClient(endpoint string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.NewFromConfig(localAWS, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// send writes one text frame.
func (c *client) send(ctx context.Context, body string) {
	c.t.Helper()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(body)); err != nil {
		c.t.Fatalf("e2e: send %.60q: %v", body, err)
	}
}

// say sends a chat message.
func (c *client) say(ctx context.Context, text string) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"action": "send", "text": text})
	c.send(ctx, string(body))
}

// recv reads frames until one that is not a channels acknowledgement or
// presence frame (join, leave, *_success), and returns it as a JSON object
// of strings: the event of a data frame (the chat's {"user","room","text"}),
// or the frame itself.
func (c *client) recv(ctx context.Context) map[string]string {
	c.t.Helper()
	for {
		f := c.recvFrame(ctx)
		switch typ, _ := f["type"].(string); {
		case typ == "join" || typ == "leave" || strings.HasSuffix(typ, "_success"):
			continue
		case typ == "data":
			ev, ok := f["event"].(map[string]any)
			if !ok {
				c.t.Fatalf("e2e: data frame %v has no event object", f)
			}
			f = ev
		}
		m := map[string]string{}
		for k, v := range f {
			s, ok := v.(string)
			if !ok {
				c.t.Fatalf("e2e: frame %v: %s is not a string", f, k)
			}
			m[k] = s
		}
		return m
	}
}

// recvFrame reads one frame and decodes it as a JSON object.
func (c *client) recvFrame(ctx context.Context) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("e2e: read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("e2e: frame %q is not a JSON object: %v", data, err)
	}
	return m
}

// row is a connection's row as the table holds it.
type row struct {
	ConnectionID string `dynamodbav:"connectionId"`
	DomainName   string `dynamodbav:"domainName"`
	Stage        string `dynamodbav:"stage"`
	ConnectedAt  int64  `dynamodbav:"connectedAt"`
	ExpiresAt    int64  `dynamodbav:"expiresAt"`
	User         string `dynamodbav:"user"`
	Room         string `dynamodbav:"room"`
}

// roomRows reads the rows of a room through its GSI, as the chat does.
func (e *env) roomRows(ctx context.Context, t testing.TB, room string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(e.db, &dynamodb.QueryInput{
		TableName:                 aws.String(e.table),
		IndexName:                 aws.String(dynamo.IndexName("room")),
		KeyConditionExpression:    aws.String("#r = :r"),
		ExpressionAttributeNames:  map[string]string{"#r": "room"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: room}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("e2e: query room %q: %v", room, err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// idOf returns the connection id of the only row of room whose user is user.
func (e *env) idOf(ctx context.Context, t testing.TB, room, user string) string {
	t.Helper()
	var ids []string
	for _, item := range e.roomRows(ctx, t, room) {
		var r row
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		if r.User == user {
			ids = append(ids, r.ConnectionID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("e2e: room %q has %d rows of user %q; want 1", room, len(ids), user)
	}
	return ids[0]
}

// item reads one row by connection id (nil when there is none).
func (e *env) item(ctx context.Context, t testing.TB, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(e.table),
		Key:            map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("e2e: get row %s: %v", id, err)
	}
	return out.Item
}

// countRows scans the whole table.
func (e *env) countRows(ctx context.Context, t testing.TB) int {
	t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(e.table)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("e2e: scan: %v", err)
		}
		n += len(page.Items)
	}
	return n
}

// waitGone polls until the row of id is deleted ($disconnect is asynchronous).
func (e *env) waitGone(ctx context.Context, t testing.TB, id string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for e.item(ctx, t, id) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("e2e: row %s still in the table 15s after its connection ended", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeStatus waits for the connection to end and returns its close status
// (-1 when it ended without a close frame).
func (c *client) closeStatus(ctx context.Context) websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.conn.Read(ctx)
		if err == nil {
			continue
		}
		if errors.Is(err, context.DeadlineExceeded) {
			c.t.Fatal("e2e: the connection was not closed within 10s")
		}
		return websocket.CloseStatus(err)
	}
}

// httpGet returns the body of a GET.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// waitLog waits until a line of the gateway's or handler's output contains
// marker, and checks that it also contains want. (The handler's stderr reaches
// the buffer through a pipe, a moment after the frame reaches the client.)
func (e *env) waitLog(ctx context.Context, t testing.TB, marker, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(e.out.String(), "\n") {
			if strings.Contains(line, marker) {
				if !strings.Contains(line, want) {
					t.Fatalf("log line %q; want it to contain %q", line, want)
				}
				return
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("no log line with %q within 5s; output:\n%s", marker, lastLines(e.out.String(), 20))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
