package fanout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/lawcket/lawcket/broadcast"
	"github.com/lawcket/lawcket/dynamo"
)

// Mode says where a broadcast runs.
type Mode string

// The modes of a Planner.
const (
	// Auto runs locally when the selection has at most LocalMax rows
	// (counted, see Planner.Decide), else on the queue.
	Auto Mode = "auto"
	// Local runs every job in this process, through the Planner's Worker.
	Local Mode = "local"
	// Queue puts the jobs on the Planner's SQS queue (Enqueue) for
	// worker Lambdas.
	Queue Mode = "queue"
)

// ParseMode reads "auto", "local" or "queue".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, Local, Queue:
		return m, nil
	}
	return "", fmt.Errorf("fanout: mode %q: want auto, local or queue", s)
}

// Defaults of a Planner, and the arithmetic behind them (docs/scale.md).
const (
	// DefaultLocalMax is the most rows Auto runs in this process: 10,000
	// rows at the 1,600 posts/s one process posts (DefaultWorkerRate) take
	// 10,000 / 1,600 ≈ 6 s, well inside the 29 s API Gateway gives a
	// WebSocket integration (a handler that broadcasts must answer by
	// then), and the count that decides it reads at most 10,001 rows
	// (dynamo.Table.Count: ~3 MB of 300-byte rows, ~370 read request units).
	// 1,600/s needs about half a vCPU (~325 µs of CPU a post): a Lambda
	// function of 1,024 MB or more; at 128 MB (~220 posts/s) use ~4,000.
	DefaultLocalMax = 10000
	// DefaultWorkerRate is what one worker posts per second: 32 posts in
	// flight (broadcast.DefaultConcurrency) over a 20 ms round trip give
	// 32 / 0.020 s = 1,600 posts/s, whatever the CPU. Queue mode plans at
	// least rate / DefaultWorkerRate segments, so that no job is given
	// more than one worker can post.
	DefaultWorkerRate = 1600
	// DefaultJobTime is the longest a job should post: 10 minutes, under
	// Lambda's 15 with margin. A broadcast whose jobs would take longer
	// gets a Warning.
	DefaultJobTime = 10 * time.Minute
	// MaxPlanSegments bounds the segments a Planner plans or is given.
	MaxPlanSegments = 1000
)

// Counter is what a Planner reads of the connections table;
// *dynamo.Table implements it.
type Counter interface {
	Name() string
	// Count counts the selected rows, at most limit+1 (exact: all of them).
	Count(ctx context.Context, sel dynamo.Selector, limit int) (n int, exact bool, err error)
	// ItemCount is the table's approximate item count.
	ItemCount(ctx context.Context) (int64, error)
}

var _ Counter = (*dynamo.Table)(nil)

// sharder is a Counter that knows its index fields' shards (*dynamo.Table
// does): Decide then plans a broadcast to a sharded field's value as one
// job per shard when the Job does not say.
type sharder interface {
	Shards(field string) int
}

var _ sharder = (*dynamo.Table)(nil)

// Planner decides where a broadcast runs (Decide) and runs it there
// (Broadcast): in this process through Worker, or as segment jobs on an
// SQS queue for worker Lambdas. The zero values of its settings are the
// defaults. A Planner is safe for concurrent use if its Worker and Queue
// are.
type Planner struct {
	// Mode is Auto (the zero value: ""), Local or Queue.
	Mode Mode
	// LocalMax is the most rows Auto runs locally (0: DefaultLocalMax).
	LocalMax int
	// Segments fixes the number of Scan segments of a broadcast to every
	// row (0: one locally, and on the queue as many as the rate needs,
	// see Decide). A Query is never split (Plan).
	Segments int
	// WorkerRate is what one worker posts per second (0:
	// DefaultWorkerRate); JobTime the longest a job should take (0:
	// DefaultJobTime).
	WorkerRate float64
	JobTime    time.Duration

	// Table is read to count the selection (Auto) and to size a Scan on
	// the queue (Auto, or Queue without a rate); it is the table of the
	// jobs.
	Table Counter
	// Worker runs the jobs of a Local decision.
	Worker *Worker
	// Queue and QueueURL take the jobs of a Queue decision (Auto and Queue
	// need them).
	Queue    SQSSender
	QueueURL string
}

