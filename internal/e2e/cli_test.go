package e2e

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coder/websocket"
)

// TestCLIRunsTheChat runs the README's command: the built lawcket command,
// `lawcket dev -c examples/chat/lawcket.yaml --static examples/chat/static --
// ./bin/chat`, then chats through it and stops it with Ctrl-C (SIGINT).
func TestCLIRunsTheChat(t *testing.T) {
	ctx := testContext(t)
	lawcketBin := goBuild(t, "github.com/lawcket/lawcket/cmd/lawcket", "lawcket")
	chat := chatBinary(t)
	root := repoRoot(t)

	cmd := exec.Command(lawcketBin, "dev",
		"-c", filepath.Join("examples", "chat", "lawcket.yaml"),
		"--static", filepath.Join("examples", "chat", "static"),
		"--addr", "127.0.0.1:0",
		"--", chat)
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("lawcket dev stderr:\n%s", lastLines(stderr.String(), 60))
		}
	})

	// The banner names the endpoints.
	banner := map[string]string{}
	lines := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if k, v, ok := strings.Cut(line, ":"); ok {
			banner[k] = strings.Fields(v + " ")[0]
		}
		if strings.HasPrefix(line, "Static page:") {
			break
		}
	}
	deadline.Stop()
	go io.Copy(io.Discard, stdout)
	wsURL, dynamoURL, page := banner["WebSocket URL"], banner["DynamoDB"], banner["Static page"]
	if !strings.HasPrefix(wsURL, "ws://127.0.0.1:") || !strings.HasPrefix(dynamoURL, "http://") || !strings.HasPrefix(page, "http://127.0.0.1:") {
		t.Fatalf("banner %v; want the WebSocket URL, the DynamoDB endpoint and the static page", banner)
	}

	// The page is served, and two people chat in one room.
	resp, err := httpGet(ctx, page)
	if err != nil || !strings.Contains(resp, "lawcket chat") {
		t.Fatalf("GET %s: %v; want the chat page", page, err)
	}
	var clients []*websocket.Conn
	for _, user := range []string{"ann", "bob"} {
		c, _, err := websocket.Dial(ctx, wsURL+"?user="+user+"&room=cli", nil)
		if err != nil {
			t.Fatalf("connect %s: %v", user, err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
	}
	if err := clients[0].Write(ctx, websocket.MessageText, []byte(`{"action":"send","text":"hi bob"}`)); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		_, data, err := c.Read(ctx)
		if err != nil || string(data) != `{"user":"ann","room":"cli","text":"hi bob"}` {
			t.Fatalf("client %d read %s, %v", i, data, err)
		}
	}

	// The table shows both rows.
	db := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(dynamoURL),
	})
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("chat-connections")})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("scan: %v rows, %v; want 2", len(out.Items), err)
	}

	// Ctrl-C closes the clients (1001 going away) and exits 0.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if got := websocket.CloseStatus(readUntilClosed(ctx, clients[1])); got != websocket.StatusGoingAway {
		t.Errorf("client close status %v; want 1001 going away", got)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("lawcket dev exited with %v; want 0 after SIGINT", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lawcket dev still running 30s after SIGINT")
	}
}

func readUntilClosed(ctx context.Context, c *websocket.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
	}
}
