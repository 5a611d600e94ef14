package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// tplTable is the fixture template's table: TableName !Sub
// "${AWS::StackName}-connections" with lawcket dev's local stack name.
const tplTable = "lawcket-dev-connections"

// TestTemplate runs `lawcket dev --template` on
// internal/e2e/testdata/tplapp/template.yaml — two route functions, a
// Lambda REQUEST authorizer and a table with a GSI, all built and created
// from the template — and drives it with real WebSocket clients.
func TestTemplate(t *testing.T) {
	dir := filepath.Join("internal", "e2e", "testdata", "tplapp")
	dev := startLawcket(t, "dev",
		"--template", filepath.Join(dir, "template.yaml"),
		"-c", filepath.Join(dir, "lawcket.yaml"),
		"--static", filepath.Join("examples", "chat", "static"),
		"--addr", "127.0.0.1:0")
	ctx := testContext(t)
	if !strings.HasSuffix(dev.wsURL, "/test") {
		t.Fatalf("WebSocket URL %s: want the template's stage, test", dev.wsURL)
	}
	db := dynalitetest.Client(dev.dynamoURL)
	dial := func(t *testing.T, query string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
		t.Helper()
		u := dev.wsURL
		if query != "" {
			u += "?" + query
		}
		c, resp, err := websocket.Dial(ctx, u, opts)
		if err == nil {
			c.SetReadLimit(1 << 20)
			t.Cleanup(func() { c.CloseNow() })
		}
		return c, resp, err
	}
	// The authorizer logs each invocation with its token; its output
	// reaches the gateway's stderr asynchronously, in order.
	authorizerCalls := func(token string) int {
		return strings.Count(dev.stderr.String(), "authorizer invoked: token="+token+" connectionId=")
	}

	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			query   string
			status  int
			invoked bool
		}{
			{"", http.StatusUnauthorized, false}, // identity source missing: the authorizer is not invoked
			{"token=", http.StatusUnauthorized, false},
			{"token=deny", http.StatusForbidden, true},
			{"token=bad", http.StatusForbidden, true},             // not an authorizer response
			{"token=error", http.StatusInternalServerError, true}, // the authorizer fails
			{"token=unauthorized", http.StatusUnauthorized, true}, // fails with "Unauthorized"
		} {
			token := strings.TrimPrefix(tt.query, "token=")
			before := authorizerCalls(token)
			_, resp, err := dial(t, tt.query, nil)
			if err == nil || resp == nil || resp.StatusCode != tt.status {
				code := 0
				if resp != nil {
					code = resp.StatusCode
				}
				t.Errorf("?%s: handshake %v, HTTP %d; want %d", tt.query, err, code, tt.status)
			}
			if tt.invoked {
				waitFor(t, "the authorizer's log line for ?"+tt.query, func() bool { return authorizerCalls(token) > before })
			}
		}
		// The cases without a token came first: had the authorizer run for
		// them, their lines would be out before those just waited for.
		if n := authorizerCalls(""); n != 0 {
			t.Errorf("the authorizer was invoked %d times without a token", n)
		}
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(tplTable), Select: types.SelectCount})
		if err != nil || out.Count != 0 {
			t.Errorf("rows after refusals: %v %v; want none", out, err)
		}
	})

	t.Run("allowed", func(t *testing.T) {
		c, _, err := dial(t, "token=allow-ann", nil)
		if err != nil {
			t.Fatal(err)
		}
		// The row, through lawcket.yaml expressions over authorizer.*: the
		// context's number 3 arrives as "3", as API Gateway stringifies it.
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(tplTable),
			IndexName:                 aws.String("user-index"), // the template's GSI
			KeyConditionExpression:    aws.String("#u = :u"),
			ExpressionAttributeNames:  map[string]string{"#u": "user"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: "ann"}},
		})
		if err != nil || len(out.Items) != 1 {
			t.Fatalf("GSI query for ann: %v %v; want one row", out, err)
		}
		var r map[string]any
		if err := attributevalue.UnmarshalMap(out.Items[0], &r); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"user": "ann", "plan": "pro", "level": "3", "principal": "user|ann", "stage": "test"} {
			if r[k] != want {
				t.Errorf("row %s = %#v, want %#v (row %v)", k, r[k], want, r)
			}
		}
		id, _ := r["connectionId"].(string)

		// A custom route with a route response, run by its own function.
		send(ctx, t, c, `{"action":"whoami"}`)
		m := recvJSON(ctx, t, c)
		auth, _ := m["authorizer"].(map[string]any)
		if m["function"] != "WhoAmI" || m["functionName"] != "lawcket-dev-whoami" || m["routeKey"] != "whoami" || m["table"] != tplTable {
			t.Errorf("whoami answered %v", m)
		}
		for k, want := range map[string]any{"user": "ann", "plan": "pro", "level": "3", "admin": "true", "principalId": "user|ann"} {
			if auth[k] != want {
				t.Errorf("whoami's requestContext.authorizer.%s = %#v, want %#v (%v)", k, auth[k], want, auth)
			}
		}
		if _, ok := auth["integrationLatency"].(float64); !ok {
			t.Errorf("integrationLatency = %#v, want a number", auth["integrationLatency"])
		}

		// An unknown route goes to $default (Main), with the authorizer too.
		send(ctx, t, c, `{"action":"nosuchroute","n":1}`)
		m = recvJSON(ctx, t, c)
		auth, _ = m["authorizer"].(map[string]any)
		if m["function"] != "Main" || m["routeKey"] != "$default" || auth["user"] != "ann" || m["greeting"] != "hello from lawcket-dev" {
			t.Errorf("$default answered %v", m)
		}

		c.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "the row deleted by $disconnect", func() bool {
			got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tplTable), Key: map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: id}}})
			return err == nil && got.Item == nil
		})
	})

	t.Run("binary frame closes 1003", func(t *testing.T) {
		c, _, err := dial(t, "token=allow-bin", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
			t.Fatal(err)
		}
		if code := closeCode(ctx, c); code != websocket.StatusUnsupportedData {
			t.Errorf("close code %d, want 1003", code)
		}
	})

	t.Run("40 KB frame closes 1009 undelivered", func(t *testing.T) {
		c, _, err := dial(t, "token=allow-big", nil)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"action":"whoami","pad":"` + strings.Repeat("x", 40<<10) + `"}`
		if err := c.Write(ctx, websocket.MessageText, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if code := closeCode(ctx, c); code != websocket.StatusMessageTooBig {
			t.Errorf("close code %d, want 1009", code)
		}
		// A whoami after it: once its line is out, the 40 KB frame's would be.
		probe, _, err := dial(t, "token=allow-probe", nil)
		if err != nil {
			t.Fatal(err)
		}
		whoamiCalls := func() int { return strings.Count(dev.stderr.String(), "whoami invoked: ") }
		before := whoamiCalls()
		send(ctx, t, probe, `{"action":"whoami"}`)
		recvJSON(ctx, t, probe)
		waitFor(t, "the whoami log line of the probe", func() bool { return whoamiCalls() > before })
		for _, m := range regexp.MustCompile(`whoami invoked: ([0-9]+) bytes`).FindAllStringSubmatch(dev.stderr.String(), -1) {
			if n, _ := strconv.Atoi(m[1]); n > 32<<10 {
				t.Errorf("the whoami function was invoked with %d bytes", n)
			}
		}
	})

	t.Run("foreign Origin and Host refused", func(t *testing.T) {
		_, resp, err := dial(t, "token=allow-x", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign Origin: %v %v; want 403", err, resp)
		}
		_, resp, err = dial(t, "token=allow-x", &websocket.DialOptions{Host: "rebind.example:8080"})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign Host: %v %v; want 403", err, resp)
		}
	})
}

func send(ctx context.Context, t *testing.T, c *websocket.Conn, body string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(body)); err != nil {
		t.Fatalf("send %.60q: %v", body, err)
	}
}

func recvJSON(ctx context.Context, t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	// The chat's rooms are channels: skip acknowledgements and presence
	// frames, and return a data frame's event (the chat's message).
	switch typ, _ := m["type"].(string); {
	case typ == "join" || typ == "leave" || strings.HasSuffix(typ, "_success"):
		return recvJSON(ctx, t, c)
	case typ == "data":
		if ev, ok := m["event"].(map[string]any); ok {
			return ev
		}
	}
	return m
}

// closeCode reads until the connection closes and returns its close code.
func closeCode(ctx context.Context, c *websocket.Conn) websocket.StatusCode {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestChatTemplate runs the chat example the way `make chat` does, through
// its SAM template, and chats in one room with two real clients.
func TestChatTemplate(t *testing.T) {
	dev := startLawcket(t, "dev",
		"--template", filepath.Join("examples", "chat", "template.yaml"),
		"-c", filepath.Join("examples", "chat", "lawcket.yaml"),
		"--static", filepath.Join("examples", "chat", "static"),
		"--addr", "127.0.0.1:0")
	ctx := testContext(t)
	join := func(query string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, dev.wsURL+"?"+query, nil)
		if err != nil {
			t.Fatalf("connect ?%s: %v", query, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	ann, abe := join("user=ann&room=r1"), join("user=abe&room=r1")
	send(ctx, t, ann, `{"action":"send","text":"hello"}`)
	for name, c := range map[string]*websocket.Conn{"ann": ann, "abe": abe} {
		if m := recvJSON(ctx, t, c); m["user"] != "ann" || m["room"] != "r1" || m["text"] != "hello" {
			t.Errorf("%s got %v", name, m)
		}
	}
	// The channels routes are the template's too: ann joins a second room
	// while connected and talks there (an undeclared subscribe route would
	// reach $default and answer "unknown action").
	send(ctx, t, ann, `{"action":"subscribe","id":"s1","channel":"/rooms/r2"}`)
	send(ctx, t, ann, `{"action":"send","text":"over here","room":"r2"}`)
	if m := recvJSON(ctx, t, ann); m["user"] != "ann" || m["room"] != "r2" || m["text"] != "over here" {
		t.Errorf("ann in r2 got %v; want her message in r2", m)
	}
	db := dynalitetest.Client(dev.dynamoURL)
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("chat-connections"), Select: types.SelectCount})
	if err != nil || out.Count != 2 {
		t.Errorf("rows: %v %v; want 2 in the template's table", out, err)
	}
	if !strings.Contains(dev.stderr.String(), "building Chat from") {
		t.Errorf("the Chat function was not built from its CodeUri:\n%s", lastLines(dev.stderr.String(), 20))
	}
}

// TestTemplatesAreValid: cfn-lint (with aws-sam-translator) accepts the
// templates lawcket dev runs in these tests, so they are deployable ones.
func TestTemplatesAreValid(t *testing.T) {
	lint := testsupport.CfnLint(t)
	root := repoRoot(t)
	cmd := exec.Command(lint[0], append(lint[1:], filepath.Join("examples", "chat", "template.yaml"), filepath.Join("internal", "e2e", "testdata", "tplapp", "template.yaml"))...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

// TestTemplateOnDynalite: with --dynamodb-endpoint the template's tables
// are created there (dynalite), and the rows go there.
func TestTemplateOnDynalite(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	dev := startLawcket(t, "dev",
		"--template", filepath.Join("examples", "chat", "template.yaml"),
		"-c", filepath.Join("examples", "chat", "lawcket.yaml"),
		"--static", filepath.Join("examples", "chat", "static"),
		"--dynamodb-endpoint", endpoint,
		"--addr", "127.0.0.1:0")
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, dev.wsURL+"?user=ann&room=r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	db := dynalitetest.Client(endpoint)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("chat-connections")})
	if err != nil || len(desc.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(desc.Table.GlobalSecondaryIndexes[0].IndexName) != "room-index" {
		t.Fatalf("the template's table on dynalite: %v %v", desc, err)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("chat-connections"), Select: types.SelectCount})
	if err != nil || out.Count != 1 {
		t.Errorf("rows on dynalite: %v %v; want 1", out, err)
	}
}
