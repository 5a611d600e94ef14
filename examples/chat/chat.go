package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// MaxTextBytes bounds the text of one chat message (UTF-8 bytes). API Gateway
// accepts frames up to 128 KB; a chat line needs far less.
const MaxTextBytes = 4096

// sendExample is the message the chat's error frames suggest.
const sendExample = `{"action":"send","text":"hello"}`

// sendRequest is the body of a "send" message.
type sendRequest struct {
	Action string `json:"action"`
	// Room is the room to post to (default: the room joined at connect);
	// the sender must be subscribed to it.
	Room string `json:"room"`
	Text string `json:"text"`
}

// chatMessage is the event every subscriber of a room receives, inside a
// channels data frame {"type":"data","channel":"/rooms/R",…,"event":…}.
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

// roomChannels is the part of *channels.Plugin the chat uses.
type roomChannels interface {
	Subscribe(ctx context.Context, ev *lawcket.Event, channel string) error
	Subscribed(ctx context.Context, connectionID, channel string) (bool, error)
	Publish(ctx context.Context, channel string, event []byte, opts ...channels.PublishOption) (channels.Report, error)
}

// roomChannel is the channel of a room.
func roomChannel(room string) string { return "/rooms/" + room }

// replier posts v to the event's own connection (ev.Reply; replaced in tests).
type replier func(ctx context.Context, ev *lawcket.Event, v any) error

// errNoRow means the sender's row is gone (expired, or deleted after a 410).
var errNoRow = errors.New("chat: no row for this connection")

// chat holds what the handlers share; it is built once in main and safe for
// concurrent use.
type chat struct {
	rows  rowReader
	rooms roomChannels
	reply replier
	log   *slog.Logger
}

// connect subscribes the new connection to the room of its ?room= (the
// spec has already refused a connect without one). A room name that is no
// channel segment is refused with 400.
func (c *chat) connect(ctx context.Context, ev *lawcket.Event) error {
	room := strings.TrimSpace(ev.Query("room"))
	if !syncspec.ValidSegment(room) {
		return lawcket.Reject(http.StatusBadRequest, "room must be 1 to 50 letters, digits, '-' or '_'")
	}
	err := c.rooms.Subscribe(ctx, ev, roomChannel(room))
	if errors.Is(err, channels.ErrDenied) {
		return lawcket.Reject(http.StatusForbidden, err.Error())
	}
	return err
}

// send handles the "send" route: validate, find the sender's user in its
// row, check that it is in the room, and publish the message to the room's
// channel. A bad message is answered with an error frame to the sender and
// is not an error of the function.
func (c *chat) send(ctx context.Context, ev *lawcket.Event) error {
	req, problem := parseSend(ev.Body)
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
	room := req.Room
	if room == "" {
		room = s.Room
	}
	if !syncspec.ValidSegment(room) {
		return c.refuse(ctx, ev, `"room" must be 1 to 50 letters, digits, '-' or '_'`)
	}
	in, err := c.rooms.Subscribed(ctx, ev.Connection.ID, roomChannel(room))
	if err != nil {
		return fmt.Errorf("chat: read subscription of %s: %w", ev.Connection.ID, err)
	}
	if !in {
		return c.refuse(ctx, ev, fmt.Sprintf(`you are not in room %q: join it first with {"action":"subscribe","channel":%q}`, room, roomChannel(room)))
	}
	data, err := json.Marshal(chatMessage{User: s.User, Room: room, Text: req.Text})
	if err != nil {
		return fmt.Errorf("chat: encode message: %w", err)
	}
	rep, err := c.rooms.Publish(ctx, roomChannel(room), data)
	if err != nil {
		return fmt.Errorf("chat: publish to room %q: %w", room, err)
	}
	if rep.Failed > 0 {
		// One unreachable member must not fail the sender's message: the
		// others got it. The failures are logged with their ids.
		c.log.WarnContext(ctx, "chat: publish had failures", "room", room,
			"sent", rep.Sent, "gone", rep.Gone, "failed", rep.Failed, "failures", rep.Failures)
	}
	return nil
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
		msg = fmt.Sprintf(`unknown action %q: the actions are "send" (as %s), "subscribe", "unsubscribe" and "presence"`, truncate(action, 64), sendExample)
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

// parseSend decodes a "send" body, or returns a problem to tell the sender.
func parseSend(body []byte) (req sendRequest, problem string) {
	// json.Unmarshal turns invalid UTF-8 into U+FFFD
	if err := json.Unmarshal(body, &req); err != nil {
		return req, "messages are JSON: send " + sendExample
	}
	if strings.TrimSpace(req.Text) == "" {
		return req, `"text" is empty: send ` + sendExample
	}
	if len(req.Text) > MaxTextBytes {
		return req, fmt.Sprintf(`"text" is %d bytes; the limit is %d`, len(req.Text), MaxTextBytes)
	}
	return req, ""
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