// Decision is where a broadcast runs, with its jobs and why.
type Decision struct {
	// Asked is the Planner's mode (auto, local or queue); Mode is the
	// decision (local or queue).
	Asked Mode `json:"asked"`
	Mode  Mode `json:"mode"`
	// Rows is the size estimate; Estimate says what it is: "exact" (every
	// row counted), "more than" (the count stopped at LocalMax+1: Rows is
	// a floor), "item count" (DescribeTable's ItemCount, refreshed by
	// DynamoDB about every six hours, or the count when larger), or
	// "none" (not estimated: Rows 0).
	Rows     int64  `json:"rows"`
	Estimate string `json:"estimate"`
	// Segments is the number of jobs; Seconds the estimated posting time
	// (Rows at the rate; 0 when not estimated).
	Segments int     `json:"segments"`
	Seconds  float64 `json:"seconds"`
	// Reason says why, in words; Warning what may go wrong (a job longer
	// than JobTime), if anything.
	Reason  string `json:"reason"`
	Warning string `json:"warning,omitempty"`
	// Jobs are the planned jobs (Plan's), not encoded in the JSON.
	Jobs []Job `json:"-"`
}

// Outcome is what Planner.Broadcast did: the Decision, and the Report of
// a local run or the EnqueueReport of a queued one.
type Outcome struct {
	Decision Decision          `json:"plan"`
	Report   *broadcast.Report `json:"report,omitempty"`
	Enqueue  *EnqueueReport    `json:"enqueue,omitempty"`
}

