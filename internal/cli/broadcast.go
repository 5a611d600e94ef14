package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/fanout"
	"github.com/lawcket/lawcket/mgmt"
	"github.com/lawcket/lawcket/syncspec"
)

const broadcastAbout = `
Post a payload to the stored connections of lawcket.yaml's table: those whose
"index: true" field FIELD equals VALUE (--where, a Query on the field's index)
or all of them (--all, a Scan). Connections that answer 410 Gone have their
row deleted; throttled posts (429) are retried with backoff; requests are
paced at --rate per second (shared by every worker and segment; a 429 lowers
it for a while); a post that may
have been delivered (5xx, connection lost after sending) is not resent and is
reported with reason "ambiguous". The report is printed on stdout as one JSON
object ("attempts" counts every HTTP attempt, "retries" every resend,
"throttled" the 429 answers; "rate", "minRate" and "achievedRate" are
requests per second over "seconds"):

  {"sent":N,"gone":N,"deleted":N,"failed":N,"ambiguous":N,"attempts":N,"retries":N,"throttled":N,"rate":R,"minRate":R,"achievedRate":R,"seconds":S,"failures":[{"connectionId":"…","op":"post","reason":"…","error":"…","attempts":N}]}

With --all --segments N the table is read as N parallel Scan segments
(DynamoDB's Segment/TotalSegments), each posted to by its own --concurrency
workers at --rate/N; the report adds them up.

With --queue URL the broadcast may run on lawcket-fanout workers instead
(see docs/broadcast.md and docs/scale.md). --plan says where: queue (the
default with --queue) posts nothing here: the broadcast is planned into
segment jobs (--segments N Scan segments with --all, else ⌈--rate / 1,600⌉;
the one Query of --where) put on that SQS queue, --rate split between them;
--endpoint and --concurrency are then the workers' settings and are refused.
auto counts the selected rows first, reading at most --local-max + 1 of
them (Select COUNT), and runs up to --local-max rows here, more on the
queue; local (the default without --queue) runs here. The decision and its
reason are in the report's "plan" member, and on stderr with --queue:

  "plan":{"asked":"auto","mode":"queue","rows":N,"estimate":"exact|more than|item count|none","segments":N,"seconds":S,"reason":"…"}

On the queue the report is the enqueue report: every job is in "messages"
(with its SQS message id) or in "failures" (SQS's code, whether the call may
have enqueued it all the same: "ambiguous"):

  {"broadcast":"…","queue":"…","plan":{…},"jobs":N,"enqueued":N,"failed":N,"calls":N,"resent":N,"messages":[{"index":0,"segment":0,"messageId":"…","attempts":1}],"failures":[]}

The queue is reached with the default AWS configuration (AWS_ENDPOINT_URL_SQS
for another endpoint; the client speaks SQS's AWS JSON protocol).

The exit status is 1 when any post or delete failed, any job was not
enqueued, the count of --plan auto failed, or the broadcast stopped early
(the report then covers what was done).

The table is reached with the default AWS configuration (AWS_REGION, the
credentials chain, AWS_ENDPOINT_URL_DYNAMODB for a local DynamoDB). Posts go to
https://{domainName}/{stage} of each row unless --endpoint or
LAWCKET_MANAGEMENT_ENDPOINT gives another endpoint; both may use the
{domainName}, {stage} and {apiId} (from --api-id) placeholders, as in
https://abc123.execute-api.eu-west-1.amazonaws.com/{stage} behind a custom
domain, or http://127.0.0.1:8080/local for the local gateway.`

