package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

const presenceAbout = `
Print who is subscribed to CHANNEL, a channel of a namespace of lawcket.yaml's
channels: section that tracks presence, as one JSON object on stdout:

  {"channel":"/rooms/lobby","count":2,"connections":3,"members":[{"key":"ann","fields":{"user":"ann"},"connections":["…","…"]},…]}

A member is one value of the namespace's presence.member field (a user with
two tabs is one member with two connections). The subscriptions table is read
with the default AWS configuration (AWS_REGION, the credentials chain,
AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB): one Query per shard.`

func runPresence(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("presence", "lawcket presence [-c lawcket.yaml] CHANNEL", presenceAbout, stderr)
	config := configFlag(f.FlagSet)
	channel, code, ok := parseWithArg(f, args, stdout, stderr, "CHANNEL")
	if !ok {
		return code
	}
	if _, err := channels.ParsePath(channel); err != nil {
		return f.usageError(stderr, "%v", err)
	}
	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	ch, _, _, err := openChannels(ctx, spec, nil)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket presence: %v\n", err)
		return ExitFindings
	}
	pr, err := ch.Presence(ctx, channel)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket presence: %v\n", err)
		if errors.Is(err, channels.ErrUnknownNamespace) || errors.Is(err, channels.ErrNotPresence) || errors.Is(err, channels.ErrInvalid) {
			return ExitUsage
		}
		return ExitFindings
	}
	return writeJSON(stdout, stderr, "presence", pr)
}

const sweepAbout = `
Remove zombie connections: ask the API Gateway Management API (GetConnection)
about every connection stored in lawcket.yaml's table, at most --rate per
second, and delete the row — and, when the spec has a channels: section, the
subscriptions — of every connection that answers 410 Gone (its $disconnect
never came). Subscriptions whose connection has no row are checked too. The
report is printed on stdout as one JSON object:

  {"checked":N,"alive":N,"gone":N,"rowsDeleted":N,"subscriptionsDeleted":N,"orphans":N,"removed":["…"],"failed":N,"failures":[…]}

The exit status is 1 when a check or a removal failed, or the sweep stopped
early. The endpoint is as for broadcast: --endpoint, else
LAWCKET_MANAGEMENT_ENDPOINT, else https://{domainName}/{stage} of each row.`

func runSweep(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("sweep", "lawcket sweep [-c lawcket.yaml] [--rate N] [--concurrency N] [--endpoint URL] [--api-id ID] [--dry-run]", sweepAbout, stderr)
	config := configFlag(f.FlagSet)
	rate := f.Float64("rate", channels.DefaultSweepRate, "at most `N` GetConnection calls per second")
	concurrency := f.Int("concurrency", channels.DefaultSweepConcurrency, "checks in flight at once")
	endpoint := f.String("endpoint", "", "the Management API endpoint `URL` (placeholders {domainName}, {stage}, {apiId})")
	apiID := f.String("api-id", "", "the API `ID` that fills {apiId} in the endpoint")
	dryRun := f.Bool("dry-run", false, "report what would be removed, remove nothing")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *rate <= 0 {
		return f.usageError(stderr, "--rate %v: must be positive", *rate)
	}
	if *concurrency < 1 {
		return f.usageError(stderr, "--concurrency %d: must be at least 1", *concurrency)
	}
	var mgmtOpts []mgmt.Option
	if *endpoint != "" {
		if err := mgmt.CheckEndpoint(*endpoint); err != nil {
			return f.usageError(stderr, "--endpoint: %v", err)
		}
		mgmtOpts = append(mgmtOpts, mgmt.WithEndpoint(*endpoint))
	}
	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	sweeper, err := newSweeper(ctx, spec, mgmtOpts, channels.WithSweepRate(*rate), channels.WithSweepConcurrency(*concurrency), channels.WithSweepAPIID(*apiID), channels.WithSweepDryRun(*dryRun))
	if err != nil {
		fmt.Fprintf(stderr, "lawcket sweep: %v\n", err)
		return ExitFindings
	}
	rep, err := sweeper.Sweep(ctx)
	if code := writeJSON(stdout, stderr, "sweep", rep); code != ExitOK {
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "lawcket sweep: %v; the report covers what was done\n", err)
		return ExitFindings
	}
	if rep.Failed > 0 {
		return ExitFindings
	}
	return ExitOK
}

// newSweeper builds the Sweeper of spec with the default AWS config:
// the connections table, and the channels when the spec has them.
func newSweeper(ctx context.Context, spec *syncspec.Spec, mgmtOpts []mgmt.Option, opts ...channels.SweepOption) (*channels.Sweeper, error) {
	ch, table, client, err := openChannels(ctx, spec, mgmtOpts)
	if err != nil {
		return nil, err
	}
	if ch != nil {
		opts = append(opts, channels.WithSweepChannels(ch))
	}
	return channels.NewSweeper(table, channels.NewChecker(client), opts...)
}

// openChannels opens the connections table of spec, a Management API
// client with mgmtOpts and, when the spec has a channels: section, the
// channels (nil otherwise) posting through that client.
func openChannels(ctx context.Context, spec *syncspec.Spec, mgmtOpts []mgmt.Option, fanout ...broadcast.Option) (*channels.Plugin, *dynamo.Table, *mgmt.Client, error) {
	table, err := dynamo.NewTable(ctx, spec)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := mgmt.New(mgmtOpts...)
	if err != nil {
		return nil, nil, nil, err
	}
	if spec.Channels == nil {
		return nil, table, client, nil
	}
	ch, err := channels.New(ctx, spec, table, channels.WithPoster(client), channels.WithFanoutOptions(fanout...))
	if err != nil {
		return nil, nil, nil, err
	}
	return ch, table, client, nil
}

// parseWithArg parses flags around one positional argument.
func parseWithArg(f *flags, args []string, stdout, stderr io.Writer, name string) (string, int, bool) {
	err := f.Parse(args)
	var arg string
	if err == nil && f.NArg() > 0 {
		arg = f.Arg(0)
		err = f.Parse(f.Args()[1:]) // flags after the argument
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.help(stdout)
		return "", ExitOK, false
	case err != nil:
		f.help(stderr)
		return "", ExitUsage, false
	case arg == "":
		return "", f.usageError(stderr, "missing %s", name), false
	case f.NArg() > 0:
		return "", f.usageError(stderr, "unexpected argument %q", f.Arg(0)), false
	}
	return arg, ExitOK, true
}

func writeJSON(stdout, stderr io.Writer, cmd string, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "lawcket %s: write report: %v\n", cmd, err)
		return ExitFindings
	}
	return ExitOK
}

// publishChannel is broadcast --channel: channels.Plugin.Publish.
func publishChannel(ctx context.Context, spec *syncspec.Spec, channel string, payload []byte, mgmtOpts []mgmt.Option, fanout []broadcast.Option, stdout, stderr io.Writer, opts ...broadcast.SendOption) int {
	if spec.Channels == nil {
		fmt.Fprintf(stderr, "lawcket broadcast: --channel: %s has no channels: section\n", spec.File)
		return ExitUsage
	}
	ch, _, _, err := openChannels(ctx, spec, mgmtOpts, fanout...)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket broadcast: %v\n", err)
		return ExitFindings
	}
	rep, err := ch.Publish(ctx, channel, payload, opts...)
	if errors.Is(err, channels.ErrInvalid) || errors.Is(err, channels.ErrUnknownNamespace) {
		fmt.Fprintf(stderr, "lawcket broadcast: --channel: %v\n", err)
		return ExitUsage
	}
	return report(rep, rep, err, stdout, stderr)
}
