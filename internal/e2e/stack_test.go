package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/cli"
)

// writeTemplate runs `lawcket template` with args (in the repository root)
// and writes its output to a file in a temporary directory.
func writeTemplate(t *testing.T, args ...string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(repoRoot(t)); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"template"}, args...), strings.NewReader(""), &out, &errOut)
	if err := os.Chdir(wd); err != nil {
		t.Fatal(err)
	}
	if code != cli.ExitOK {
		t.Fatalf("lawcket template %v: exit %d: %s", args, code, errOut.String())
	}
	file := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// chatRoundTrip chats through a `lawcket dev --template` gateway: two
// clients in one room, a "send" that both receive, an unknown action
// answered by $default.
func chatRoundTrip(t *testing.T, dev *devProcess, room string) {
	t.Helper()
	ctx := testContext(t)
	if !strings.HasSuffix(dev.wsURL, "/prod") {
		t.Errorf("WebSocket URL %s: want the generated stage, prod", dev.wsURL)
	}
	var clients []*websocket.Conn
	for _, user := range []string{"ann", "bob"} {
		c, _, err := websocket.Dial(ctx, dev.wsURL+"?user="+user+"&room="+room, nil)
		if err != nil {
			t.Fatalf("connect %s: %v", user, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		clients = append(clients, c)
	}
	// Join the room's channel (the single shape's connect handler already
	// did; in the sync shape lawcket-sync serves $connect, not the chat).
	for _, c := range clients {
		joinRoom(ctx, t, c, room)
	}
	send(ctx, t, clients[0], `{"action":"send","text":"hi bob"}`)
	for i, c := range clients {
		m := recvJSON(ctx, t, c)
		if m["user"] != "ann" || m["room"] != room || m["text"] != "hi bob" {
			t.Errorf("client %d got %v; want ann's message in %s", i, m, room)
		}
	}
	send(ctx, t, clients[1], `{"action":"dance"}`)
	if m := recvJSON(ctx, t, clients[1]); !strings.Contains(m["error"].(string), `unknown action "dance"`) {
		t.Errorf("$default answered %v", m)
	}
}

// TestGeneratedTemplateRuns runs the SAM template `lawcket template`
// generates for the chat example (whose lawcket.yaml declares its "send"
// route in api:) under `lawcket dev --template`: the
// single shape (the chat built from its CodeUri, as sam build does, serving
// every route), and the zero-code shape (lawcket-sync serving $connect and
// $disconnect with the spec, the chat serving the rest).
func TestGeneratedTemplateRuns(t *testing.T) {
	chatDir := filepath.Join(repoRoot(t), "examples", "chat")
	spec := filepath.Join("examples", "chat", "lawcket.yaml")
	static := filepath.Join("examples", "chat", "static")
	t.Run("single", func(t *testing.T) {
		tmpl := writeTemplate(t, "-c", spec, "--code-uri", chatDir, "--arch", "x86_64")
		dev := startLawcket(t, "dev", "--template", tmpl, "-c", spec, "--static", static, "--addr", "127.0.0.1:0")
		chatRoundTrip(t, dev, "tpl-single")
	})
	t.Run("sync", func(t *testing.T) {
		tmpl := writeTemplate(t, "-c", spec, "--shape", "sync", "--code-uri", chatDir, "--arch", "x86_64")
		sync := goBuild(t, "github.com/lawcket/lawcket/cmd/lawcket-sync", "lawcket-sync")
		dev := startLawcket(t, "dev", "--template", tmpl, "-c", spec, "--static", static, "--addr", "127.0.0.1:0",
			"--function", "SyncFunction="+sync, "--function", "AppFunction="+chatBinary(t))
		// The rows the chat reads back (its sender's, its room's) were
		// written by lawcket-sync: the template routes $connect and
		// $disconnect to SyncFunction (internal/stack's golden files).
		chatRoundTrip(t, dev, "tpl-sync")
	})
}

// joinRoom subscribes c to the chat room's channel and waits for the
// answer (a chat whose $connect lawcket-sync serves joins no room itself).
func joinRoom(ctx context.Context, t *testing.T, c *websocket.Conn, room string) {
	t.Helper()
	send(ctx, t, c, `{"action":"subscribe","id":"j","channel":"/rooms/`+room+`"}`)
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("subscribe to %s: %v", room, err)
		}
		if strings.Contains(string(data), `"type":"subscribe_success"`) {
			return
		}
	}
}
