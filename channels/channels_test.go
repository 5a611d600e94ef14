package channels_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
)

func frameTypes(frames []map[string]any) []string {
	var out []string
	for _, f := range frames {
		out = append(out, f["type"].(string))
	}
	return out
}

func errorType(f map[string]any) string {
	errs, _ := f["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	return errs[0].(map[string]any)["errorType"].(string)
}

func TestSubscribeRules(t *testing.T) {
	w := newWorld(t)
	pro := map[string]any{"principalId": "u", "plan": "pro"}
	w.connect("c-ann", "ann", pro)
	w.connect("c-anon", "", nil)
	for _, tt := range []struct {
		name, conn, body string
		auth             map[string]any
		wantType, errTyp string
	}{
		{"allowed by row", "c-ann", `{"action":"subscribe","id":"1","channel":"/rooms/lobby"}`, pro, "subscribe_success", ""},
		{"denied by row field", "c-anon", `{"action":"subscribe","id":"2","channel":"/rooms/lobby"}`, nil, "subscribe_error", channels.ErrorUnauthorized},
		{"denied by segment", "c-ann", `{"action":"subscribe","id":"3","channel":"/rooms/staff"}`, pro, "subscribe_error", channels.ErrorUnauthorized},
		{"allowed by authorizer", "c-ann", `{"action":"subscribe","id":"4","channel":"/news/*"}`, pro, "subscribe_success", ""},
		{"denied by authorizer", "c-anon", `{"action":"subscribe","id":"5","channel":"/news/sports"}`, nil, "subscribe_error", channels.ErrorUnauthorized},
		{"allowed by path", "c-anon", `{"action":"subscribe","id":"6","channel":"/news/free"}`, nil, "subscribe_success", ""},
		{"unknown namespace", "c-ann", `{"action":"subscribe","id":"7","channel":"/nope/x"}`, pro, "subscribe_error", channels.ErrorUnknownNamespace},
		{"bad path", "c-ann", `{"action":"subscribe","id":"8","channel":"rooms"}`, pro, "subscribe_error", channels.ErrorBadRequest},
		{"wrong types", "c-ann", `{"action":"subscribe","channel":3}`, pro, "subscribe_error", channels.ErrorBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.t = t
			f := w.request(tt.conn, tt.auth, tt.body)
			if f["type"] != tt.wantType || errorType(f) != tt.errTyp {
				t.Fatalf("reply %v; want %s %s", f, tt.wantType, tt.errTyp)
			}
			var req map[string]any
			if json.Unmarshal([]byte(tt.body), &req) == nil && f["id"] != req["id"] {
				t.Fatalf("reply id %v; want %v", f["id"], req["id"])
			}
		})
	}
	w.t = t
	// A denied subscription stores nothing: anon has only /news/free.
	if n := w.subscriptions("c-anon"); n != 1 {
		t.Fatalf("anon has %d subscriptions; want 1 (/news/free only)", n)
	}
	if n := w.subscriptions("c-ann"); n != 2 {
		t.Fatalf("ann has %d subscriptions; want 2", n)
	}
}

