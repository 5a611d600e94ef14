package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	mgmttypes "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/internal/devgw"
	"github.com/lawcket/lawcket/internal/dynalitetest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTwoRoomsStayIsolated(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	a1 := e.join(ctx, t, "user=ann&room=r1")
	a2 := e.join(ctx, t, "user=abe&room=r1")
	b1 := e.join(ctx, t, "user=bob&room=r2")

	a1.say(ctx, "hello r1")
	want := map[string]string{"user": "ann", "room": "r1", "text": "hello r1"}
	for name, c := range map[string]*client{"sender": a1, "same room": a2} {
		if got := c.recv(ctx); !maps.Equal(got, want) {
			t.Fatalf("%s got %v; want %v", name, got, want)
		}
	}
	// The r1 message was posted to r1's members within ann's invocation, which
	// has returned. If it had gone to bob too, it would be the first frame he
	// reads; his own message must come first.
	b1.say(ctx, "hello r2")
	if got, want := b1.recv(ctx), map[string]string{"user": "bob", "room": "r2", "text": "hello r2"}; !maps.Equal(got, want) {
		t.Fatalf("r2 got %v; want only its own %v", got, want)
	}
	a2.say(ctx, "reply")
	if got := a1.recv(ctx); got["text"] != "reply" || got["user"] != "abe" {
		t.Fatalf("ann got %v; want abe's reply", got)
	}
	if got := a2.recv(ctx); got["text"] != "reply" {
		t.Fatalf("abe got %v; want his own reply", got)
	}
	b1.say(ctx, "still alone")
	if got := b1.recv(ctx); got["text"] != "still alone" {
		t.Fatalf("bob got %v; want his own message, nothing from r1", got)
	}
}

func TestConnectWithoutRoomIsRefused(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	for _, query := range []string{"", "user=ann", "user=ann&room=", "room=", "room=%20%20"} {
		t.Run("?"+query, func(t *testing.T) {
			c, resp, err := e.dial(ctx, t, query)
			if err == nil {
				c.conn.CloseNow()
				t.Fatal("connected; want the handshake refused")
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("handshake: %v (response %v); want HTTP 400", err, resp)
			}
		})
	}
	if n := e.countRows(ctx, t); n != 0 {
		t.Fatalf("table has %d rows after refused connects; want 0", n)
	}
}

func TestRowHasItsFields(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	before := time.Now()
	e.join(ctx, t, "user=ann&room=fields")
	e.join(ctx, t, "room=fields") // no user: "anonymous"
	after := time.Now()

	rows := e.roomRows(ctx, t, "fields")
	if len(rows) != 2 {
		t.Fatalf("room has %d rows; want 2", len(rows))
	}
	users := map[string]bool{}
	for _, item := range rows {
		for name, kind := range map[string]string{"connectionId": "S", "domainName": "S", "stage": "S", "user": "S", "room": "S", "connectedAt": "N", "expiresAt": "N"} {
			v, ok := item[name]
			if !ok {
				t.Fatalf("row %v has no %s", item, name)
			}
			_, isN := v.(*types.AttributeValueMemberN)
			_, isS := v.(*types.AttributeValueMemberS)
			if (kind == "N" && !isN) || (kind == "S" && !isS) {
				t.Fatalf("row attribute %s is %T; want %s", name, v, kind)
			}
		}
		var r row
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			t.Fatal(err)
		}
		users[r.User] = true
		if r.Room != "fields" || r.Stage != "local" || r.DomainName == "" || r.ConnectionID == "" {
			t.Fatalf("row = %+v; want room fields, stage local, a domain name and an id", r)
		}
		connected := time.UnixMilli(r.ConnectedAt)
		if connected.Before(before.Add(-time.Second)) || connected.After(after.Add(time.Second)) {
			t.Fatalf("connectedAt = %v; want between %v and %v (epoch ms)", connected, before, after)
		}
		// ttl: 2h in lawcket.yaml: expiresAt is epoch seconds, 2 h after the connect.
		if d := r.ExpiresAt - r.ConnectedAt/1000; d < 7199 || d > 7201 {
			t.Fatalf("expiresAt - connectedAt = %d s; want 7200 (ttl 2h)", d)
		}
	}
	if !users["ann"] || !users["anonymous"] {
		t.Fatalf("users = %v; want ann and anonymous", users)
	}
}

func TestDroppedClientTriggersDisconnect(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	c := e.join(ctx, t, "user=drop&room=drops")
	stay := e.join(ctx, t, "user=stay&room=drops")
	id := e.idOf(ctx, t, "drops", "drop")

	// Cut the TCP connection: no close frame, as when a laptop lid closes.
	if err := c.tcp.Close(); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, id)
	if rows := e.roomRows(ctx, t, "drops"); len(rows) != 1 {
		t.Fatalf("room has %d rows; want only the one still connected", len(rows))
	}
	// The survivor still chats, and the broadcast finds nobody gone.
	stay.say(ctx, "anyone?")
	if got := stay.recv(ctx); got["text"] != "anyone?" {
		t.Fatalf("got %v", got)
	}
}

