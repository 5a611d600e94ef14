package mgmt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Defaults of a Retry's zero fields.
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 50 * time.Millisecond
	DefaultMaxDelay    = 2 * time.Second
)

// Delivery says which failed posts a Retry resends.
type Delivery int

const (
	// AtMostOnce (the default) resends a post only when it was certainly
	// not delivered: a 429 LimitExceeded answer, or a connection that could
	// not be opened (refused, DNS), so nothing was written. A post that may
	// have been delivered (5xx answer, connection reset or closed after the
	// request was written, timeout) is not resent: it fails with
	// ErrAmbiguous.
	AtMostOnce Delivery = iota
	// AtLeastOnce also resends ambiguous failures, so a connection may
	// receive the payload twice.
	AtLeastOnce
)

// String returns "at-most-once" or "at-least-once".
func (d Delivery) String() string {
	if d == AtLeastOnce {
		return "at-least-once"
	}
	return "at-most-once"
}

// Retry is the retry policy of a call. It is carried out by the AWS SDK's
// standard retryer (retry.NewStandard) built for the call, with this
// policy's retryable test, attempts and backoff, and without the SDK's
// shared retry token bucket (ratelimit.None), so earlier failures never
// spend the retries of later calls.
//
// Give it to New with WithRetry (every call's default), or to one call as a
// CallOption: c.Post(ctx, t, data, mgmt.Retry{MaxAttempts: 5}). Zero fields
// take the package defaults, not the client's.
type Retry struct {
	// MaxAttempts is the number of HTTP attempts at most, the first
	// included (default 3; 1 turns retries off).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff: before retry n (n = 1,
	// 2, ...) the call waits a random duration in [0, min(MaxDelay,
	// BaseDelay·2ⁿ⁻¹)) ("full jitter"). Defaults 50ms and 2s. A Retry-After
	// header from the server is honoured by the SDK.
	BaseDelay, MaxDelay time.Duration
	// Budget bounds the time of a call: no retry whose backoff would end
	// more than Budget after the first attempt started (0: no bound but
	// MaxAttempts and the context). A retry whose backoff would end past
	// the context's deadline is never made.
	Budget time.Duration
	// Delivery says which failed posts are resent (default AtMostOnce).
	// Get and Delete are idempotent: they always retry ambiguous failures.
	Delivery Delivery
}

func (r Retry) applyCall(c *callConfig) { c.retry = r }

// Check reports an invalid Retry (negative values, MaxDelay < BaseDelay,
// an unknown Delivery).
func (r Retry) Check() error {
	switch {
	case r.MaxAttempts < 0:
		return fmt.Errorf("mgmt: retry: MaxAttempts %d is negative", r.MaxAttempts)
	case r.BaseDelay < 0 || r.MaxDelay < 0 || r.Budget < 0:
		return fmt.Errorf("mgmt: retry: negative duration (BaseDelay %v, MaxDelay %v, Budget %v)", r.BaseDelay, r.MaxDelay, r.Budget)
	case r.withDefaults().MaxDelay < r.withDefaults().BaseDelay:
		return fmt.Errorf("mgmt: retry: MaxDelay %v is below BaseDelay %v", r.MaxDelay, r.BaseDelay)
	case r.Delivery != AtMostOnce && r.Delivery != AtLeastOnce:
		return fmt.Errorf("mgmt: retry: unknown Delivery %d", r.Delivery)
	}
	return nil
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay == 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = max(DefaultMaxDelay, r.BaseDelay)
	}
	return r
}

// CallOption tunes one call: a Retry, or Limit.
type CallOption interface{ applyCall(*callConfig) }

type callConfig struct {
	retry   Retry
	limiter Limiter
}

// Limiter paces HTTP attempts. *rate.Limiter (golang.org/x/time/rate)
// implements it.
type Limiter interface {
	// Wait blocks until an attempt may be made, or returns an error (the
	// context ended, or would end before then).
	Wait(ctx context.Context) error
}

type limit struct{ l Limiter }

func (o limit) applyCall(c *callConfig) { c.limiter = o.l }

// Limit makes the call wait on l before each of its HTTP attempts, retries
// included, so that a rate shared by many calls (a broadcast's) also bounds
// their resends. A nil l waits for nothing.
func Limit(l Limiter) CallOption { return limit{l} }