func TestPublishWildcardAndUnsubscribe(t *testing.T) {
	w := newWorld(t)
	pro := map[string]any{"plan": "pro"}
	w.connect("c-all", "ann", pro)
	w.connect("c-sports", "bob", pro)
	w.connect("c-weather", "cy", pro)
	w.request("c-all", pro, `{"action":"subscribe","id":"a","channel":"/news/*"}`)
	w.request("c-sports", pro, `{"action":"subscribe","id":"b","channel":"/news/sports"}`)
	w.request("c-weather", pro, `{"action":"subscribe","id":"c","channel":"/news/weather"}`)

	ctx := context.Background()
	rep, err := w.ch.Publish(ctx, "/news/sports", []byte(`{"score":"1-0"}`))
	if err != nil || rep.Sent != 2 || rep.Failed != 0 {
		t.Fatalf("Publish = %+v, %v; want 2 sent", rep, err)
	}
	for id, sub := range map[string]string{"c-all": "/news/*", "c-sports": "/news/sports"} {
		got := w.mgmt.take(id)
		if len(got) != 1 || got[0]["type"] != "data" || got[0]["channel"] != "/news/sports" || got[0]["subscription"] != sub || got[0]["event"].(map[string]any)["score"] != "1-0" {
			t.Fatalf("%s got %v; want one data frame via %s", id, got, sub)
		}
	}
	if got := w.mgmt.take("c-weather"); len(got) != 0 {
		t.Fatalf("weather got %v; want nothing", got)
	}
	// Publishing to a wildcard or an invalid event is refused before any post.
	if _, err := w.ch.Publish(ctx, "/news/*", []byte(`1`)); !errors.Is(err, channels.ErrInvalid) {
		t.Fatalf("Publish to a wildcard: %v; want ErrInvalid", err)
	}
	if _, err := w.ch.Publish(ctx, "/news/x", []byte(`{bad`)); !errors.Is(err, channels.ErrInvalid) {
		t.Fatalf("Publish of bad JSON: %v; want ErrInvalid", err)
	}

	if f := w.request("c-sports", pro, `{"action":"unsubscribe","id":"u1","channel":"/news/sports"}`); f["type"] != "unsubscribe_success" || f["id"] != "u1" {
		t.Fatalf("unsubscribe reply %v", f)
	}
	if f := w.request("c-sports", pro, `{"action":"unsubscribe","id":"u2","channel":"/news/sports"}`); f["type"] != "unsubscribe_error" || errorType(f) != channels.ErrorNotSubscribed {
		t.Fatalf("second unsubscribe reply %v; want NotSubscribed", f)
	}
	rep, err = w.ch.Publish(ctx, "/news/sports", []byte(`"again"`))
	if err != nil || rep.Sent != 1 {
		t.Fatalf("Publish after unsubscribe = %+v, %v; want 1 sent (the wildcard)", rep, err)
	}
	if got := w.mgmt.take("c-sports"); len(got) != 0 {
		t.Fatalf("unsubscribed connection got %v", got)
	}
}

func TestClientPublishRule(t *testing.T) {
	w := newWorld(t)
	w.connect("c-ann", "ann", nil)
	w.connect("c-mute", "mute", nil)
	w.request("c-ann", nil, `{"action":"subscribe","id":"1","channel":"/rooms/r"}`)
	w.request("c-mute", nil, `{"action":"subscribe","id":"1","channel":"/rooms/r"}`)
	w.mgmt.take("c-ann")

	f := w.request("c-mute", nil, `{"action":"publish","id":"p","channel":"/rooms/r","event":{"text":"hi"}}`)
	if f["type"] != "publish_error" || errorType(f) != channels.ErrorUnauthorized {
		t.Fatalf("mute's publish: %v; want Unauthorized", f)
	}
	if got := w.mgmt.take("c-ann"); len(got) != 0 {
		t.Fatalf("a denied publish reached ann: %v", got)
	}
	f = w.request("c-ann", nil, `{"action":"publish","id":"p2","channel":"/rooms/r","event":{"text":"hi"}}`)
	if f["type"] != "publish_success" || f["sent"] != float64(2) {
		t.Fatalf("ann's publish: %v; want success, sent 2", f)
	}
	if got := w.mgmt.take("c-mute"); len(got) != 1 || got[0]["event"].(map[string]any)["text"] != "hi" {
		t.Fatalf("mute got %v; want ann's event", got)
	}
	// news has no publish rule: clients may not publish there.
	f = w.request("c-ann", nil, `{"action":"publish","id":"p3","channel":"/news/free","event":1}`)
	if errorType(f) != channels.ErrorUnauthorized {
		t.Fatalf("publish to news: %v; want Unauthorized (the default publish rule is false)", f)
	}
	f = w.request("c-ann", nil, `{"action":"publish","id":"p4","channel":"/rooms/r"}`)
	if errorType(f) != channels.ErrorBadRequest {
		t.Fatalf("publish without event: %v; want BadRequest", f)
	}
}