func TestClosedConnectionAnswers410(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	c := e.join(ctx, t, "user=gone&room=gone")
	id := e.idOf(ctx, t, "gone", "gone")

	// While open, the Management API knows it and posts reach it.
	got, err := e.mgmt.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection of an open connection: %v", err)
	}
	if got.ConnectedAt == nil || time.Since(*got.ConnectedAt) > time.Minute || got.Identity == nil || aws.ToString(got.Identity.SourceIp) != "127.0.0.1" {
		t.Fatalf("GetConnection = connectedAt %v, identity %+v; want now, 127.0.0.1", got.ConnectedAt, got.Identity)
	}
	if _, err := e.mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(`{"text":"direct"}`)}); err != nil {
		t.Fatalf("PostToConnection of an open connection: %v", err)
	}
	if m := c.recv(ctx); m["text"] != "direct" {
		t.Fatalf("client got %v; want the direct post", m)
	}

	if err := c.conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, id)

	var gone *mgmttypes.GoneException
	_, err = e.mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("x")})
	if !errors.As(err, &gone) {
		t.Fatalf("PostToConnection of a closed id: %v; want GoneException (410)", err)
	}
	_, err = e.mgmt.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if !errors.As(err, &gone) {
		t.Fatalf("GetConnection of a closed id: %v; want GoneException (410)", err)
	}
	_, err = e.mgmt.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)})
	if !errors.As(err, &gone) {
		t.Fatalf("DeleteConnection of a closed id: %v; want GoneException (410)", err)
	}
}

func TestStaleRowIsDeletedByBroadcast(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	c := e.join(ctx, t, "user=live&room=stale")
	liveID := e.idOf(ctx, t, "stale", "live")
	// A row whose $disconnect never came (a crash on AWS): same room, an id
	// the gateway does not know, so posting to it answers 410.
	item := e.item(ctx, t, liveID)
	item["connectionId"] = &types.AttributeValueMemberS{Value: "ZZZZZZZZZZZZZZZ="}
	item["user"] = &types.AttributeValueMemberS{Value: "ghost"}
	// Connected an hour ago (a 410 within channels.EstablishWindow of the
	// connect is not taken as gone).
	item["connectedAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10)}
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
		t.Fatal(err)
	}
	// Its subscription to the room's channel, as the channels package lays it out.
	sub := map[string]types.AttributeValue{
		channels.AttrChannel:      &types.AttributeValueMemberS{Value: "/rooms/stale"},
		channels.AttrSubscriber:   &types.AttributeValueMemberS{Value: "m#" + base64.RawURLEncoding.EncodeToString([]byte("ghost")) + "#ZZZZZZZZZZZZZZZ="},
		channels.AttrConnectionID: &types.AttributeValueMemberS{Value: "ZZZZZZZZZZZZZZZ="},
		channels.AttrDomainName:   item["domainName"],
		channels.AttrStage:        item["stage"],
	}
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table + "-subscriptions"), Item: sub}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.roomRows(ctx, t, "stale")); n != 2 {
		t.Fatalf("room has %d rows; want 2", n)
	}
	c.say(ctx, "who is here?")
	if got := c.recv(ctx); got["text"] != "who is here?" {
		t.Fatalf("got %v", got)
	}
	// The 410 row (and its subscription) is deleted within the sender's
	// invocation (which may still be running when the sender reads its own
	// copy); the sender's stays. The sender is told the ghost left.
	e.waitGone(ctx, t, "ZZZZZZZZZZZZZZZ=")
	if f := c.recvFrame(ctx); f["type"] != "leave" || f["member"].(map[string]any)["key"] != "ghost" {
		t.Fatalf("got %v; want the ghost's leave frame", f)
	}
	if e.item(ctx, t, liveID) == nil {
		t.Fatal("the sender's row was deleted; only the gone connection's row may be")
	}
}

func TestRouteSelection(t *testing.T) {
	// Without declared routes the gateway uses whatever $request.body.action
	// gives as the route key (the wrapper falls back to the Message handler
	// for keys it has no Route for); with routes declared, as on API Gateway,
	// other values become $default. The chat answers the same either way.
	for name, routes := range map[string][]string{"any route key": nil, "declared routes": {"send", "$default"}} {
		t.Run(name, func(t *testing.T) { routeSelection(t, routes) })
	}
}

