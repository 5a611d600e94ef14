package devgw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/testsupport"
)

// echoBin is the test handler (testdata/echo) built once by TestMain.
var echoBin string

func TestMain(m *testing.M) {
	if os.Getenv(recordEnv) != "" {
		os.Exit(recordRuntime())
	}
	if os.Getenv(serveEnv) != "" {
		os.Exit(serveForBenchmark())
	}
	dir, err := os.MkdirTemp("", "devgw-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoBin = filepath.Join(dir, "echo")
	cmd := exec.Command("go", "build", "-o", echoBin, "./testdata/echo")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testdata/echo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// start runs a gateway on a free port in front of the echo binary.
func start(t testing.TB, cfg devgw.Config) (*devgw.Gateway, *testsupport.SyncBuffer) {
	t.Helper()
	out := &testsupport.SyncBuffer{}
	if cfg.Command == nil {
		cfg.Command = []string{echoBin}
	}
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(out, nil))
	cfg.Output = out
	g, err := devgw.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("gateway output:\n%s", out.String())
		}
	})
	return g, out
}

func dial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t testing.TB, c *websocket.Conn, typ websocket.MessageType, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, typ, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func readEvent(t testing.TB, c *websocket.Conn) (websocket.MessageType, events.APIGatewayWebsocketProxyRequest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return typ, ev
}

func TestEcho(t *testing.T) {
	t.Run("default build", func(t *testing.T) { testEcho(t, echoBin) })
	t.Run("-tags lambda.norpc", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "echo-norpc")
		if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./testdata/echo").CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		testEcho(t, bin)
	})
}

func testEcho(t *testing.T, bin string) {
	t.Setenv("_LAMBDA_SERVER_PORT", "1") // the gateway must not pass it on (RPC mode)
	g, _ := start(t, devgw.Config{Command: []string{bin}})
	c := dial(t, g.URL())
	send(t, c, websocket.MessageText, `{"action":"hello"}`)
	typ, ev := readEvent(t, c)
	if typ != websocket.MessageText {
		t.Errorf("frame type %v, want text", typ)
	}
	if ev.Body != `{"action":"hello"}` || ev.RequestContext.RouteKey != "hello" {
		t.Errorf("body %q route %q", ev.Body, ev.RequestContext.RouteKey)
	}
	c.Close(websocket.StatusNormalClosure, "")
}