func TestDisconnectRemovesEverySubscription(t *testing.T) {
	w := newWorld(t)
	pro := map[string]any{"plan": "pro"}
	w.connect("c-ann", "ann", pro)
	for _, ch := range []string{"/rooms/a", "/rooms/b", "/news/*", "/hot/x", "/hot/y/z"} {
		if f := w.request("c-ann", pro, `{"action":"subscribe","channel":"`+ch+`"}`); f["type"] != "subscribe_success" {
			t.Fatalf("subscribe %s: %v", ch, f)
		}
	}
	if n := w.subscriptions("c-ann"); n != 5 {
		t.Fatalf("%d subscriptions; want 5", n)
	}
	w.counter.Reset()
	w.disconnect("c-ann")
	if n := w.subscriptions("c-ann"); n != 0 {
		t.Fatalf("%d subscriptions after $disconnect; want 0", n)
	}
	if _, err := w.table.Get(context.Background(), "c-ann"); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("row after disconnect: %v", err)
	}
	if q, b := w.counter.Count("Query"), w.counter.Count("BatchWriteItem"); b != 1 || q < 1 {
		t.Fatalf("disconnect made %d Query and %d BatchWriteItem; want 1 batch", q, b)
	}
}

func TestPresenceJoinLeaveAndTabs(t *testing.T) {
	w := newWorld(t)
	w.connect("c-ann1", "ann", nil)
	w.connect("c-ann2", "ann", nil)
	w.connect("c-bob", "bob", nil)
	f := w.request("c-bob", nil, `{"action":"subscribe","id":"b","channel":"/rooms/lobby"}`)
	pr := f["presence"].(map[string]any)
	if pr["count"] != float64(1) {
		t.Fatalf("bob's subscribe_success presence %v; want himself only", pr)
	}
	// ann's first tab joins: bob gets a join frame.
	w.request("c-ann1", nil, `{"action":"subscribe","id":"a1","channel":"/rooms/lobby"}`)
	got := w.mgmt.take("c-bob")
	if len(got) != 1 || got[0]["type"] != "join" || got[0]["member"].(map[string]any)["key"] != "ann" || got[0]["member"].(map[string]any)["fields"].(map[string]any)["user"] != "ann" {
		t.Fatalf("bob got %v; want ann's join", got)
	}
	// Her second tab is no new member: no frame.
	f = w.request("c-ann2", nil, `{"action":"subscribe","id":"a2","channel":"/rooms/lobby"}`)
	if got := w.mgmt.take("c-bob"); len(got) != 0 {
		t.Fatalf("bob got %v for ann's second tab; want nothing", got)
	}
	if pr := f["presence"].(map[string]any); pr["count"] != float64(2) || pr["connections"] != float64(3) {
		t.Fatalf("presence %v; want 2 members, 3 connections", pr)
	}
	p, err := w.ch.Presence(context.Background(), "/rooms/lobby")
	if err != nil || p.Count != 2 || p.Members[0].Key != "ann" || !slices.Equal(p.Members[0].Connections, []string{"c-ann1", "c-ann2"}) {
		t.Fatalf("Presence = %+v, %v", p, err)
	}
	// One tab closes: ann is still here.
	w.disconnect("c-ann1")
	if got := w.mgmt.take("c-bob"); len(got) != 0 {
		t.Fatalf("bob got %v when one of ann's tabs closed", got)
	}
	// The other leaves the channel: bob gets leave.
	w.request("c-ann2", nil, `{"action":"unsubscribe","id":"x","channel":"/rooms/lobby"}`)
	got = w.mgmt.take("c-bob")
	if len(got) != 1 || got[0]["type"] != "leave" || got[0]["member"].(map[string]any)["key"] != "ann" {
		t.Fatalf("bob got %v; want ann's leave", got)
	}
	p, _ = w.ch.Presence(context.Background(), "/rooms/lobby")
	if p.Count != 1 || p.Members[0].Key != "bob" {
		t.Fatalf("Presence = %+v; want bob only", p)
	}
	if _, err := w.ch.Presence(context.Background(), "/news/free"); !errors.Is(err, channels.ErrNotPresence) {
		t.Fatalf("Presence of news: %v; want ErrNotPresence", err)
	}
	f = w.request("c-bob", nil, `{"action":"presence","id":"q","channel":"/rooms/lobby"}`)
	if f["type"] != "presence_success" || f["presence"].(map[string]any)["count"] != float64(1) {
		t.Fatalf("presence request: %v", f)
	}
}

