package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/metrics"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

// EnvConfig names the spec file; the default is lawcket.yaml beside the executable.
const EnvConfig = syncspec.EnvConfig

// service is what lawcket-sync serves: the App (WebSocket events) and the
// sweeper (EventBridge scheduled events).
type service struct {
	app     *lawcket.App
	sweeper *channels.Sweeper
}

// newService loads the spec and builds, once, the App (the sync plugin,
// and the channels plugin when the spec has a channels: section) and the
// Sweeper.
func newService(ctx context.Context, getenv func(string) string) (*service, error) {
	spec, err := syncspec.LoadFunction(getenv)
	if err != nil {
		return nil, err
	}
	sync, err := dynamo.NewPlugin(ctx, spec)
	if err != nil {
		return nil, err
	}
	// One Management API client (LAWCKET_MANAGEMENT_ENDPOINT, else each
	// connection's https://{domainName}/{stage}) for replies, publishes and sweeps.
	client, err := mgmt.New()
	if err != nil {
		return nil, err
	}
	var opts []lawcket.Option
	if ns := getenv(EnvMetricsNamespace); ns != "" {
		e, err := metrics.New(os.Stdout, ns)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvMetricsNamespace, err)
		}
		// First, so that it sees every refusal of the chain.
		opts = append(opts, lawcket.WithMiddleware(metrics.Connections(e)))
	}
	opts = append(opts, lawcket.WithPlugins(sync), lawcket.WithManagement(client))
	var sweepOpts []channels.SweepOption
	if spec.Channels != nil {
		ch, err := channels.New(ctx, spec, sync.Table(), channels.WithPoster(client))
		if err != nil {
			return nil, err
		}
		opts = append(opts, ch.Install())
		sweepOpts = append(sweepOpts, channels.WithSweepChannels(ch))
	}
	if v := getenv(EnvSweepRate); v != "" {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive number of GetConnection calls per second", EnvSweepRate, v)
		}
		sweepOpts = append(sweepOpts, channels.WithSweepRate(rate))
	}
	sweeper, err := channels.NewSweeper(sync.Table(), channels.NewChecker(client), sweepOpts...)
	if err != nil {
		return nil, err
	}
	app := lawcket.New(opts...)
	// Other messages are acknowledged and nothing else: the sync plugin has
	// no message hook (the channels routes, when declared, answer theirs).
	app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	if err := app.Err(); err != nil {
		return nil, err
	}
	return &service{app: app, sweeper: sweeper}, nil
}

// EnvMetricsNamespace turns on CloudWatch EMF metrics of connects,
// refusals and disconnects (metrics.Connections), one line per event on
// stdout, in this namespace.
const EnvMetricsNamespace = "LAWCKET_METRICS_NAMESPACE"

// EnvSweepRate bounds the GetConnection calls per second of a scheduled
// sweep (default channels.DefaultSweepRate).
const EnvSweepRate = "LAWCKET_SWEEP_RATE"

// awsEvents is the source of a scheduled event, as EventBridge writes it.
var awsEvents = []byte(`"aws.events"`)

// sweepMargin is how long before the invocation's deadline a sweep stops,
// so that its report is still returned.
const sweepMargin = 2 * time.Second

// handle is the Lambda handler: an EventBridge scheduled event
// (source aws.events, detail-type "Scheduled Event") runs a sweep and
// returns its report; anything else is an API Gateway WebSocket event for
// the App.
func (s *service) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	// A WebSocket event is decoded once, by the App: only a payload that
	// names aws.events is probed as an EventBridge event.
	var probe events.EventBridgeEvent
	if bytes.Contains(raw, awsEvents) && json.Unmarshal(raw, &probe) == nil && probe.Source == "aws.events" && probe.DetailType == "Scheduled Event" {
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-sweepMargin))
			defer cancel()
		}
		rep, err := s.sweeper.Sweep(ctx)
		slog.InfoContext(ctx, "lawcket-sync: sweep", "checked", rep.Checked, "gone", rep.Gone, "rowsDeleted", rep.RowsDeleted,
			"subscriptionsDeleted", rep.SubscriptionsDeleted, "failed", rep.Failed, "error", err)
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil // the next scheduled sweep goes on; the report says what was done
		}
		return rep, err
	}
	// The App decodes the event itself: a malformed one is answered 400
	// (App.Invoke), not failed as a Lambda error.
	out, err := s.app.Invoke(ctx, raw)
	return json.RawMessage(out), err
}
