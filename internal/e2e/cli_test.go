package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/dynalitetest"
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
	// The table shows both rows.
	db := dynalitetest.Client(dynamoURL)
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("chat-connections")})
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("scan: %v rows, %v; want 2", len(out.Items), err)
	}
	// The printed Management API endpoint knows both connections.
	mgmt := managementClient(dev.mgmtURL)
	for _, item := range out.Items {
		var r row
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		if r.Room != "cli" || (r.User != "ann" && r.User != "bob") {
			t.Fatalf("row %+v; want ann's and bob's in room cli", r)
		}
		if _, err := mgmt.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(r.ConnectionID)}); err != nil {
			t.Fatalf("GetConnection %s at %s: %v", r.ConnectionID, dev.mgmtURL, err)
		}
	}

	if err := clients[0].Write(ctx, websocket.MessageText, []byte(`{"action":"send","text":"hi bob"}`)); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		// The message comes as a channels data frame (join frames of the
		// room's members may come first).
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("client %d read: %v", i, err)
			}
			if strings.Contains(string(data), `"type":"join"`) {
				continue
			}
			if want := `"event":{"user":"ann","room":"cli","text":"hi bob"}`; !strings.Contains(string(data), want) {
				t.Fatalf("client %d read %s; want a data frame with %s", i, data, want)
			}
			break
		}
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