func TestGoneDuringPublishRemovesSubscriptions(t *testing.T) {
	w := newWorld(t)
	w.connect("c-live", "ann", nil)
	w.connect("c-dead", "bob", nil)
	w.request("c-live", nil, `{"action":"subscribe","channel":"/rooms/g"}`)
	w.request("c-dead", nil, `{"action":"subscribe","channel":"/rooms/g"}`)
	w.request("c-dead", nil, `{"action":"subscribe","channel":"/hot/other"}`)
	w.mgmt.take("c-live")
	w.mgmt.setGone("c-dead") // its $disconnect never comes

	rep, err := w.ch.Publish(context.Background(), "/rooms/g", []byte(`{"n":1}`))
	if err != nil || rep.Sent != 1 || rep.Gone != 1 || rep.Deleted != 1 {
		t.Fatalf("Publish = %+v, %v; want 1 sent, 1 gone and deleted", rep, err)
	}
	if n := w.subscriptions("c-dead"); n != 0 {
		t.Fatalf("the gone connection keeps %d subscriptions", n)
	}
	if _, err := w.table.Get(context.Background(), "c-dead"); !errors.Is(err, dynamo.ErrNotFound) {
		t.Fatalf("the gone connection's row: %v; want deleted", err)
	}
	got := w.mgmt.take("c-live")
	types := frameTypes(got)
	if !slices.Contains(types, "data") || !slices.Contains(types, "leave") {
		t.Fatalf("live got %v; want the data and bob's leave", types)
	}
	p, _ := w.ch.Presence(context.Background(), "/rooms/g")
	if p.Count != 1 {
		t.Fatalf("presence %+v; want the live one only", p)
	}
}

// TestGoneDuringConnectIsKept: API Gateway answers 410 to posts during a
// connection's own $connect; a connection that answers 410 moments after
// connecting keeps its row and subscriptions (a failed delete in the Report).
func TestGoneDuringConnectIsKept(t *testing.T) {
	w := newWorld(t)
	w.connectAt("c-new", "new", nil, time.Now())
	w.request("c-new", nil, `{"action":"subscribe","channel":"/hot/n"}`)
	w.mgmt.setGone("c-new")
	rep, err := w.ch.Publish(context.Background(), "/hot/n", []byte(`1`))
	if err != nil || rep.Gone != 1 || rep.Deleted != 0 || rep.Failed != 1 || !errors.Is(rep.Failures[0].Err, lawcket.ErrNotEstablished) {
		t.Fatalf("Publish = %+v, %v; want the 410 counted and the connection kept", rep, err)
	}
	if w.subscriptions("c-new") != 1 {
		t.Fatal("the new connection's subscription was removed")
	}
}

func TestSubscriptionLimit(t *testing.T) {
	w := newWorld(t, channels.WithMaxSubscriptions(2))
	w.connect("c", "ann", nil)
	for i, want := range []string{"subscribe_success", "subscribe_success", "subscribe_error"} {
		f := w.request("c", nil, `{"action":"subscribe","channel":"/hot/`+strings.Repeat("x", i+1)+`"}`)
		if f["type"] != want {
			t.Fatalf("subscribe %d: %v; want %s", i, f, want)
		}
		if want == "subscribe_error" && errorType(f) != channels.ErrorLimitExceeded {
			t.Fatalf("errorType %v; want LimitExceeded", f)
		}
	}
}

func TestShardedChannel(t *testing.T) {
	w := newWorld(t)
	ids := []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"}
	for _, id := range ids {
		w.connect(id, id, nil)
		w.request(id, nil, `{"action":"subscribe","channel":"/hot/game"}`)
	}
	rep, err := w.ch.Publish(context.Background(), "/hot/game", []byte(`{}`))
	if err != nil || rep.Sent != len(ids) {
		t.Fatalf("Publish = %+v, %v; want %d sent across the shards", rep, err, len(ids))
	}
}
