package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// request sends a channels request and returns its answer (join, leave and
// data frames on the way are skipped).
func (c *client) request(ctx context.Context, v map[string]any) map[string]any {
	c.t.Helper()
	body, _ := json.Marshal(v)
	c.send(ctx, string(body))
	for {
		f := c.recvFrame(ctx)
		switch f["type"] {
		case "join", "leave", "data":
			continue
		}
		return f
	}
}

// nextOfType reads frames until one of type typ.
func (c *client) nextOfType(ctx context.Context, typ string) map[string]any {
	c.t.Helper()
	for {
		if f := c.recvFrame(ctx); f["type"] == typ {
			return f
		}
	}
}

// subscriptionCount counts a connection's items in the subscriptions table
// (a Scan: tests only).
func (e *env) subscriptionCount(ctx context.Context, t *testing.T, id string) int {
	t.Helper()
	out, err := e.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.table + "-subscriptions")})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, item := range out.Items {
		if v, ok := item[channels.AttrConnectionID].(*types.AttributeValueMemberS); ok && v.Value == id {
			n++
		}
	}
	return n
}

// TestChannelsUnderDev drives the channels protocol through the local
// gateway (lawcket dev's devgw) and the chat's real binary: presence with
// two tabs of one user, a wildcard subscription, a client publish refused
// by the (absent) publish rule, unsubscribe, $disconnect removing every
// subscription, and a sweep removing a connection whose $disconnect never
// came.
func TestChannelsUnderDev(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	ann1 := e.join(ctx, t, "user=ann&room=lobby")
	bob := e.join(ctx, t, "user=bob&room=lobby")
	ann2 := e.join(ctx, t, "user=ann&room=lobby") // ann's second tab: no new member

	p := bob.request(ctx, map[string]any{"action": "presence", "id": "p1", "channel": "/rooms/lobby"})
	pr := p["presence"].(map[string]any)
	if p["type"] != "presence_success" || p["id"] != "p1" || pr["count"] != float64(2) || pr["connections"] != float64(3) {
		t.Fatalf("presence %v; want 2 members (ann with two tabs, bob), 3 connections", p)
	}

	// A wildcard subscriber receives a room's messages.
	watcher := e.join(ctx, t, "user=ops&room=ops")
	if f := watcher.request(ctx, map[string]any{"action": "subscribe", "id": "w", "channel": "/rooms/*"}); f["type"] != "subscribe_success" {
		t.Fatalf("wildcard subscribe: %v", f)
	}
	ann1.say(ctx, "hello lobby")
	d := watcher.nextOfType(ctx, "data")
	if d["channel"] != "/rooms/lobby" || d["subscription"] != "/rooms/*" || d["event"].(map[string]any)["text"] != "hello lobby" {
		t.Fatalf("watcher got %v; want the lobby message through /rooms/*", d)
	}

	// Clients may not publish to rooms: the namespace has no publish rule.
	f := bob.request(ctx, map[string]any{"action": "publish", "id": "x", "channel": "/rooms/lobby", "event": map[string]string{"text": "forged"}})
	if f["type"] != "publish_error" || f["errors"].([]any)[0].(map[string]any)["errorType"] != channels.ErrorUnauthorized {
		t.Fatalf("client publish: %v; want Unauthorized", f)
	}

	// Closing one of ann's tabs is no leave; unsubscribing the other is.
	ann2.conn.CloseNow()
	ann1.request(ctx, map[string]any{"action": "unsubscribe", "id": "u", "channel": "/rooms/lobby"})
	l := bob.nextOfType(ctx, "leave")
	if l["member"].(map[string]any)["key"] != "ann" {
		t.Fatalf("bob got %v; want ann's leave", l)
	}

	// $disconnect removes every subscription: the watcher has two.
	watcherID := e.idOf(ctx, t, "ops", "ops")
	if n := e.subscriptionCount(ctx, t, watcherID); n != 2 {
		t.Fatalf("watcher has %d subscriptions; want 2", n)
	}
	watcher.conn.CloseNow()
	e.waitGone(ctx, t, watcherID)
	deadline := time.Now().Add(10 * time.Second)
	for e.subscriptionCount(ctx, t, watcherID) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the watcher's subscriptions survived its $disconnect")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A zombie: a row and a subscription whose $disconnect never came.
	bobID := e.idOf(ctx, t, "lobby", "bob")
	item := e.item(ctx, t, bobID)
	item["connectionId"] = &types.AttributeValueMemberS{Value: "ZOMBIEZOMBIEZZ="}
	item["user"] = &types.AttributeValueMemberS{Value: "zombie"}
	item["connectedAt"] = &types.AttributeValueMemberN{Value: "1"}
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
		t.Fatal(err)
	}
	spec, err := syncspec.Load(filepath.Join(repoRoot(t), "examples", "chat", "lawcket.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(e.db))
	if err != nil {
		t.Fatal(err)
	}
	client, err := mgmt.New(mgmt.WithEndpoint(e.gw.ManagementEndpoint()), mgmt.WithAWSConfig(localAWS))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := channels.New(ctx, spec, table, channels.WithClient(e.db), channels.WithPoster(client))
	if err != nil {
		t.Fatal(err)
	}
	sw, err := channels.NewSweeper(table, channels.NewChecker(client), channels.WithSweepChannels(ch), channels.WithSweepRate(1000))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sw.Sweep(ctx)
	if err != nil || rep.Gone != 1 || rep.RowsDeleted != 1 || len(rep.Removed) != 1 || rep.Removed[0] != "ZOMBIEZOMBIEZZ=" || rep.Failed != 0 {
		t.Fatalf("sweep %+v, %v; want the zombie removed, nothing else", rep, err)
	}
	if e.item(ctx, t, bobID) == nil {
		t.Fatal("the sweep removed a live connection")
	}
}
