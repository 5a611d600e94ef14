package broadcast

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
)

// Store is where the connections are read from and gone ones deleted.
// *dynamo.Table satisfies it; any other row source (another database, a
// fixed list in a test) can too.
//
// Connections must stream rows (page by page) rather than load them all, and
// stop when yield returns false. Delete removes exactly the row of
// connectionID. Both may be called concurrently.
type Store interface {
	Connections(ctx context.Context, sel dynamo.Selector) iter.Seq2[dynamo.Row, error]
	Delete(ctx context.Context, connectionID string) error
}

// Poster posts data to one connection. *lawcket.Poster satisfies it, and
// classifies the Management API's errors with lawcket.ErrGone,
// lawcket.ErrLimitExceeded, lawcket.ErrPayloadTooLarge and
// lawcket.ErrForbidden, which Send relies on (errors.Is). Post is called
// concurrently.
type Poster interface {
	Post(ctx context.Context, t lawcket.Target, data []byte) error
}

var (
	_ Store  = (*dynamo.Table)(nil)
	_ Poster = (*lawcket.Poster)(nil)
)

// Defaults of the options.
const (
	DefaultConcurrency = 32
	DefaultAttempts    = 5                     // posts per connection while throttled (429)
	DefaultRetryBudget = 10 * time.Second      // time per connection from its first post to its last retry
	DefaultBaseDelay   = 50 * time.Millisecond // first backoff cap
	DefaultMaxDelay    = 2 * time.Second       // backoff cap
	DefaultMaxFailures = 1000                  // failures kept with their ids in a Report
)

// Option configures a Sender (given to New) or one call (given to Send,
// overriding the Sender's settings for that call only). An invalid value
// makes New or Send return an error; options never panic.
type Option func(*config)

