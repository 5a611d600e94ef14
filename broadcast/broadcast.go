package broadcast

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/lawcket/lawcket/mgmt"
)

// Poster posts data to one connection under a retry policy and says how
// many HTTP attempts it made. *mgmt.Client satisfies it; Send relies on its
// error classification (errors.Is with mgmt.ErrGone, mgmt.ErrLimitExceeded,
// mgmt.ErrAmbiguous, ...). Post is called concurrently.
type Poster interface {
	Post(ctx context.Context, t mgmt.Target, data []byte, opts ...mgmt.CallOption) (mgmt.Result, error)
}

// Remover removes the stored row of a connection that answered 410 Gone.
// *dynamo.Table satisfies it. Delete removes exactly the row of
// connectionID (a missing row is not an error); it is called concurrently.
type Remover interface {
	Delete(ctx context.Context, connectionID string) error
}

var _ Poster = (*mgmt.Client)(nil)

// Defaults of the options.
const (
	DefaultConcurrency = 32
	DefaultMaxFailures = 1000 // failures kept with their ids in a Report
)

// DefaultRetry is the retry policy of a broadcast's posts: up to 8 attempts
// of a throttled (429) or unconnectable post, with full-jitter backoff from
// 50ms to 2s, within 10s per connection, never resending a post that may
// have been delivered (mgmt.AtMostOnce).
var DefaultRetry = mgmt.Retry{MaxAttempts: 8, BaseDelay: 50 * time.Millisecond, MaxDelay: 2 * time.Second, Budget: 10 * time.Second}

// Option configures a Sender (New). An invalid value makes New return an
// error; options never panic.
type Option func(*config)

// SendOption configures one Send call. An invalid value makes Send return
// an error before any post.
type SendOption func(*sendConfig)

type config struct {
	concurrency int
	rate        float64
	retry       mgmt.Retry
	maxFailures int
	logger      *slog.Logger
	errs        []error
}

type sendConfig struct {
	exclude string
	apiID   string
	errs    []error
}

func (c *config) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("broadcast: "+format, args...))
}

// WithConcurrency sets how many posts are in flight at once (default 32, at
// least 1). 1 posts sequentially.
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.errorf("concurrency %d: must be at least 1", n)
			return
		}
		c.concurrency = n
	}
}

// WithRate sets the target rate of each Send, in HTTP requests to the
// Management API per second, resends included (default DefaultRate; 0
// removes the limit). The workers share one token bucket (burst: the
// concurrency); a 429 answer lowers the rate (to 70%, down to 5% of the
// target at the lowest) and each second without one raises it by a tenth
// of the target, back up to it. The Report gives the achieved and the
// lowest rate. To share a rate among segments run at once, give each
// segment's Sender its share.
func WithRate(perSecond float64) Option {
	return func(c *config) {
		if perSecond < 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) {
			c.errorf("rate %v: want a number of requests per second (0: no limit)", perSecond)
			return
		}
		c.rate = perSecond
	}
}

// WithRetry sets the retry policy of every post (default DefaultRetry). It
// is carried out by the Poster (the SDK's retryer, for a *mgmt.Client):
// Send makes each post once and counts the attempts the Poster reports.
// Delivery mgmt.AtLeastOnce also resends posts that may have been delivered
// (a connection may then get the payload twice).
func WithRetry(r mgmt.Retry) Option {
	return func(c *config) {
		if err := r.Check(); err != nil {
			c.errorf("%v", err)
			return
		}
		c.retry = r
	}
}

// WithMaxFailures sets how many failures a Report keeps with their ids and
// reasons (default 1000; 0 keeps none). Failures past it are still counted in
// Report.Failed and Report.FailuresOmitted.
func WithMaxFailures(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.errorf("max failures %d: must not be negative", n)
			return
		}
		c.maxFailures = n
	}
}

// WithLogger sets the logger (default slog.Default()). Send logs failed
// deletes at Warn and gone connections at Debug, with the connection id.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.errorf("nil logger")
			return
		}
		c.logger = l
	}
}

// Exclude skips one connection in this Send, typically the sender of the
// message being broadcast. An empty id excludes nothing.
func Exclude(connectionID string) SendOption {
	return func(c *sendConfig) { c.exclude = connectionID }
}