func runBroadcast(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("broadcast", "lawcket broadcast [-c lawcket.yaml] (--where FIELD=VALUE | --all [--segments N] | --channel PATH) --data JSON|@file [--endpoint URL] [--concurrency N] [--rate N] [--exclude ID] [--api-id ID] [--queue URL [--name NAME] [--plan auto|local|queue] [--local-max N]]", broadcastAbout, stderr)
	config := configFlag(f.FlagSet)
	where := f.String("where", "", "post to the connections whose index field `FIELD=VALUE`")
	all := f.Bool("all", false, "post to every stored connection")
	channel := f.String("channel", "", "publish to the subscribers of the channel `PATH` (channels: section; the payload must be JSON)")
	var data dataFlag
	f.Var(&data, "data", "the payload `JSON` (any text): the text itself, @file to read it from a file, or @- from stdin")
	endpoint := f.String("endpoint", "", "the Management API endpoint `URL` (placeholders {domainName}, {stage}, {apiId}); default $LAWCKET_MANAGEMENT_ENDPOINT, else https://{domainName}/{stage}")
	concurrency := f.Int("concurrency", broadcast.DefaultConcurrency, "how many posts are in flight at once (per segment)")
	rate := f.Float64("rate", broadcast.DefaultRate, "the target `rate` of Management API requests per second, shared by every worker and segment (0: no limit)")
	segments := f.Int("segments", 1, "with --all, read the table as `N` parallel Scan segments, posted to at once")
	exclude := f.String("exclude", "", "a connection `ID` not to post to (the sender)")
	apiID := f.String("api-id", "", "the API `ID` that fills {apiId} in the endpoint (rows do not store it)")
	queue := f.String("queue", "", "enqueue the broadcast's segment jobs on the SQS queue `URL` for lawcket-fanout workers instead of posting")
	name := f.String("name", "", "with --queue, the broadcast's `NAME` in its jobs, logs and metrics (default: broadcast-TIME)")
	plan := newChoice("local", "auto", "local", "queue")
	f.Var(plan, "plan", "where the broadcast runs: `auto` (here up to --local-max rows, counted; else on --queue), local (here) or queue (on --queue); default queue with --queue, else local")
	localMax := f.Int("local-max", fanout.DefaultLocalMax, "with --plan auto, the most `rows` run here (the count reads at most N+1 rows)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}

	var sel dynamo.Selector
	switch {
	case *channel != "" && (*where != "" || *all || *segments != 1):
		return f.usageError(stderr, "--channel excludes --where, --all and --segments")
	case *channel != "":
	case *where == "" && !*all:
		return f.usageError(stderr, "say which connections: --where FIELD=VALUE or --all")
	case *where != "" && *all:
		return f.usageError(stderr, "--where and --all exclude each other")
	case *where != "":
		field, value, ok := strings.Cut(*where, "=")
		field = strings.TrimSpace(field)
		if !ok || field == "" {
			return f.usageError(stderr, "--where %q: want FIELD=VALUE, e.g. --where room=lobby", *where)
		}
		if value == "" {
			return f.usageError(stderr, "--where %q: the value is empty (an index key cannot be empty)", *where)
		}
		sel = dynamo.Selector{Field: field, Value: value}
	}
	if !data.set {
		return f.usageError(stderr, "--data is required")
	}
	payload, err := data.read(stdin)
	if err != nil {
		return f.usageError(stderr, "--data: %v", err)
	}
	if len(payload) == 0 {
		return f.usageError(stderr, "--data: the payload is empty")
	}
	if *concurrency < 1 {
		return f.usageError(stderr, "--concurrency %d: must be at least 1", *concurrency)
	}
	if *rate < 0 || math.IsNaN(*rate) || math.IsInf(*rate, 0) {
		return f.usageError(stderr, "--rate %v: want requests per second, or 0 for no limit", *rate)
	}
	if *segments < 1 || *segments > fanout.MaxPlanSegments {
		return f.usageError(stderr, "--segments %d: want 1 to %d", *segments, fanout.MaxPlanSegments)
	}
	if *segments > 1 && sel.Field != "" {
		return f.usageError(stderr, "--segments needs --all: a Query on an index cannot be split into Scan segments")
	}
	if *queue != "" && *channel != "" {
		return f.usageError(stderr, "--queue takes --where or --all, not --channel")
	}
	if *queue == "" && *name != "" {
		return f.usageError(stderr, "--name needs --queue")
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	mode := fanout.Local
	if *queue != "" {
		mode = fanout.Queue
	}
	if set["plan"] {
		mode = fanout.Mode(plan.String())
	}
	switch {
	case *channel != "" && (set["plan"] || set["local-max"]):
		return f.usageError(stderr, "--plan and --local-max take --where or --all, not --channel")
	case mode != fanout.Local && *queue == "":
		return f.usageError(stderr, "--plan %s needs --queue URL (the queue the jobs go to)", mode)
	case set["local-max"] && mode != fanout.Auto:
		return f.usageError(stderr, "--local-max needs --plan auto (it is the most rows auto runs here)")
	case *localMax < 1:
		return f.usageError(stderr, "--local-max %d: want 1 or more rows (--plan queue sends every broadcast to the queue)", *localMax)
	}
	if mode == fanout.Queue {
		for _, n := range []string{"endpoint", "concurrency"} {
			if set[n] {
				return f.usageError(stderr, "--%s is the workers' setting with --queue (lawcket-fanout's environment), not the enqueuer's; --plan auto or local runs here and takes it", n)
			}
		}
	}
	if *queue != "" && !strings.HasPrefix(*queue, "https://") && !strings.HasPrefix(*queue, "http://") {
		return f.usageError(stderr, "--queue %q: want the queue URL, e.g. https://sqs.eu-west-1.amazonaws.com/123456789012/lawcket-fanout", *queue)
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
	if sel.Field != "" {
		if msg := checkIndexField(spec, sel.Field); msg != "" {
			return f.usageError(stderr, "--where %s: %s", sel.Field, msg)
		}
	}

	if *channel != "" {
		return publishChannel(ctx, spec, *channel, payload, mgmtOpts, []broadcast.Option{broadcast.WithConcurrency(*concurrency), broadcast.WithRate(*rate)}, stdout, stderr,
			broadcast.Exclude(*exclude), broadcast.WithAPIID(*apiID))
	}
	table, err := dynamo.NewTable(ctx, spec)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket broadcast: %v\n", err)
		return ExitFindings
	}
	planner := fanout.Planner{Mode: mode, LocalMax: *localMax, Table: table, QueueURL: *queue}
	if set["segments"] {
		planner.Segments = *segments
	}
	if mode != fanout.Queue {
		client, err := mgmt.New(mgmtOpts...)
		if err != nil {
			fmt.Fprintf(stderr, "lawcket broadcast: %v\n", err)
			return ExitFindings
		}
		// Each job's Rate (its share of --rate) overrides WithRate; with
		// --rate 0 the jobs have none and WithRate(0) leaves them unlimited.
		if planner.Worker, err = fanout.NewWorker(client, table, slog.Default(), broadcast.WithConcurrency(*concurrency), broadcast.WithRate(*rate)); err != nil {
			fmt.Fprintf(stderr, "lawcket broadcast: %v\n", err)
			return ExitUsage
		}
	}
	if *queue != "" {
		if planner.Queue, err = newSQS(ctx); err != nil {
			fmt.Fprintf(stderr, "lawcket broadcast: AWS configuration: %v\n", err)
			return ExitFindings
		}
	}
	if *name == "" {
		*name = "broadcast-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	}
	// A sharded field's Query is one job per shard: the planner reads the
	// shards from the table (dynamo.Table.Shards).
	out, err := planner.Broadcast(ctx, fanout.Job{Broadcast: *name, Table: spec.Table, Field: sel.Field, Value: sel.Value,
		Payload: payload, Rate: *rate, Exclude: *exclude, APIID: *apiID})
	d := out.Decision
	if *queue != "" && d.Mode != "" {
		fmt.Fprintf(stderr, "lawcket broadcast: plan: %s\n", d.Reason)
	}
	if d.Warning != "" {
		fmt.Fprintf(stderr, "lawcket broadcast: warning: %s\n", d.Warning)
	}
	switch {
	case out.Enqueue != nil:
		return enqueueReport(*name, *queue, d, *out.Enqueue, err, stdout, stderr)
	case out.Report != nil:
		return report(struct {
			broadcast.Report
			Plan fanout.Decision `json:"plan"`
		}{*out.Report, d}, *out.Report, err, stdout, stderr)
	}
	fmt.Fprintf(stderr, "lawcket broadcast: %v\n", err)
	return ExitFindings
}

// report prints a broadcast's report (v: rep, or rep with more members)
// and returns the exit code.
func report(v any, rep broadcast.Report, sendErr error, stdout, stderr io.Writer) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "lawcket broadcast: write report: %v\n", err)
		return ExitFindings
	}
	if sendErr != nil {
		if errors.Is(sendErr, context.Canceled) || errors.Is(sendErr, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "lawcket broadcast: stopped early (%v); the report covers what was done\n", sendErr)
		} else {
			fmt.Fprintf(stderr, "lawcket broadcast: %v\n", sendErr)
		}
		return ExitFindings
	}
	if rep.Failed > 0 {
		return ExitFindings
	}
	return ExitOK
}

