package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// MaxTextBytes bounds the text of one chat message (UTF-8 bytes). API Gateway
// accepts frames up to 128 KB; a chat line needs far less.
const MaxTextBytes = 4096

// sendExample is the message the chat's error frames suggest.
const sendExample = `{"action":"send","text":"hello"}`

// sendRequest is the body of a "send" message.
type sendRequest struct {
	Action string `json:"action"`
	Text   string `json:"text"`
}

// chatMessage is what every connection of a room receives.
type chatMessage struct {
	User string `json:"user"`
	Room string `json:"room"`
	Text string `json:"text"`
}

// errorFrame is posted to the sender only, when its message is refused.
type errorFrame struct {
	Error string `json:"error"`
}

// sender is the part of a connection's row the chat reads back.
type sender struct {
	User string `dynamodbav:"user"`
	Room string `dynamodbav:"room"`
}

// rowReader reads one connection's row (a *dynamo.Table).
type rowReader interface {
	Get(ctx context.Context, connectionID string) (dynamo.Row, error)
}

// roomPoster posts data to every stored connection whose room is room.
type roomPoster func(ctx context.Context, room string, data []byte) error

// replier posts v to the event's own connection (ev.Reply; replaced in tests).
type replier func(ctx context.Context, ev *lawcket.Event, v any) error

// errNoRow means the sender's row is gone (expired, or deleted after a 410).
var errNoRow = errors.New("chat: no row for this connection")

// chat holds what the handlers share; it is built once in main and safe for
// concurrent use.
type chat struct {
	rows   rowReader
	toRoom roomPoster
	reply  replier
	log    *slog.Logger
}

// send handles the "send" route: validate, find the sender's user and room in
// its row, and post the message to the room. A bad message is answered with an
// error frame to the sender and is not an error of the function.
func (c *chat) send(ctx context.Context, ev *lawcket.Event) error {
	text, problem := parseSend(ev.Body)
	if problem != "" {
		return c.refuse(ctx, ev, problem)
	}
	s, err := c.lookup(ctx, ev.Connection.ID)
	if errors.Is(err, errNoRow) {
		return c.refuse(ctx, ev, "this connection is not registered any more: reconnect with ?user=U&room=R")
	}
	if err != nil {
		return err
	}
	data, err := json.Marshal(chatMessage{User: s.User, Room: s.Room, Text: text})
	if err != nil {
		return fmt.Errorf("chat: encode message: %w", err)
	}
	return c.toRoom(ctx, s.Room, data)
}

// unknown handles $default: every message that is not {"action":"send",…}.
func (c *chat) unknown(ctx context.Context, ev *lawcket.Event) error {
	var fields map[string]json.RawMessage
	var action string
	var msg string
	switch {
	case json.Unmarshal(ev.Body, &fields) != nil:
		msg = "messages are JSON objects: send " + sendExample
	case fields["action"] == nil:
		msg = `missing "action": send ` + sendExample
	case json.Unmarshal(fields["action"], &action) != nil:
		msg = `"action" must be a string: send ` + sendExample
	default:
		msg = fmt.Sprintf(`unknown action %q: the only action is "send", as %s`, truncate(action, 64), sendExample)
	}
	return c.refuse(ctx, ev, msg)
}

// refuse posts an error frame to the sender.
func (c *chat) refuse(ctx context.Context, ev *lawcket.Event, msg string) error {
	c.log.InfoContext(ctx, "chat: message refused", "connectionId", ev.Connection.ID, "routeKey", ev.RouteKey, "reason", msg)
	err := c.reply(ctx, ev, errorFrame{Error: msg})
	if errors.Is(err, mgmt.ErrGone) {
		return nil // the sender left meanwhile: nobody to tell
	}
	if err != nil {
		return fmt.Errorf("chat: reply error frame: %w", err)
	}
	return nil
}

// parseSend decodes a "send" body and returns its text, or a problem to tell
// the sender.
func parseSend(body []byte) (text, problem string) {
	var req sendRequest // json.Unmarshal turns invalid UTF-8 into U+FFFD
	if err := json.Unmarshal(body, &req); err != nil {
		return "", "messages are JSON: send " + sendExample
	}
	if strings.TrimSpace(req.Text) == "" {
		return "", `"text" is empty: send ` + sendExample
	}
	if len(req.Text) > MaxTextBytes {
		return "", fmt.Sprintf(`"text" is %d bytes; the limit is %d`, len(req.Text), MaxTextBytes)
	}
	return req.Text, ""
}

// lookup reads the sender's row: its $connect stored it before the
// connection could send anything, and the read is strongly consistent. An
// absent or expired row is errNoRow.
func (c *chat) lookup(ctx context.Context, connectionID string) (sender, error) {
	row, err := c.rows.Get(ctx, connectionID)
	if errors.Is(err, dynamo.ErrNotFound) {
		return sender{}, errNoRow
	}
	if err != nil {
		return sender{}, fmt.Errorf("chat: read row of %s: %w", connectionID, err)
	}
	var s sender
	if err := attributevalue.UnmarshalMap(row.Item, &s); err != nil {
		return sender{}, fmt.Errorf("chat: decode row of %s: %w", connectionID, err)
	}
	if s.Room == "" {
		return sender{}, fmt.Errorf("chat: row of %s has no room", connectionID)
	}
	return s, nil
}

// truncate shortens s to at most n bytes on a rune boundary, for echoing
// client input back in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