type config struct {
	concurrency int
	attempts    int
	budget      time.Duration
	baseDelay   time.Duration
	maxDelay    time.Duration
	maxFailures int
	exclude     string
	apiID       string
	logger      *slog.Logger
	errs        []error
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

// WithRetry bounds the retries of a throttled post (429 LimitExceeded): at
// most attempts posts per connection (default 5; 1 turns retries off), and no
// retry whose backoff would end more than budget after the connection's first
// post (default 10s; 0 means no time bound beyond attempts and ctx).
func WithRetry(attempts int, budget time.Duration) Option {
	return func(c *config) {
		if attempts < 1 {
			c.errorf("retry attempts %d: must be at least 1", attempts)
			return
		}
		if budget < 0 {
			c.errorf("retry budget %v: must not be negative", budget)
			return
		}
		c.attempts, c.budget = attempts, budget
	}
}

// WithBackoff sets the exponential backoff between throttled attempts: before
// retry n (n = 1, 2, …) Send waits a random duration in [0, min(max,
// base·2ⁿ⁻¹)) ("full jitter"). Defaults: base 50ms, max 2s.
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) {
		if base <= 0 || max < base {
			c.errorf("backoff base %v, max %v: need 0 < base <= max", base, max)
			return
		}
		c.baseDelay, c.maxDelay = base, max
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

// Exclude skips one connection, typically the sender of the message being
// broadcast. An empty id excludes nothing.
func Exclude(connectionID string) Option {
	return func(c *config) { c.exclude = connectionID }
}

// WithAPIID sets the API id posted with every row (lawcket.Target.APIID),
// for a Management API endpoint with the {apiId} placeholder: rows store
// domainName and stage, not the API id. In a handler, pass
// ev.Connection.APIID.
func WithAPIID(apiID string) Option {
	return func(c *config) { c.apiID = apiID }
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

func (c config) with(opts []Option) (config, error) {
	c.errs = nil
	for _, opt := range opts {
		if opt == nil {
			c.errorf("nil option")
			continue
		}
		opt(&c)
	}
	return c, errors.Join(c.errs...)
}

// Sender broadcasts payloads to the connections of a Store through a Poster.
// Build it once with New; it is safe for concurrent use.
type Sender struct {
	store  Store
	poster Poster
	cfg    config
}

// New returns a Sender reading rows from store and posting through poster.
func New(store Store, poster Poster, opts ...Option) (*Sender, error) {
	if store == nil {
		return nil, errors.New("broadcast: nil store")
	}
	if poster == nil {
		return nil, errors.New("broadcast: nil poster")
	}
	cfg, err := config{
		concurrency: DefaultConcurrency,
		attempts:    DefaultAttempts,
		budget:      DefaultRetryBudget,
		baseDelay:   DefaultBaseDelay,
		maxDelay:    DefaultMaxDelay,
		maxFailures: DefaultMaxFailures,
		logger:      slog.Default(),
	}.with(opts)
	if err != nil {
		return nil, err
	}
	return &Sender{store: store, poster: poster, cfg: cfg}, nil
}

// Report says what one Send did. Every connection Send reached is counted
// once in Sent, Gone or in a "post" failure; Failed also counts rows whose
// delete failed after a 410 (those are in Gone too, not in Deleted).
type Report struct {
	// Sent is the number of connections that accepted the payload (2xx).
	Sent int `json:"sent"`
	// Gone is the number of connections that answered 410 Gone.
	Gone int `json:"gone"`
	// Deleted is the number of gone connections whose row was deleted.
	Deleted int `json:"deleted"`
	// Failed is the number of failures: posts that failed for any reason
	// other than 410 (after the retries of 429), and deletes that failed.
	Failed int `json:"failed"`
	// Retries is the number of posts retried after a 429.
	Retries int `json:"retries"`
	// Failures lists the failures, up to WithMaxFailures of them.
	Failures []Failure `json:"failures"`
	// FailuresOmitted is the number of failures counted in Failed but not
	// listed in Failures.
	FailuresOmitted int `json:"failuresOmitted,omitempty"`
}

// Op says which call of a Failure failed.
type Op string

const (
	// OpPost is a failed post (the connection did not get the payload).
	OpPost Op = "post"
	// OpDelete is a failed delete of a gone connection's row (the row stays
	// until its TTL or a later broadcast).
	OpDelete Op = "delete"
)

// Failure is one connection that failed.
type Failure struct {
	ConnectionID string `json:"connectionId"`
	Op           Op     `json:"op"`
	// Error is Err's message (for JSON).
	Error string `json:"error"`
	// Attempts is the number of posts made to the connection.
	Attempts int `json:"attempts,omitempty"`
	// Err is the error itself, for errors.Is (lawcket.ErrPayloadTooLarge,
	// lawcket.ErrLimitExceeded, context.Canceled, …).
	Err error `json:"-"`
}

// Send posts payload to every connection sel selects (the zero Selector
// selects all), except the one excluded with Exclude, and returns the Report.
// opts override the Sender's options for this call.
//
// The error is non-nil when Send could not go through every row: invalid
// opts (nothing is posted), the Store failing to list rows (the Report covers
// the rows read before), or ctx ending (the partial Report, and ctx.Err()).
// Per-connection failures are not errors: they are in the Report.
func (s *Sender) Send(ctx context.Context, sel dynamo.Selector, payload []byte, opts ...Option) (Report, error) {
	cfg, err := s.cfg.with(opts)
	if err != nil {
		return Report{Failures: []Failure{}}, err
	}
	run := &run{Sender: s, cfg: cfg, payload: payload}

	// The buffer lets the Store fetch its next page while the workers post
	// the last rows of the current one.
	rows := make(chan dynamo.Row, cfg.concurrency)
	results := make([]Report, cfg.concurrency)
	var wg sync.WaitGroup
	for i := range cfg.concurrency {
		wg.Go(func() { run.work(ctx, rows, &results[i]) })
	}

	var storeErr error
produce:
	for row, err := range s.store.Connections(ctx, sel) {
		if err != nil {
			storeErr = err
			break
		}
		if cfg.exclude != "" && row.ConnectionID == cfg.exclude {
			continue
		}
		select {
		case rows <- row:
		case <-ctx.Done():
			break produce
		}
	}
	close(rows)
	wg.Wait()

	rep := merge(results, cfg.maxFailures)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	if storeErr != nil {
		return rep, fmt.Errorf("broadcast: read connections: %w", storeErr)
	}
	return rep, nil
}

// run is one Send call.
type run struct {
	*Sender
	cfg     config
	payload []byte
}

// work posts to the rows it receives until rows is closed, counting into rep
// (owned by this worker until Send merges).
func (r *run) work(ctx context.Context, rows <-chan dynamo.Row, rep *Report) {
	for row := range rows {
		if ctx.Err() != nil {
			continue // drain: the producer stops at once
		}
		r.one(ctx, row, rep)
	}
}

func (r *run) one(ctx context.Context, row dynamo.Row, rep *Report) {
	target := lawcket.Target{ConnectionID: row.ConnectionID, DomainName: row.DomainName, Stage: row.Stage, APIID: r.cfg.apiID}
	attempts, err := r.post(ctx, target, rep)
	switch {
	case err == nil:
		rep.Sent++
	case errors.Is(err, lawcket.ErrGone):
		rep.Gone++
		r.cfg.logger.DebugContext(ctx, "broadcast: connection gone, deleting its row", "connectionId", row.ConnectionID)
		if derr := r.store.Delete(ctx, row.ConnectionID); derr != nil {
			r.cfg.logger.WarnContext(ctx, "broadcast: delete gone connection", "connectionId", row.ConnectionID, "error", derr)
			r.fail(rep, Failure{ConnectionID: row.ConnectionID, Op: OpDelete, Attempts: attempts, Err: derr})
			return
		}
		rep.Deleted++
	default:
		r.fail(rep, Failure{ConnectionID: row.ConnectionID, Op: OpPost, Attempts: attempts, Err: err})
	}
}

// post posts to t, retrying 429s within the budget. It returns the number
// of attempts and the last error.
func (r *run) post(ctx context.Context, t lawcket.Target, rep *Report) (int, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := r.poster.Post(ctx, t, r.payload)
		if err == nil || !errors.Is(err, lawcket.ErrLimitExceeded) || attempt >= r.cfg.attempts {
			return attempt, err
		}
		wait := r.backoff(attempt)
		if r.cfg.budget > 0 && time.Since(start)+wait > r.cfg.budget {
			return attempt, fmt.Errorf("%w (retry budget %v spent)", err, r.cfg.budget)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return attempt, fmt.Errorf("%w (no time left to retry before the context's deadline)", err)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return attempt, fmt.Errorf("%w (while waiting to retry: %w)", err, context.Cause(ctx))
		case <-timer.C:
		}
		rep.Retries++
	}
}

// backoff is the full-jitter delay before retry n: uniform in [0, min(max, base·2ⁿ⁻¹)).
func (r *run) backoff(n int) time.Duration {
	ceil := r.cfg.maxDelay
	if n-1 < 32 {
		if d := r.cfg.baseDelay << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil)
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
		rep.Sent += p.Sent
		rep.Gone += p.Gone
		rep.Deleted += p.Deleted
		rep.Failed += p.Failed
		rep.Retries += p.Retries
		rep.FailuresOmitted += p.FailuresOmitted
		for _, f := range p.Failures {
			if len(rep.Failures) < maxFailures {
				rep.Failures = append(rep.Failures, f)
			} else {
				rep.FailuresOmitted++
			}
		}
	}
	slices.SortFunc(rep.Failures, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(a.ConnectionID, b.ConnectionID), cmp.Compare(a.Op, b.Op))
	})
	return rep
}

// PosterOptions are the lawcket.Poster options a broadcast of the given
// concurrency wants; pass them to lawcket.NewPoster (with any others, such as
// lawcket.WithPosterEndpoint):
//
//   - lawcket.WithPosterThrottleRetry(false): the SDK's retryer leaves 429s
//     to Send, whose retries are bounded (WithRetry). Otherwise the SDK retries
//     each throttled post up to 3 times inside each of Send's attempts, and
//     the Report's Retries misses them.
//   - the SDK's HTTP client keeps up to concurrency idle connections per
//     endpoint (it keeps 10 by default), so that concurrency posts in flight
//     reuse their TLS connections instead of opening new ones.
//
// A Poster built with the SDK's defaults works too, with those two costs.
func PosterOptions(concurrency int) []lawcket.PosterOption {
	idle := max(concurrency, awshttp.DefaultHTTPTransportMaxIdleConnsPerHost)
	return []lawcket.PosterOption{
		lawcket.WithPosterThrottleRetry(false),
		lawcket.WithPosterClientOptions(func(o *apigatewaymanagementapi.Options) {
			if c, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
				o.HTTPClient = c.WithTransportOptions(func(tr *http.Transport) {
					tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, idle)
					tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
				})
			}
		}),
	}
}
