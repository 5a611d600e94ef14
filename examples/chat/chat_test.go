package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

func TestParseSend(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		text    string
		problem string // substring of the problem; "" when accepted
	}{
		{"ok", `{"action":"send","text":"hello"}`, "hello", ""},
		{"unicode", `{"action":"send","text":"héllo 👋"}`, "héllo 👋", ""},
		{"exactly the limit", `{"action":"send","text":"` + strings.Repeat("a", MaxTextBytes) + `"}`, strings.Repeat("a", MaxTextBytes), ""},
		{"empty", `{"action":"send","text":""}`, "", "empty"},
		{"blank", `{"action":"send","text":" \n\t "}`, "", "empty"},
		{"missing text", `{"action":"send"}`, "", "empty"},
		{"oversized", `{"action":"send","text":"` + strings.Repeat("a", MaxTextBytes+1) + `"}`, "", "limit is 4096"},
		{"text not a string", `{"action":"send","text":42}`, "", "JSON"},
		{"not JSON", `send hello`, "", "JSON"},
		{"invalid UTF-8 escape", `{"action":"send","text":"\ud800"}`, "\ufffd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, problem := parseSend([]byte(tt.body))
			text := req.Text
			if tt.problem == "" {
				if problem != "" || text != tt.text {
					t.Fatalf("parseSend = %q, %q; want %q accepted", text, problem, tt.text)
				}
				return
			}
			if !strings.Contains(problem, tt.problem) {
				t.Fatalf("parseSend problem = %q; want it to mention %q", problem, tt.problem)
			}
		})
	}
}

// recorder captures what the handlers post, and says which channels a
// connection is subscribed to (a stand-in for *channels.Plugin in these
// handler tests; the channels themselves are tested against dynalite in
// package channels and end to end in internal/e2e).
type recorder struct {
	mu      sync.Mutex
	replies []any
	rooms   []string
	posts   [][]byte
	subs    map[string]bool // "id channel"
}

func (r *recorder) Subscribe(_ context.Context, ev *lawcket.Event, channel string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = map[string]bool{}
	}
	r.subs[ev.Connection.ID+" "+channel] = true
	return nil
}

func (r *recorder) Subscribed(_ context.Context, id, channel string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs[id+" "+channel], nil
}

func (r *recorder) Publish(_ context.Context, channel string, event []byte, _ ...channels.PublishOption) (channels.Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rooms = append(r.rooms, strings.TrimPrefix(channel, "/rooms/"))
	r.posts = append(r.posts, event)
	return channels.Report{Sent: 1}, nil
}

func (r *recorder) reply(_ context.Context, _ *lawcket.Event, v any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, v)
	return nil
}

