package metrics

import (
	"context"
	"strconv"
	"time"

	"github.com/lawcket/lawcket"
)

// Connections returns a lawcket.Middleware that emits one EMF line to e
// for each $connect and $disconnect the App serves; Events does the same
// for messages too. Give it first to lawcket.WithMiddleware, so that it
// sees the refusals of the middleware after it (an auth middleware's 401)
// as well as those of the plugins and handlers; a nil e emits nothing.
//
// Each line has three dimension values — Stage (the API's stage, from API
// Gateway's request context), EventType ("connect", "disconnect" or
// "message") and Status (the HTTP status the App answers, as
// lawcket.StatusOf gives it: "200", "400", "401", "403", "500" …) — and
// two directives:
//
//   - by Stage and EventType: Accepted (1 when the status is 2xx, else 0),
//     Refused (1 when 4xx), Failed (1 when 5xx) and Duration (the chain's
//     time, in milliseconds). Connects are Accepted of EventType connect,
//     disconnects the SampleCount of EventType disconnect;
//   - by Stage, EventType and Status: Events (1): the refusals by status.
//
// The dimensions are bounded on purpose: CloudWatch bills each unique
// combination of a metric's dimension values as one custom metric (and
// keeps it for 15 months), so a dimension taking a client-controlled value
// — a connection id, a room, a user, a header — would create a metric per
// value and let any client grow the bill. Stage comes from API Gateway's
// configuration (at most 10 per API by default), EventType has three
// values, Status the few an App answers. With one stage, Connections
// gives 2 event types × 4 metrics + (event type, status) pairs seen — about
// 14 custom metrics.
//
// The status is the handler chain's: a $disconnect refused by a later
// middleware, whose close plugins the App then runs outside the chain, is
// counted with the refusal's status. A line that cannot be written is
// logged at Warn with the event's logger and changes nothing else.
func Connections(e *Emitter) lawcket.Middleware {
	return middleware(e, false)
}

// Events is Connections for every event, messages included (one line per
// message: mind the log volume of a chatty API).
func Events(e *Emitter) lawcket.Middleware {
	return middleware(e, true)
}

func middleware(e *Emitter, messages bool) lawcket.Middleware {
	return func(next lawcket.Handler) lawcket.Handler {
		if e == nil {
			return next
		}
		return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
			kind := eventType(ev.Type)
			if kind == "" || (kind == "message" && !messages) {
				return next.ServeEvent(ctx, ev)
			}
			start := time.Now()
			err := next.ServeEvent(ctx, ev)
			if merr := Connection(e, ev.Request.RequestContext.Stage, ev.Type, lawcket.StatusOf(err), time.Since(start)); merr != nil {
				ev.Logger().WarnContext(ctx, "metrics: connection metrics not written", "error", merr)
			}
			return err
		})
	}
}

// Connection emits the line of one event (see Connections): its stage
// (empty: "-"), type, the status answered and the time taken.
func Connection(e *Emitter, stage string, t lawcket.EventType, status int, d time.Duration) error {
	if e == nil {
		return nil
	}
	if stage == "" {
		stage = "-"
	}
	kind := eventType(t)
	if kind == "" {
		kind = t.String()
	}
	outcome := func(ok bool) float64 {
		if ok {
			return 1
		}
		return 0
	}
	return e.EmitDirectives(map[string]string{"Stage": stage, "EventType": kind, "Status": strconv.Itoa(status)},
		Directive{Dimensions: []string{"EventType", "Stage"}, Metrics: []Metric{
			{"Accepted", Count, outcome(status >= 200 && status < 300)},
			{"Refused", Count, outcome(status >= 400 && status < 500)},
			{"Failed", Count, outcome(status >= 500)},
			{"Duration", Milliseconds, float64(d.Microseconds()) / 1000},
		}},
		Directive{Dimensions: []string{"EventType", "Stage", "Status"}, Metrics: []Metric{{"Events", Count, 1}}},
	)
}

// eventType is the EventType dimension's value: API Gateway's names.
func eventType(t lawcket.EventType) string {
	switch t {
	case lawcket.Connect:
		return "connect"
	case lawcket.Close:
		return "disconnect"
	case lawcket.Message:
		return "message"
	}
	return ""
}
