package channels

// This file is the package's only coupling to package broadcast: a publish
// is one broadcast.Sender.Send per matching subscription path, over the
// targets of that path's subscribers (every shard), with a broadcast.Remover
// that removes a gone connection's row and subscriptions.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
)

// Poster posts to one connection (a *mgmt.Client, which the App may share).
type Poster = broadcast.Poster

// FanoutOption configures the broadcast of publishes (concurrency, retry
// policy, …): broadcast's options.
type FanoutOption = broadcast.Option

// PublishOption configures one publish (broadcast.Exclude,
// broadcast.WithAPIID).
type PublishOption = broadcast.SendOption

// Report says what one publish did, summed over the paths it matched (see
// broadcast.Report: sent, gone and deleted, failed, retries).
type Report = broadcast.Report

// WithPoster posts through poster (the App's *mgmt.Client, shared) instead
// of a mgmt.Client of its own built with the default AWS config.
func WithPoster(poster Poster) Option {
	return func(o *options) {
		if poster == nil {
			o.errs = append(o.errs, errors.New("channels: WithPoster: nil poster"))
			return
		}
		o.poster = poster
	}
}

// WithFanoutOptions sets the broadcast options of every publish and
// presence frame (broadcast.WithConcurrency, broadcast.WithRetry, …).
func WithFanoutOptions(opts ...FanoutOption) Option {
	return func(o *options) { o.fanout = append(o.fanout, opts...) }
}

// fanout posts frames to the subscribers of a path.
type fanout struct {
	p      *Plugin
	sender *broadcast.Sender
}

func newFanout(ctx context.Context, p *Plugin, poster Poster, log *slog.Logger, opts []FanoutOption) (*fanout, error) {
	if poster == nil {
		c, err := mgmt.New()
		if err != nil {
			return nil, fmt.Errorf("channels: management API client: %w", err)
		}
		poster = c
	}
	f := &fanout{p: p}
	sender, err := broadcast.New(poster, remover{f}, append([]FanoutOption{broadcast.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, err
	}
	f.sender = sender
	return f, nil
}

// targets streams the live subscribers of a subscription path, shard by
// shard, page by page (one page in memory at a time).
func (f *fanout) targets(ctx context.Context, path string) iter.Seq2[mgmt.Target, error] {
	return func(yield func(mgmt.Target, error) bool) {
		_, ns, err := f.p.namespace(path)
		if err != nil {
			yield(mgmt.Target{}, err)
			return
		}
		for shard := range ns.Shards {
			for item, err := range f.p.store.items(ctx, partitionKey(path, shard, ns.Shards)) {
				if err != nil {
					yield(mgmt.Target{}, err)
					return
				}
				t := mgmt.Target{
					ConnectionID: stringAttr(item, AttrConnectionID),
					DomainName:   stringAttr(item, AttrDomainName),
					Stage:        stringAttr(item, AttrStage),
				}
				if !yield(t, nil) {
					return
				}
			}
		}
	}
}

// remover is the broadcast.Remover of a fanout.
type remover struct{ f *fanout }

// Delete removes a connection that answered 410: its row in the
// connections table and all its subscriptions. A connection whose row is
// younger than EstablishWindow is kept: API Gateway answers 410 to posts
// during a connection's own $connect, and a connect handler may subscribe
// (channels.Plugin.Subscribe) before it returns. That keep is reported as a
// failed delete; the subscription goes with the $disconnect, its TTL or a
// sweep if the connection really is gone.
func (s remover) Delete(ctx context.Context, connectionID string) error {
	if row, err := s.f.p.conns.Get(ctx, connectionID); err == nil {
		if age, young := establishing(row, s.f.p.store.clock()); young {
			return fmt.Errorf("channels: %s answered 410 %v after its connect (it may still be in $connect); kept: %w", connectionID, age.Round(time.Millisecond), lawcket.ErrNotEstablished)
		}
	}
	_, err := s.f.p.removeGone(ctx, connectionID)
	return err
}

// EstablishWindow is how long after its connectedAt a connection that
// answers 410 is not removed: API Gateway's longest integration timeout
// (29 s) plus a margin, the longest a $connect can last.
const EstablishWindow = 30 * time.Second

// establishing reports whether row's connection is younger than
// EstablishWindow at now (a row without connectedAt is not), with its age.
func establishing(row dynamo.Row, now time.Time) (time.Duration, bool) {
	age := now.Sub(row.ConnectedAt)
	return age, !row.ConnectedAt.IsZero() && age < EstablishWindow
}

// send posts frame to the subscribers of one subscription path.
func (f *fanout) send(ctx context.Context, path string, frame any, opts ...PublishOption) (Report, error) {
	data, err := json.Marshal(frame)
	if err != nil {
		return Report{Failures: []broadcast.Failure{}}, fmt.Errorf("channels: encode frame: %w", err)
	}
	return f.sender.Send(ctx, f.targets(ctx, path), data, opts...)
}

// notify sends a presence frame to a channel's subscribers except one
// connection. Per-connection failures are logged, not returned.
func (f *fanout) notify(ctx context.Context, path string, frame presenceFrame, except string) error {
	rep, err := f.send(ctx, path, frame, broadcast.Exclude(except))
	if rep.Failed > 0 {
		f.p.log.WarnContext(ctx, "channels: presence frame had failures", "channel", path, "type", frame.Type, "failed", rep.Failed, "failures", rep.Failures)
	}
	return err
}

// Publish posts event (one JSON value) to every subscriber of channel (a
// concrete path such as /rooms/lobby): the subscribers of the path itself
// and of each wildcard above it (/rooms/*), one Query per shard of each.
// Each gets {"type":"data","channel":CHANNEL,"subscription":PATH,"event":EVENT},
// where PATH is the subscription that matched: a connection subscribed to
// both /rooms/lobby and /rooms/* gets the event twice, once per
// subscription. Connections that answer 410 lose their row and every
// subscription. opts (broadcast.Exclude, broadcast.WithAPIID) apply to
// this publish only. Go code may publish to any channel: the publish
// rule is for clients.
//
// The error is non-nil when the channel or event is invalid (nothing is
// posted), a subscription path could not be read (the Report covers the
// rest), or ctx ended. Per-connection failures are in the Report.
func (p *Plugin) Publish(ctx context.Context, channel string, event []byte, opts ...PublishOption) (Report, error) {
	cp, _, err := p.namespace(channel)
	if err != nil {
		return Report{Failures: []broadcast.Failure{}}, err
	}
	if cp.Wildcard() {
		return Report{Failures: []broadcast.Failure{}}, fmt.Errorf("%w: publish to a wildcard path %s (publish to one channel; subscribers of wildcards receive it)", ErrInvalid, channel)
	}
	if !json.Valid(event) {
		return Report{Failures: []broadcast.Failure{}}, fmt.Errorf("%w: the event is not one JSON value", ErrInvalid)
	}
	var total Report
	var errs []error
	for _, path := range cp.Patterns() {
		rep, err := p.fan.send(ctx, path, dataFrame{Type: "data", Channel: channel, Subscription: path, Event: event}, opts...)
		total.Add(rep)
		if err != nil {
			errs = append(errs, fmt.Errorf("channels: publish to %s via %s: %w", channel, path, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if total.Failures == nil {
		total.Failures = []broadcast.Failure{}
	}
	return total, errors.Join(errs...)
}
