package e2e

import (
	"context"
	"strings"
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
	dev := startDevProcess(t)
	wsURL, dynamoURL, page := dev.wsURL, dev.dynamoURL, dev.pageURL

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
	go dev.interrupt()
	if got := websocket.CloseStatus(readUntilClosed(ctx, clients[1])); got != websocket.StatusGoingAway {
		t.Errorf("client close status %v; want 1001 going away", got)
	}
	if err := dev.interrupt(); err != nil {
		t.Fatalf("lawcket dev after SIGINT: %v; want exit 0", err)
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
