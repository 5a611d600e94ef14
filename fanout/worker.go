package fanout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/metrics"
	"github.com/lawcket/lawcket/mgmt"
)

// DeadlineMargin is the time a worker keeps before the invocation's
// deadline to answer Lambda: a job's posts stop that much earlier.
const DeadlineMargin = 500 * time.Millisecond

// Worker runs jobs of one table. It is safe for concurrent use.
type Worker struct {
	client  *mgmt.Client
	table   *dynamo.Table
	opts    []broadcast.Option
	log     *slog.Logger
	metrics *metrics.Emitter
}

// WithMetrics makes the worker emit one CloudWatch EMF line per job run
// (metrics.Broadcast, dimensions Table and Selector) to e; nil turns it off.
func (w *Worker) WithMetrics(e *metrics.Emitter) *Worker {
	w.metrics = e
	return w
}

// NewWorker returns a Worker posting through client and reading and
// cleaning table. opts configure the broadcast.Sender of each job (its
// concurrency, retry policy, logger); a job's Rate and AtLeastOnce override
// them.
func NewWorker(client *mgmt.Client, table *dynamo.Table, log *slog.Logger, opts ...broadcast.Option) (*Worker, error) {
	if client == nil || table == nil {
		return nil, errors.New("fanout: NewWorker needs a Management API client and a table")
	}
	if log == nil {
		log = slog.Default()
	}
	if _, err := broadcast.New(client, table, opts...); err != nil {
		return nil, err
	}
	return &Worker{client: client, table: table, opts: opts, log: log}, nil
}

// Run runs one job and returns its Report. The error is non-nil when the
// job could not go through all its rows (see broadcast.Sender.Send), or is
// not for this worker's table.
func (w *Worker) Run(ctx context.Context, job Job) (broadcast.Report, error) {
	if err := job.Check(); err != nil {
		return broadcast.Report{Failures: []broadcast.Failure{}}, err
	}
	if job.Table != w.table.Name() {
		return broadcast.Report{Failures: []broadcast.Failure{}}, fmt.Errorf("fanout: job %s is for table %s, this worker serves %s", job.Broadcast, job.Table, w.table.Name())
	}
	opts := append([]broadcast.Option(nil), w.opts...)
	if job.Rate > 0 {
		opts = append(opts, broadcast.WithRate(job.Rate))
	}
	if job.AtLeastOnce {
		r := broadcast.DefaultRetry
		r.Delivery = mgmt.AtLeastOnce
		opts = append(opts, broadcast.WithRetry(r))
	}
	sender, err := broadcast.New(w.client, w.table, opts...)
	if err != nil {
		return broadcast.Report{Failures: []broadcast.Failure{}}, err
	}
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-DeadlineMargin))
		defer cancel()
	}
	return sender.Send(ctx, w.table.Targets(ctx, job.Selector()), job.Payload,
		broadcast.Exclude(job.Exclude), broadcast.WithAPIID(job.APIID))
}

// runMetered runs job (Run) and emits its EMF line when the worker has
// metrics (WithMetrics), logging to log a line that cannot be written.
func (w *Worker) runMetered(ctx context.Context, log *slog.Logger, job Job) (broadcast.Report, error) {
	rep, err := w.Run(ctx, job)
	if merr := metrics.Broadcast(w.metrics, job.Table, selectorName(job), partName(job), rep); merr != nil {
		log.WarnContext(ctx, "fanout: metrics", "error", merr)
	}
	return rep, err
}

// HandleSQS is the handler of a worker Lambda fed by an SQS queue of jobs
// (lambda.Start(w.HandleSQS), with ReportBatchItemFailures on the event
// source mapping). Records run one after the other. A record is reported
// in BatchItemFailures, so that SQS delivers it again (and in the end to
// the queue's dead-letter queue), when it can be run again without
// delivering twice: it is not a valid job for this worker, or its job
// stopped before posting anything, or it stopped half-way and asked for
// AtLeastOnce. A job that stopped half-way under the default at-most-once
// contract is not run again: its report (logged, at Error) says how far it
// got. Per-connection failures never fail a record: they are in the log.
func (w *Worker) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, rec := range ev.Records {
		retry := w.handle(ctx, rec)
		if retry {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// handle runs one record and says whether SQS should deliver it again.
func (w *Worker) handle(ctx context.Context, rec events.SQSMessage) (retry bool) {
	log := w.log.With("messageId", rec.MessageId)
	job, err := Decode([]byte(rec.Body))
	if err != nil {
		log.ErrorContext(ctx, "fanout: invalid job: left to the dead-letter queue", "error", err)
		return true
	}
	log = log.With("broadcast", job.Broadcast, "segment", job.Segment, "segments", job.Segments)
	if job.Shards > 0 {
		log = log.With("shard", job.Shard, "shards", job.Shards)
	}
	if ctx.Err() != nil {
		log.WarnContext(ctx, "fanout: no time left for the job: delivered again", "error", ctx.Err())
		return true
	}
	rep, err := w.runMetered(ctx, log, job)
	attrs := []any{"sent", rep.Sent, "gone", rep.Gone, "deleted", rep.Deleted, "failed", rep.Failed,
		"ambiguous", rep.Ambiguous, "attempts", rep.Attempts, "retries", rep.Retries, "throttled", rep.Throttled,
		"achievedRate", rep.AchievedRate, "seconds", rep.Seconds}
	switch {
	case err == nil:
		if rep.Failed > 0 {
			attrs = append(attrs, "failures", rep.Failures)
		}
		log.InfoContext(ctx, "fanout: job done", attrs...)
		return false
	case rep.Attempts == 0:
		log.WarnContext(ctx, "fanout: job failed before any post: delivered again", append(attrs, "error", err)...)
		return true
	case job.AtLeastOnce:
		log.WarnContext(ctx, "fanout: job stopped half-way: delivered again (at least once)", append(attrs, "error", err)...)
		return true
	default:
		log.ErrorContext(ctx, "fanout: job stopped half-way; not run again (at most once): the connections not reached did not get the payload",
			append(attrs, "error", err, "failures", rep.Failures)...)
		return false
	}
}

// selectorName is the Selector dimension of a job's metrics, which must
// take few values: the index field ("room") or "all" (metrics.Broadcast).
func selectorName(j Job) string {
	if j.Field != "" {
		return j.Field
	}
	return "all"
}

// partName is what exactly a job read, a property of its metrics line:
// "FIELD=VALUE", "FIELD=VALUE shard SHARD/SHARDS", "all", or "all
// SEGMENT/SEGMENTS".
func partName(j Job) string {
	switch {
	case j.Field != "" && j.Shards > 0:
		return fmt.Sprintf("%s=%s shard %d/%d", j.Field, j.Value, j.Shard, j.Shards)
	case j.Field != "":
		return j.Field + "=" + j.Value
	case j.Segments > 1:
		return fmt.Sprintf("all %d/%d", j.Segment, j.Segments)
	}
	return "all"
}