func routeSelection(t *testing.T, routes []string) {
	ctx := testContext(t)
	e := startChat(t, func(c *devgw.Config) { c.Routes = routes })
	c := e.join(ctx, t, "user=rs&room=routes")
	shout := "shout" // the route key of {"action":"shout"}
	if routes != nil {
		shout = "$default"
	}
	tests := []struct {
		name, body string
		key, want  string // a key of the frame that comes back and a substring of its value
		routeKey   string // the route key the chat logs for a refused message
	}{
		{"send route", `{"action":"send","text":"routed"}`, "text", "routed", ""},
		{"send route, other keys first", `{"text":"second","action":"send"}`, "text", "second", ""},
		{"unknown action", `{"action":"shout","text":"x"}`, "error", `unknown action "shout"`, shout},
		{"no action goes to $default", `{"text":"x"}`, "error", `missing "action"`, "$default"},
		{"non-JSON goes to $default", `send hello`, "error", "messages are JSON", "$default"},
		{"action not a string goes to $default", `{"action":{"x":1}}`, "error", `"action" must be a string`, "$default"},
		{"empty text on send", `{"action":"send","text":"  "}`, "error", "empty", "send"},
		{"oversized text on send", `{"action":"send","text":"` + strings.Repeat("x", 5000) + `"}`, "error", "limit is 4096", "send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.send(ctx, tt.body)
			got := c.recv(ctx)
			if !strings.Contains(got[tt.key], tt.want) {
				t.Fatalf("frame %v; want %s containing %q", got, tt.key, tt.want)
			}
			if tt.key == "text" && (got["user"] != "rs" || got["room"] != "routes") {
				t.Fatalf("frame %v; want user rs and room routes from the sender's row", got)
			}
			if tt.routeKey != "" {
				e.waitLog(ctx, t, "reason="+strconv.Quote(got["error"]), "routeKey="+tt.routeKey+" ")
			}
		})
	}
}

func TestMessageOver128KBCloses1009(t *testing.T) {
	ctx := testContext(t)
	// Without the 32 KB frame limit (on by default), so that a 128 KB
	// message can come as one frame.
	e := startChat(t, func(c *devgw.Config) { c.NoFrameLimit = true })

	// Exactly 128 KB is accepted: it reaches the chat, which refuses the text.
	c := e.join(ctx, t, "user=big&room=big")
	body := `{"action":"send","text":"`
	body += strings.Repeat("a", 128<<10-len(body)-2) + `"}`
	if len(body) != 128<<10 {
		t.Fatalf("body is %d bytes", len(body))
	}
	c.send(ctx, body)
	if got := c.recv(ctx); !strings.Contains(got["error"], "limit") {
		t.Fatalf("a 128 KB message got %v; want the chat's error frame", got)
	}

	// One byte more closes the connection with 1009 and removes its row.
	id := e.idOf(ctx, t, "big", "big")
	c.send(ctx, body+" ")
	if got := c.closeStatus(ctx); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v; want 1009 (message too big)", got)
	}
	e.waitGone(ctx, t, id)
}

func TestChatInBrowser(t *testing.T) {
	findChromium(t)
	e := startChat(t, nil)
	chatInBrowser(t, e)
}

// TestChatOnDynalite runs the chat against an external DynamoDB-compatible
// server (lawcket dev --dynamodb-endpoint) instead of the embedded one: dynalite,
// the reference used by the library's own integration tests.
func TestChatOnDynalite(t *testing.T) {
	ctx := testContext(t)
	endpoint := dynalitetest.Start(t)
	e := startChat(t, func(c *devgw.Config) { c.DynamoDBEndpoint = endpoint })
	a := e.join(ctx, t, "user=ann&room=d1")
	b := e.join(ctx, t, "user=bob&room=d1")
	c := e.join(ctx, t, "user=cy&room=d2")
	a.say(ctx, "on dynalite")
	want := map[string]string{"user": "ann", "room": "d1", "text": "on dynalite"}
	for _, cl := range []*client{a, b} {
		if got := cl.recv(ctx); !maps.Equal(got, want) {
			t.Fatalf("got %v; want %v", got, want)
		}
	}
	c.say(ctx, "alone")
	if got := c.recv(ctx); got["text"] != "alone" {
		t.Fatalf("d2 got %v; want only its own message", got)
	}
	id := e.idOf(ctx, t, "d1", "bob")
	if err := b.tcp.Close(); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, id)
	if n := e.countRows(ctx, t); n != 2 {
		t.Fatalf("table has %d rows; want 2 (ann and cy)", n)
	}
}

// TestManagementAPIRightAfterHandshake: once a client has its 101, the
// connection is established: the Management API knows it and posts reach it,
// with no delay (a broadcast triggered by another client may come at once;
// a 410 there would make the broadcaster delete the new member's row).
func TestManagementAPIRightAfterHandshake(t *testing.T) {
	ctx := testContext(t)
	e := startChat(t, nil)
	for i := range 30 {
		user := "u" + strconv.Itoa(i)
		c, _, err := e.dial(ctx, t, "room=fast&user="+user)
		if err != nil {
			t.Fatal(err)
		}
		id := e.idOf(ctx, t, "fast", user)
		if _, err := e.mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte(`{"text":"first"}`)}); err != nil {
			t.Fatalf("connect %d: PostToConnection right after the handshake: %v", i, err)
		}
		if m := c.recv(ctx); m["text"] != "first" {
			t.Fatalf("got %v", m)
		}
		c.conn.CloseNow()
	}
}