// call is the state of one operation across its attempts. The SDK runs the
// attempts of an operation one after the other; the fields written by the
// HTTP trace are atomic because the transport may call it from its own
// goroutines.
type call struct {
	op       Op
	policy   Retry
	start    time.Time
	deadline time.Time // zero: none

	limiter Limiter

	attempts  int
	throttled int         // attempts answered 429
	gotConn   atomic.Bool // the last attempt had a connection: the request may have been written
	status    int         // the last attempt's HTTP status, 0 when it got no answer
}

func newCall(ctx context.Context, op Op, cc callConfig) *call {
	c := &call{op: op, policy: cc.retry.withDefaults(), start: time.Now(), limiter: cc.limiter}
	if d, ok := ctx.Deadline(); ok {
		c.deadline = d
	}
	return c
}

// optFns are the per-operation options that put the call's policy into the
// SDK client: its retryer, and a middleware inside the retry loop that
// counts attempts and watches the transport.
func (c *call) optFns() []func(*apigatewaymanagementapi.Options) {
	return []func(*apigatewaymanagementapi.Options){func(o *apigatewaymanagementapi.Options) {
		o.RetryMaxAttempts = 0
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = c.policy.MaxAttempts
			so.RateLimiter = ratelimit.None
			so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(c.retryable)}
			so.Backoff = retry.BackoffDelayerFunc(c.backoff)
		})
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("lawcketAttempt", c.attempt), middleware.After)
		})
	}}
}

// attempt runs around each HTTP attempt, closest to the transport.
func (c *call) attempt(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				if _, ok := ctx.Deadline(); ok {
					// The wait would end past the deadline: the attempt
					// cannot be made in time.
					err = fmt.Errorf("rate limit: %w (%w)", err, context.DeadlineExceeded)
				}
			}
			return middleware.DeserializeOutput{}, middleware.Metadata{}, err // the last attempt's state stays
		}
	}
	c.gotConn.Store(false)
	c.status = 0
	c.attempts++
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { c.gotConn.Store(true) }}
	out, md, err := next.HandleDeserialize(httptrace.WithClientTrace(ctx, trace), in)
	if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
		c.status = resp.StatusCode
		if c.status == 429 {
			c.throttled++
		}
	}
	return out, md, err
}

// ambiguous reports whether the last attempt may have been carried out
// without a definite answer.
func (c *call) ambiguous() bool {
	if c.attempts == 0 {
		return false
	}
	if c.status >= 500 {
		return true
	}
	return c.status == 0 && c.gotConn.Load()
}

// retryable is the policy's retry test, given the last attempt's error.
func (c *call) retryable(err error) aws.Ternary {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return aws.FalseTernary
	}
	if isThrottle(err) || c.status == 429 {
		return aws.TrueTernary // not carried out
	}
	if c.status == 0 && !c.gotConn.Load() {
		var send *smithyhttp.RequestSendError
		if errors.As(err, &send) {
			return aws.TrueTernary // no connection: nothing was written
		}
		return aws.FalseTernary // failed before the transport (signing, serialising)
	}
	if !c.ambiguous() {
		return aws.FalseTernary // a definite answer (4xx)
	}
	if c.op != OpPost || c.policy.Delivery == AtLeastOnce {
		return aws.TrueTernary
	}
	return aws.FalseTernary
}

// backoff is the full-jitter delay before retry n; it refuses a retry that
// would end past the budget or the context's deadline.
func (c *call) backoff(n int, err error) (time.Duration, error) {
	ceil := c.policy.MaxDelay
	if n-1 < 32 {
		if d := c.policy.BaseDelay << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	wait := time.Duration(0)
	if ceil > 0 {
		wait = rand.N(ceil)
	}
	now := time.Now()
	if c.policy.Budget > 0 && now.Add(wait).Sub(c.start) > c.policy.Budget {
		return 0, fmt.Errorf("%w (retry budget %v spent)", err, c.policy.Budget)
	}
	if !c.deadline.IsZero() && now.Add(wait).After(c.deadline) {
		return 0, fmt.Errorf("%w (no time left to retry before the context's deadline)", err)
	}
	return wait, nil
}

// fail wraps err of the call into an *Error.
func (c *call) fail(id string, err error) error {
	e := &Error{Op: c.op, ConnectionID: id, Attempts: c.attempts, Err: err, Kind: kindOf(err, c.status)}
	if e.Kind == nil && c.ambiguous() {
		e.Kind = ErrAmbiguous
	}
	return e
}

func (c *call) result() Result { return Result{Attempts: c.attempts, Throttled: c.throttled} }