// WithAPIID sets the API id of every target of this Send that has none
// (mgmt.Target.APIID), for a Management API endpoint with the {apiId}
// placeholder: rows store domainName and stage, not the API id. In a
// handler, pass ev.Connection.APIID.
func WithAPIID(apiID string) SendOption {
	return func(c *sendConfig) { c.apiID = apiID }
}

// Sender broadcasts payloads to targets through a Poster, removing gone
// connections with a Remover. Build it once with New; it is safe for
// concurrent use.
type Sender struct {
	poster  Poster
	remover Remover
	cfg     config
}

// New returns a Sender posting through poster (a *mgmt.Client, which the
// App may share) and removing gone connections with remover (a
// *dynamo.Table).
func New(poster Poster, remover Remover, opts ...Option) (*Sender, error) {
	if poster == nil {
		return nil, errors.New("broadcast: nil poster")
	}
	if remover == nil {
		return nil, errors.New("broadcast: nil remover")
	}
	cfg := config{
		concurrency: DefaultConcurrency,
		rate:        DefaultRate,
		retry:       DefaultRetry,
		maxFailures: DefaultMaxFailures,
		logger:      slog.Default(),
	}
	for _, opt := range opts {
		if opt == nil {
			cfg.errorf("nil option")
			continue
		}
		opt(&cfg)
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	return &Sender{poster: poster, remover: remover, cfg: cfg}, nil
}

// Report says what one Send did. Every target Send reached is counted once
// in Sent, Gone or a "post" failure; Failed also counts rows whose delete
// failed after a 410 (those are in Gone too, not in Deleted).
type Report struct {
	// Sent is the number of connections that accepted the payload (2xx).
	Sent int `json:"sent"`
	// Gone is the number of connections that answered 410 Gone.
	Gone int `json:"gone"`
	// Deleted is the number of gone connections whose row was deleted.
	Deleted int `json:"deleted"`
	// Failed is the number of failures: posts that failed for any reason
	// other than 410 (after their retries), and deletes that failed.
	Failed int `json:"failed"`
	// Ambiguous is the number of failed posts that may have been delivered
	// (ReasonAmbiguous; counted in Failed too): under the default
	// at-most-once policy they were not resent.
	Ambiguous int `json:"ambiguous"`
	// Attempts is the number of HTTP attempts of every post.
	Attempts int `json:"attempts"`
	// Retries is the number of resends: Attempts less the posts made.
	Retries int `json:"retries"`
	// Throttled is the number of attempts answered 429 LimitExceeded.
	Throttled int `json:"throttled"`
	// Rate is the target rate (requests/s; 0: no limit), MinRate the
	// lowest the 429s brought it down to, and AchievedRate the rate of HTTP
	// attempts over the Send's Seconds.
	Rate         float64 `json:"rate"`
	MinRate      float64 `json:"minRate"`
	AchievedRate float64 `json:"achievedRate"`
	Seconds      float64 `json:"seconds"`
	// Failures lists the failures, up to WithMaxFailures of them.
	Failures []Failure `json:"failures"`
	// FailuresOmitted is the number of failures counted in Failed but not
	// listed in Failures.
	FailuresOmitted int `json:"failuresOmitted,omitempty"`
}

// Op says which call of a Failure failed.
type Op string

const (
	// OpPost is a failed post (see Reason for whether the connection may
	// have the payload).
	OpPost Op = "post"
	// OpDelete is a failed delete of a gone connection's row (the row stays
	// until its TTL or a later broadcast).
	OpDelete Op = "delete"
)

// Reason says why a post failed.
type Reason string

const (
	// ReasonThrottled: still throttled (429) after the retries; not delivered.
	ReasonThrottled Reason = "throttled"
	// ReasonAmbiguous: the request may have reached API Gateway (5xx, reset
	// after the request was written, timeout): the connection may have the
	// payload, once.
	ReasonAmbiguous Reason = "ambiguous"
	// ReasonTooLarge: 413, not delivered.
	ReasonTooLarge Reason = "payload-too-large"
	// ReasonForbidden: 403, not delivered.
	ReasonForbidden Reason = "forbidden"
	// ReasonCanceled: the context ended before the post was made or while
	// waiting to retry it; not delivered.
	ReasonCanceled Reason = "canceled"
	// ReasonError: any other failure (a definite 4xx answer, a bad
	// endpoint, a failed delete).
	ReasonError Reason = "error"
)

// Failure is one connection that failed.
type Failure struct {
	ConnectionID string `json:"connectionId"`
	Op           Op     `json:"op"`
	Reason       Reason `json:"reason"`
	// Error is Err's message (for JSON).
	Error string `json:"error"`
	// Attempts is the number of HTTP attempts of the post.
	Attempts int `json:"attempts"`
	// Err is the error itself, for errors.Is (mgmt.ErrPayloadTooLarge,
	// mgmt.ErrAmbiguous, context.Canceled, …).
	Err error `json:"-"`
}

// reasonOf classifies a failed post.
func reasonOf(err error) Reason {
	switch {
	case errors.Is(err, mgmt.ErrAmbiguous):
		return ReasonAmbiguous
	case errors.Is(err, mgmt.ErrLimitExceeded):
		return ReasonThrottled
	case errors.Is(err, mgmt.ErrPayloadTooLarge):
		return ReasonTooLarge
	case errors.Is(err, mgmt.ErrForbidden):
		return ReasonForbidden
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return ReasonCanceled
	}
	return ReasonError
}

// Send posts payload to every target (for a *dynamo.Table,
// table.Targets(ctx, sel)), except the one excluded with Exclude, and
// returns the Report.
//
// The error is non-nil when Send could not go through every target: invalid
// opts (nothing is posted), the targets' iterator yielding an error (the
// Report covers the targets read before), or ctx ending (the partial Report,
// and ctx.Err()). Per-connection failures are not errors: they are in the
// Report.
func (s *Sender) Send(ctx context.Context, targets iter.Seq2[mgmt.Target, error], payload []byte, opts ...SendOption) (Report, error) {
	var sc sendConfig
	for _, opt := range opts {
		if opt == nil {
			sc.errs = append(sc.errs, errors.New("broadcast: nil SendOption"))
			continue
		}
		opt(&sc)
	}
	if targets == nil {
		sc.errs = append(sc.errs, errors.New("broadcast: nil targets"))
	}
	if err := errors.Join(sc.errs...); err != nil {
		return Report{Failures: []Failure{}}, err
	}
	start := time.Now()
	run := &run{Sender: s, send: sc, payload: payload, opts: []mgmt.CallOption{s.cfg.retry}}
	if s.cfg.rate > 0 {
		run.pacer = newPacer(s.cfg.rate, s.cfg.concurrency, start)
		run.opts = append(run.opts, mgmt.Limit(run.pacer.lim))
	}

	// The buffer lets the iterator fetch its next page while the workers
	// post the last targets of the current one.
	ch := make(chan mgmt.Target, s.cfg.concurrency)
	results := make([]Report, s.cfg.concurrency)
	var wg sync.WaitGroup
	for i := range s.cfg.concurrency {
		wg.Go(func() { run.work(ctx, ch, &results[i]) })
	}

	var listErr error
produce:
	for t, err := range targets {
		if err != nil {
			listErr = err
			break
		}
		if sc.exclude != "" && t.ConnectionID == sc.exclude {
			continue
		}
		if t.APIID == "" {
			t.APIID = sc.apiID
		}
		select {
		case ch <- t:
		case <-ctx.Done():
			break produce
		}
	}
	close(ch)
	wg.Wait()

	rep := merge(results, s.cfg.maxFailures)
	rep.Seconds = time.Since(start).Seconds()
	if rep.Seconds > 0 {
		rep.AchievedRate = float64(rep.Attempts) / rep.Seconds
	}
	if run.pacer != nil {
		rep.Rate = s.cfg.rate
		_, rep.MinRate = run.pacer.rates()
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if listErr != nil {
		return rep, fmt.Errorf("broadcast: read connections: %w", listErr)
	}
	return rep, nil
}

// run is one Send call.
type run struct {
	*Sender
	send    sendConfig
	payload []byte
	opts    []mgmt.CallOption
	pacer   *pacer // nil without a rate
}

// work posts to the targets it receives until ch is closed, counting into
// rep (owned by this worker until Send merges).
func (r *run) work(ctx context.Context, ch <-chan mgmt.Target, rep *Report) {
	for t := range ch {
		if ctx.Err() != nil {
			continue // drain: the producer stops at once
		}
		r.one(ctx, t, rep)
	}
}

func (r *run) one(ctx context.Context, t mgmt.Target, rep *Report) {
	res, err := r.poster.Post(ctx, t, r.payload, r.opts...)
	if r.pacer != nil {
		r.pacer.observe(res.Throttled, time.Now())
	}
	rep.Attempts += res.Attempts
	rep.Throttled += res.Throttled
	rep.Retries += max(res.Attempts-1, 0)
	switch {
	case err == nil:
		rep.Sent++
	case errors.Is(err, mgmt.ErrGone):
		rep.Gone++
		r.cfg.logger.DebugContext(ctx, "broadcast: connection gone, deleting its row", "connectionId", t.ConnectionID)
		if derr := r.remover.Delete(ctx, t.ConnectionID); derr != nil {
			r.cfg.logger.WarnContext(ctx, "broadcast: delete gone connection", "connectionId", t.ConnectionID, "error", derr)
			r.fail(rep, Failure{ConnectionID: t.ConnectionID, Op: OpDelete, Reason: ReasonError, Attempts: res.Attempts, Err: derr})
			return
		}
		rep.Deleted++
	default:
		reason := reasonOf(err)
		if reason == ReasonAmbiguous {
			rep.Ambiguous++
		}
		r.fail(rep, Failure{ConnectionID: t.ConnectionID, Op: OpPost, Reason: reason, Attempts: res.Attempts, Err: err})
	}
}

func (r *run) fail(rep *Report, f Failure) {
	f.Error = f.Err.Error()
	rep.Failed++
	if len(rep.Failures) < r.cfg.maxFailures {
		rep.Failures = append(rep.Failures, f)
	} else {
		rep.FailuresOmitted++
	}
}

// merge adds the workers' reports, keeping at most maxFailures failures,
// sorted by connection id.
func merge(parts []Report, maxFailures int) Report {
	rep := Report{Failures: []Failure{}}
	for _, p := range parts {
		rep.addCounts(p)
		for _, f := range p.Failures {
			if len(rep.Failures) < maxFailures {
				rep.Failures = append(rep.Failures, f)
			} else {
				rep.FailuresOmitted++
			}
		}
	}
	sortFailures(rep.Failures)
	return rep
}

// addCounts adds o's counts (not its rates, times or failures) to r.
func (r *Report) addCounts(o Report) {
	r.Sent += o.Sent
	r.Gone += o.Gone
	r.Deleted += o.Deleted
	r.Failed += o.Failed
	r.Ambiguous += o.Ambiguous
	r.Attempts += o.Attempts
	r.Retries += o.Retries
	r.Throttled += o.Throttled
	r.FailuresOmitted += o.FailuresOmitted
}

// sortFailures puts failures in connection id order, then by Op.
func sortFailures(fs []Failure) {
	slices.SortFunc(fs, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.ConnectionID, b.ConnectionID), cmp.Compare(a.Op, b.Op))
	})
}

// Add adds o, the Report of another part of the same broadcast (a segment
// run at the same time), to r: the counts add up, the rates of parts run in
// parallel add up, Seconds is the longest part's, AchievedRate is
// recomputed over it, MinRate is the sum of the parts' lowest rates, and
// the failures are merged in connection id order (the Report keeps at most
// as many as both held).
func (r *Report) Add(o Report) {
	r.addCounts(o)
	r.Rate += o.Rate
	r.MinRate += o.MinRate
	r.Seconds = max(r.Seconds, o.Seconds)
	r.AchievedRate = 0
	if r.Seconds > 0 {
		r.AchievedRate = float64(r.Attempts) / r.Seconds
	}
	r.Failures = append(r.Failures, o.Failures...)
	if r.Failures == nil {
		r.Failures = []Failure{}
	}
	sortFailures(r.Failures)
}
