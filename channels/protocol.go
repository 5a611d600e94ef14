package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/mgmt"
)

// The route keys of the client protocol (the "action" of a request, with
// API Gateway's usual route selection expression $request.body.action).
const (
	RouteSubscribe   = "subscribe"
	RouteUnsubscribe = "unsubscribe"
	RoutePublish     = "publish"
	RoutePresence    = "presence"
)

// MaxIDLen bounds a request id (bytes).
const MaxIDLen = 128

// Error types of the errors in an *_error frame.
const (
	ErrorBadRequest       = "BadRequest"         // malformed request, path or event
	ErrorUnknownNamespace = "UnknownNamespace"   // the channel's namespace is not declared
	ErrorUnauthorized     = "Unauthorized"       // a rule denied it
	ErrorNotSubscribed    = "NotSubscribed"      // unsubscribe of a channel not subscribed to
	ErrorLimitExceeded    = "LimitExceeded"      // too many subscriptions
	ErrorNotPresence      = "PresenceNotTracked" // presence of a namespace without presence
	ErrorNoConnection     = "ConnectionNotFound" // the connection has no row (expired or removed)
	ErrorInternal         = "InternalFailure"    // DynamoDB or the Management API failed
)

// Install returns the lawcket option that adds the Plugin (its OnClose
// removes a closing connection's subscriptions) and registers its routes
// subscribe, unsubscribe, publish and presence: the one line an App needs.
//
//	ws := lawcket.New(lawcket.WithPlugins(sync), ch.Install())
func (p *Plugin) Install() lawcket.Option {
	return func(a *lawcket.App) {
		lawcket.WithPlugins(p)(a)
		p.Register(a)
	}
}

// Register registers the routes on app, for an App the Plugin was already
// added to with lawcket.WithPlugins.
func (p *Plugin) Register(app *lawcket.App) {
	app.Route(RouteSubscribe, p.serve(RouteSubscribe))
	app.Route(RouteUnsubscribe, p.serve(RouteUnsubscribe))
	app.Route(RoutePublish, p.serve(RoutePublish))
	app.Route(RoutePresence, p.serve(RoutePresence))
}

// request is a client's request.
type request struct {
	Action  string          `json:"action"`
	ID      string          `json:"id"`
	Channel string          `json:"channel"`
	Event   json.RawMessage `json:"event"`
}

// FrameError is one entry of an *_error frame's errors.
type FrameError struct {
	ErrorType string `json:"errorType"`
	Message   string `json:"message"`
}

// ack is a success or error frame.
type ack struct {
	Type     string       `json:"type"`
	ID       string       `json:"id,omitempty"`
	Channel  string       `json:"channel,omitempty"`
	Errors   []FrameError `json:"errors,omitempty"`
	Presence *Presence    `json:"presence,omitempty"`
	// publish_success
	Sent   *int `json:"sent,omitempty"`
	Failed *int `json:"failed,omitempty"`
}

// serve is the handler of one route.
func (p *Plugin) serve(route string) lawcket.HandlerFunc {
	return func(ctx context.Context, ev *lawcket.Event) error {
		var req request
		dec := json.NewDecoder(bytes.NewReader(ev.Body))
		if err := dec.Decode(&req); err != nil {
			msg := fmt.Sprintf(`invalid request (%v): send {"action":%q,"id":"1","channel":"/namespace/name"}`, err, route)
			return p.reply(ctx, ev, ack{Type: route + "_error", Errors: []FrameError{{ErrorBadRequest, msg}}}, nil)
		}
		if len(req.ID) > MaxIDLen || !utf8.ValidString(req.ID) {
			return p.reply(ctx, ev, ack{Type: route + "_error", Errors: []FrameError{{ErrorBadRequest, fmt.Sprintf("id is longer than %d bytes", MaxIDLen)}}}, nil)
		}
		c := &conn{id: ev.Connection.ID, domainName: ev.Connection.DomainName, stage: ev.Connection.Stage, authorizer: ev.Authorizer()}
		out := ack{Type: route + "_success", ID: req.ID, Channel: req.Channel}
		var err error
		switch route {
		case RouteSubscribe:
			err = p.handleSubscribe(ctx, c, &req, &out)
		case RouteUnsubscribe:
			err = p.handleUnsubscribe(ctx, c, &req)
		case RoutePublish:
			err = p.handlePublish(ctx, c, &req, &out)
		case RoutePresence:
			var pr Presence
			pr, err = p.Presence(ctx, req.Channel)
			if err == nil {
				out.Presence = p.trim(pr)
			}
		}
		if err != nil {
			typ, fault := classify(err)
			e := ack{Type: route + "_error", ID: req.ID, Channel: req.Channel, Errors: []FrameError{{typ, message(err, fault)}}}
			if !fault {
				return p.reply(ctx, ev, e, nil)
			}
			return p.reply(ctx, ev, e, err)
		}
		return p.reply(ctx, ev, out, nil)
	}
}