// newSQS returns the SQS client of the default AWS configuration.
func newSQS(ctx context.Context) (*sqs.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}

// enqueueReport prints the enqueue report and returns the exit code.
func enqueueReport(name, queue string, d fanout.Decision, rep fanout.EnqueueReport, enqErr error, stdout, stderr io.Writer) int {
	out := struct {
		Broadcast string          `json:"broadcast"`
		Queue     string          `json:"queue"`
		Plan      fanout.Decision `json:"plan"`
		fanout.EnqueueReport
	}{name, queue, d, rep}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "lawcket broadcast: write report: %v\n", err)
		return ExitFindings
	}
	if enqErr != nil {
		fmt.Fprintf(stderr, "lawcket broadcast: %v\n", enqErr)
		return ExitFindings
	}
	return ExitOK
}

// checkIndexField says why field cannot select connections ("" when it can).
func checkIndexField(spec *syncspec.Spec, field string) string {
	var names []string
	for _, fld := range spec.IndexFields() {
		if fld.Name == field {
			return ""
		}
		names = append(names, fld.Name)
	}
	if len(names) == 0 {
		return fmt.Sprintf("%s has no field with index: true; use --all, or add index: true to a field (and its GSI to the table)", spec.File)
	}
	slices.Sort(names)
	return fmt.Sprintf("not an index: true field of %s (index fields: %s)", spec.File, strings.Join(names, ", "))
}

// dataFlag is --data: the payload itself, or @file, or @- for stdin.
type dataFlag struct {
	value string
	set   bool
}

var _ flag.Value = (*dataFlag)(nil)

func (d *dataFlag) String() string { return d.value }

func (d *dataFlag) Set(s string) error {
	d.value, d.set = s, true
	return nil
}

// read returns the payload, reading the file or stdin it names.
func (d *dataFlag) read(stdin io.Reader) ([]byte, error) {
	name, isFile := strings.CutPrefix(d.value, "@")
	switch {
	case !isFile:
		return []byte(d.value), nil
	case name == "-":
		return io.ReadAll(stdin)
	case name == "":
		return nil, errors.New("@ needs a file name (@file, or @- for stdin)")
	}
	return os.ReadFile(name)
}