// newTestChat starts dynalite with the example's table holding rows; the
// chat reads them through a dynamo.Table whose clock says now.
func newTestChat(t *testing.T, now time.Time, rows ...map[string]types.AttributeValue) (*chat, *recorder) {
	t.Helper()
	ctx := context.Background()
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	db := dynalitetest.Client(dynalitetest.Start(t))
	dynalitetest.CreateTable(t, db, dynamo.TableDefinition(spec, spec.Table))
	for _, item := range rows {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(spec.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	table, err := dynamo.NewTable(ctx, spec, dynamo.WithClient(db), dynamo.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	return &chat{
		rows:  table,
		rooms: rec,
		reply: rec.reply,
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, rec
}

func row(id, user, room string, expiresAt int64) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"connectionId": &types.AttributeValueMemberS{Value: id},
		"domainName":   &types.AttributeValueMemberS{Value: "example.test"},
		"stage":        &types.AttributeValueMemberS{Value: "local"},
		"connectedAt":  &types.AttributeValueMemberN{Value: "1"},
		"user":         &types.AttributeValueMemberS{Value: user},
		"room":         &types.AttributeValueMemberS{Value: room},
	}
	if expiresAt != 0 {
		item["expiresAt"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(expiresAt, 10)}
	}
	return item
}

func messageEvent(id, routeKey, body string) *lawcket.Event {
	return &lawcket.Event{
		Type:       lawcket.Message,
		RouteKey:   routeKey,
		Connection: lawcket.Connection{ID: id},
		Body:       []byte(body),
	}
}

func TestSend(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, rec := newTestChat(t, now,
		row("alice=", "alice", "r1", now.Add(time.Hour).Unix()),
		row("old=", "old", "r1", now.Add(-time.Second).Unix()),
	)
	ctx := context.Background()
	tests := []struct {
		name  string
		id    string
		body  string
		room  string // the room posted to; "" when nothing is posted
		post  string
		error string // substring of the error frame replied to the sender
	}{
		{"to the sender's room", "alice=", `{"action":"send","text":"hi <b>all</b>"}`, "r1", `{"user":"alice","room":"r1","text":"hi \u003cb\u003eall\u003c/b\u003e"}`, ""},
		{"to a room joined later; the user in the body is ignored", "alice=", `{"action":"send","text":"x","room":"r2","user":"mallory"}`, "r2", `{"user":"alice","room":"r2","text":"x"}`, ""},
		{"not to a room not joined", "alice=", `{"action":"send","text":"x","room":"r3"}`, "", "", `not in room "r3"`},
		{"not to an invalid room", "alice=", `{"action":"send","text":"x","room":"a b"}`, "", "", `"room" must be`},
		{"empty text", "alice=", `{"action":"send","text":""}`, "", "", "empty"},
		{"oversized text", "alice=", `{"action":"send","text":"` + strings.Repeat("z", MaxTextBytes+1) + `"}`, "", "", "limit"},
		{"no row", "ghost=", `{"action":"send","text":"hi"}`, "", "", "not registered"},
		{"expired row", "old=", `{"action":"send","text":"hi"}`, "", "", "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*rec = recorder{subs: map[string]bool{"alice= /rooms/r1": true, "alice= /rooms/r2": true}}
			if err := c.send(ctx, messageEvent(tt.id, "send", tt.body)); err != nil {
				t.Fatalf("send: %v", err)
			}
			if tt.room != "" {
				if len(rec.rooms) != 1 || rec.rooms[0] != tt.room || string(rec.posts[0]) != tt.post || len(rec.replies) != 0 {
					t.Fatalf("posted %q %q, replied %v; want %q to room %q and no reply", rec.rooms, rec.posts, rec.replies, tt.post, tt.room)
				}
				return
			}
			if len(rec.rooms) != 0 {
				t.Fatalf("posted to %q; want nothing posted", rec.rooms)
			}
			if len(rec.replies) != 1 {
				t.Fatalf("replies = %v; want one error frame", rec.replies)
			}
			f, ok := rec.replies[0].(errorFrame)
			if !ok || !strings.Contains(f.Error, tt.error) {
				t.Fatalf("reply = %#v; want an errorFrame mentioning %q", rec.replies[0], tt.error)
			}
		})
	}
}

func TestSendReadFailureIsAnError(t *testing.T) {
	// A real server, and a table that does not exist on it.
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec.Table = "no-such-table"
	db := dynalitetest.Client(dynalitetest.Start(t))
	table, err := dynamo.NewTable(context.Background(), spec, dynamo.WithClient(db))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c := &chat{rows: table, rooms: rec, reply: rec.reply, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err = c.send(context.Background(), messageEvent("a=", "send", `{"action":"send","text":"hi"}`))
	if err == nil || !strings.Contains(err.Error(), "read row") || !errors.Is(err, dynamo.ErrTableNotFound) {
		t.Fatalf("send = %v; want the read error (a fault, not the client's)", err)
	}
	if len(rec.rooms)+len(rec.replies) != 0 {
		t.Fatalf("posted %v, replied %v; want nothing", rec.rooms, rec.replies)
	}
}

func TestUnknown(t *testing.T) {
	c := &chat{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", "hello", "messages are JSON"},
		{"no action", `{"text":"hi"}`, `missing "action"`},
		{"unknown action", `{"action":"shout","text":"hi"}`, `unknown action "shout"`},
		{"long action is cut", `{"action":"` + strings.Repeat("é", 100) + `"}`, "…"},
		{"action not a string", `{"action":7}`, `"action" must be a string`},
		{"not an object", `["send"]`, "messages are JSON objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c.reply = rec.reply
			if err := c.unknown(context.Background(), messageEvent("a=", "$default", tt.body)); err != nil {
				t.Fatalf("unknown: %v", err)
			}
			if len(rec.replies) != 1 {
				t.Fatalf("replies = %v; want one", rec.replies)
			}
			f := rec.replies[0].(errorFrame)
			if !strings.Contains(f.Error, tt.want) || !utf8.ValidString(f.Error) {
				t.Fatalf("error frame %q; want it to mention %q (valid UTF-8)", f.Error, tt.want)
			}
		})
	}
}

func TestRefuseToAGoneSender(t *testing.T) {
	c := &chat{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tt := range []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"gone: nobody to tell", fmt.Errorf("post: %w", mgmt.ErrGone), false},
		{"other failures are faults", fmt.Errorf("post: %w", mgmt.ErrForbidden), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.reply = func(context.Context, *lawcket.Event, any) error { return tt.err }
			err := c.unknown(context.Background(), messageEvent("a=", "$default", "x"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("unknown = %v; want error %v", err, tt.wantErr)
			}
		})
	}
}