// settings returns p's settings with the defaults filled in, or what is
// wrong with them.
func (p Planner) settings() (Planner, error) {
	var errs []error
	if p.Mode == "" {
		p.Mode = Auto
	}
	if _, err := ParseMode(string(p.Mode)); err != nil {
		errs = append(errs, err)
	}
	if p.LocalMax < 0 {
		errs = append(errs, fmt.Errorf("local max %d: want 0 (the default, %d) or more rows", p.LocalMax, DefaultLocalMax))
	} else if p.LocalMax == 0 {
		p.LocalMax = DefaultLocalMax
	}
	if p.Segments < 0 || p.Segments > MaxPlanSegments {
		errs = append(errs, fmt.Errorf("%d segments: want 0 (planned) to %d", p.Segments, MaxPlanSegments))
	}
	if p.WorkerRate < 0 || math.IsNaN(p.WorkerRate) || math.IsInf(p.WorkerRate, 0) {
		errs = append(errs, fmt.Errorf("worker rate %v: want posts per second", p.WorkerRate))
	} else if p.WorkerRate == 0 {
		p.WorkerRate = DefaultWorkerRate
	}
	if p.JobTime < 0 {
		errs = append(errs, fmt.Errorf("job time %v", p.JobTime))
	} else if p.JobTime == 0 {
		p.JobTime = DefaultJobTime
	}
	if p.Table == nil {
		errs = append(errs, errors.New("no table"))
	}
	if p.Mode != Local && (p.Queue == nil || p.QueueURL == "") {
		errs = append(errs, fmt.Errorf("mode %s needs a queue (Queue and QueueURL); without one, run it locally (Local)", p.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return p, fmt.Errorf("fanout: planner: %w", err)
	}
	return p, nil
}

// Decide plans base (a broadcast's job: table, selection, payload, rate)
// and decides where it runs, reading the table as little as it can:
//
//   - Local: no read; base planned as Segments Scan segments (or one job),
//     a Query as Plan makes it.
//   - Auto: the rows of the selection are counted with Counter.Count, at
//     most LocalMax+1 of them (for a Query, over the jobs Plan makes of
//     it): LocalMax or fewer run locally, more go to the queue. A count
//     that fails is an error (nothing is decided: force a mode to skip it).
//   - Queue: a Query is the jobs Plan makes of it (DynamoDB cannot split
//     a Query into Scan segments). A Scan of every row gets Segments
//     segments, or, when Segments is 0, enough that each job's share of
//     the rate is within what one worker posts: ⌈rate / WorkerRate⌉; with
//     no rate (0: unlimited), enough that each job posts its rows within
//     JobTime at WorkerRate: ⌈rows / (WorkerRate × JobTime)⌉ — at least
//     1, at most MaxPlanSegments. Rows is then DescribeTable's ItemCount
//     (or the count, when larger), read in Auto or without a rate: Queue
//     with a rate reads nothing of the table. More segments than that would not
//     shorten a job (each segment gets rate/segments, so each takes
//     rows/rate), only add worker Lambdas waiting on their share.
//
// The Decision says why, and warns when the jobs would post longer than
// JobTime (raise the rate, or the broadcast will stop at the deadline).
func (p Planner) Decide(ctx context.Context, base Job) (Decision, error) {
	p, err := p.settings()
	if err != nil {
		return Decision{}, err
	}
	if base.Table == "" {
		base.Table = p.Table.Name()
	}
	if base.Table != p.Table.Name() {
		return Decision{}, fmt.Errorf("fanout: planner: the broadcast is for table %s, the planner reads %s", base.Table, p.Table.Name())
	}
	if base.Field != "" && p.Segments > 1 {
		return Decision{}, fmt.Errorf("fanout: planner: a Query on %s cannot be split into %d Scan segments", base.Field, p.Segments)
	}
	if sh, ok := p.Table.(sharder); ok && base.Field != "" && base.Shards == 0 {
		base.Shards = sh.Shards(base.Field) // a sharded room: one job per shard
	}
	d := Decision{Asked: p.Mode, Mode: p.Mode, Estimate: "none"}
	var why []string
	if p.Mode == Auto {
		whole, err := Plan(base, 1)
		if err != nil {
			return Decision{}, err
		}
		n, exact, err := count(ctx, p.Table, whole, p.LocalMax)
		if err != nil {
			return Decision{}, fmt.Errorf("fanout: planner: counting %s to choose local or queue (force a mode to skip the count): %w", selection(base), err)
		}
		d.Rows = int64(n)
		if exact {
			d.Mode, d.Estimate = Local, "exact"
			why = append(why, fmt.Sprintf("local: %d rows in %s, at most the local max %d", n, selection(base), p.LocalMax))
		} else {
			d.Mode, d.Estimate = Queue, "more than"
			why = append(why, fmt.Sprintf("queue: more than the local max %d rows in %s (the count stopped at %d)", p.LocalMax, selection(base), n))
		}
	} else {
		why = append(why, fmt.Sprintf("%s, as asked", p.Mode))
	}

	segments := 1
	switch {
	case base.Field != "":
	case p.Segments > 0:
		segments = p.Segments
		why = append(why, fmt.Sprintf("%d Scan segments, as asked", segments))
	case d.Mode == Queue:
		// The rows size the segments only without a rate; with one they
		// only refine Auto's estimate. A forced Queue with a rate reads
		// nothing of the table.
		if base.Rate == 0 || p.Mode == Auto {
			if items, err := p.Table.ItemCount(ctx); err != nil {
				why = append(why, fmt.Sprintf("no item count (%v)", err))
			} else if items >= d.Rows {
				d.Rows, d.Estimate = items, "item count"
			}
		}
		if base.Rate > 0 {
			segments = int(math.Ceil(base.Rate / p.WorkerRate))
			why = append(why, fmt.Sprintf("⌈rate %g/s ÷ %g/s per worker⌉ = %d Scan segments", base.Rate, p.WorkerRate, segments))
		} else {
			segments = int(math.Ceil(float64(d.Rows) / (p.WorkerRate * p.JobTime.Seconds())))
			why = append(why, fmt.Sprintf("no rate: ⌈%d rows ÷ (%g/s per worker × %g s)⌉ = %d Scan segments", d.Rows, p.WorkerRate, p.JobTime.Seconds(), segments))
		}
		segments = min(max(segments, 1), MaxPlanSegments)
	}
	d.Jobs, err = Plan(base, segments)
	if err != nil {
		return Decision{}, err
	}
	d.Segments = len(d.Jobs)
	switch {
	case base.Field != "" && d.Segments == 1:
		why = append(why, fmt.Sprintf("one Query job for %s=%s (DynamoDB cannot split a Query into Scan segments)", base.Field, base.Value))
	case base.Field != "":
		why = append(why, fmt.Sprintf("%d Query jobs for %s=%s, one per shard", d.Segments, base.Field, base.Value))
	}
	if d.Estimate != "none" {
		rate := p.WorkerRate * float64(d.Segments)
		if base.Rate > 0 {
			rate = min(base.Rate, rate)
		}
		d.Seconds = math.Round(float64(d.Rows)/rate*10) / 10
		if d.Mode == Queue && d.Seconds > p.JobTime.Seconds() {
			fix := "raise the rate (the segments follow it)"
			if base.Field != "" {
				fix = fmt.Sprintf("shard %s (shards: S in the spec, S jobs) and raise the rate", base.Field)
			}
			d.Warning = fmt.Sprintf("%d rows at %g posts/s take about %g s, over the %g s a job should take: %s", d.Rows, rate, d.Seconds, p.JobTime.Seconds(), fix)
		}
	}
	d.Reason = strings.Join(why, "; ")
	return d, nil
}

// count counts the rows of jobs, at most limit+1 in all.
func count(ctx context.Context, t Counter, jobs []Job, limit int) (n int, exact bool, err error) {
	for _, j := range jobs {
		c, ok, err := t.Count(ctx, j.Selector(), limit-n)
		n += c
		if err != nil || !ok {
			return n, false, err
		}
	}
	return n, true, nil
}

// selection names a job's rows in reasons: "room=lobby" or "table T".
func selection(j Job) string {
	if j.Field != "" {
		return j.Field + "=" + j.Value
	}
	return "table " + j.Table
}

// Broadcast decides where base runs (Decide) and runs it there: locally,
// every job at once through the Worker, their reports added up in
// Outcome.Report (and one EMF line per job when the Worker has metrics,
// as on a worker Lambda); on the queue, Enqueue, whose report is Outcome.Enqueue.
// The error is the decision's, or the run's (as Worker.Run and Enqueue
// report it: the Outcome then says what was done).
func (p Planner) Broadcast(ctx context.Context, base Job) (Outcome, error) {
	d, err := p.Decide(ctx, base)
	if err != nil {
		return Outcome{Decision: d}, err
	}
	out := Outcome{Decision: d}
	if d.Mode == Queue {
		rep, err := Enqueue(ctx, p.Queue, p.QueueURL, d.Jobs)
		out.Enqueue = &rep
		return out, err
	}
	if p.Worker == nil {
		return out, errors.New("fanout: planner: a local broadcast needs a Worker")
	}
	reps := make([]broadcast.Report, len(d.Jobs))
	errs := make([]error, len(d.Jobs))
	var wg sync.WaitGroup
	for i, j := range d.Jobs {
		wg.Go(func() {
			reps[i], errs[i] = p.Worker.runMetered(ctx, p.Worker.log, j)
		})
	}
	wg.Wait()
	rep := reps[0]
	for _, r := range reps[1:] {
		rep.Add(r)
	}
	out.Report = &rep
	return out, errors.Join(errs...)
}