func (p *Plugin) handleSubscribe(ctx context.Context, c *conn, req *request, out *ack) error {
	joined, err := p.subscribe(ctx, c, req.Channel)
	if err != nil {
		return err
	}
	cp, ns, _ := p.namespace(req.Channel)
	if tracks(ns, cp) {
		pr, err := p.Presence(ctx, req.Channel)
		if err != nil {
			return err
		}
		out.Presence = p.trim(pr)
	}
	if joined != nil {
		return p.fan.notify(ctx, req.Channel, presenceFrame{Type: "join", Channel: req.Channel, Member: *joined}, c.id)
	}
	return nil
}

func (p *Plugin) handleUnsubscribe(ctx context.Context, c *conn, req *request) error {
	left, err := p.unsubscribe(ctx, c, req.Channel)
	if err != nil {
		return err
	}
	if left != nil {
		return p.fan.notify(ctx, req.Channel, presenceFrame{Type: "leave", Channel: req.Channel, Member: *left}, c.id)
	}
	return nil
}

func (p *Plugin) handlePublish(ctx context.Context, c *conn, req *request, out *ack) error {
	cp, ns, err := p.namespace(req.Channel)
	if err != nil {
		return err
	}
	if len(req.Event) == 0 {
		return fmt.Errorf("%w: publish needs an \"event\" (any JSON value)", ErrInvalid)
	}
	if cp.Wildcard() {
		return fmt.Errorf("%w: publish to a wildcard path %s", ErrInvalid, req.Channel)
	}
	if err := p.allow(ctx, ns.Publish, "publish", c, cp); err != nil {
		return err
	}
	rep, err := p.Publish(ctx, req.Channel, req.Event)
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		p.log.WarnContext(ctx, "channels: publish had failures", "channel", req.Channel, "sent", rep.Sent, "failed", rep.Failed, "failures", rep.Failures)
	}
	out.Sent, out.Failed = &rep.Sent, &rep.Failed
	return nil
}

// trim bounds the members a frame lists (a frame is at most 128 KB).
func (p *Plugin) trim(pr Presence) *Presence {
	if len(pr.Members) > DefaultReplyMembers {
		pr.Members = pr.Members[:DefaultReplyMembers]
		pr.Truncated = true
	}
	return &pr
}

// classify maps an error to the frame's errorType; fault says it is not
// the client's doing (the handler then returns it, so Lambda counts it).
func classify(err error) (string, bool) {
	switch {
	case errors.Is(err, ErrInvalid):
		return ErrorBadRequest, false
	case errors.Is(err, ErrUnknownNamespace):
		return ErrorUnknownNamespace, false
	case errors.Is(err, ErrDenied):
		return ErrorUnauthorized, false
	case errors.Is(err, ErrNotSubscribed):
		return ErrorNotSubscribed, false
	case errors.Is(err, ErrTooManySubscriptions):
		return ErrorLimitExceeded, false
	case errors.Is(err, ErrNotPresence):
		return ErrorNotPresence, false
	case errors.Is(err, ErrNoConnection):
		return ErrorNoConnection, false
	}
	return ErrorInternal, true
}

// message is what the client is told: the reason for its own mistakes,
// nothing of an internal failure (which is logged).
func message(err error, fault bool) string {
	if fault {
		return "internal failure; retry later"
	}
	return err.Error()
}

// reply posts frame to the requester and returns cause (an internal
// failure, for Lambda's error metrics) joined with a failed post. A
// requester gone meanwhile (410) is not an error.
func (p *Plugin) reply(ctx context.Context, ev *lawcket.Event, frame ack, cause error) error {
	err := ev.Reply(ctx, frame)
	if errors.Is(err, mgmt.ErrGone) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("channels: reply %s: %w", frame.Type, err)
	}
	return errors.Join(cause, err)
}
