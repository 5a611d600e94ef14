package dynamo

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ownRetries is the per-call option every Table request carries: the
// client's retryer as configured (attempts, backoff, which errors are
// retryable, plus a truncated answer; see noQuota), without the retry quota the SDK's standard retryer shares
// across every request of the client. That token bucket (500 tokens, 5 per
// retry) is spent by a burst of throttled requests — 60 concurrent connects
// under throttling — after which no request of the client is retried at
// all, however transient its failure. A connect or a delete must keep its
// retries; what bounds them is the attempts and the event's deadline (ctx).
func ownRetries(o *dynamodb.Options) {
	if o.Retryer == nil {
		return
	}
	if _, ok := o.Retryer.(noQuota); ok {
		return
	}
	o.Retryer = noQuota{asV2(o.Retryer)}
}

// noQuota is a retryer whose retries cost no quota, and which also retries
// an answer lost mid-body (a truncated response), which the SDK does not:
// every request a Table makes is idempotent (a PutItem of a whole row, a
// DeleteItem, reads), so resending it after a lost answer is safe.
type noQuota struct{ aws.RetryerV2 }

func release(error) error { return nil }

// IsErrorRetryable is the client's retryer's decision, plus a truncated
// answer.
func (r noQuota) IsErrorRetryable(err error) bool {
	return r.RetryerV2.IsErrorRetryable(err) || errors.Is(err, io.ErrUnexpectedEOF)
}

// GetRetryToken always grants the retry: no shared quota is drawn from.
func (noQuota) GetRetryToken(context.Context, error) (func(error) error, error) {
	return release, nil
}

// asV2 returns r as an aws.RetryerV2.
func asV2(r aws.Retryer) aws.RetryerV2 {
	if v, ok := r.(aws.RetryerV2); ok {
		return v
	}
	return v1Retryer{r}
}

type v1Retryer struct{ aws.Retryer }

func (r v1Retryer) GetAttemptToken(context.Context) (func(error) error, error) {
	return r.Retryer.GetInitialToken(), nil
}

// Reserves of the event's remaining time, kept for cleanup after a failed
// write (see reserve).
const (
	minReserve = 50 * time.Millisecond
	maxReserve = time.Second
	// noDeadlineCleanup bounds a cleanup when ctx has no deadline (tests,
	// long-running programs).
	noDeadlineCleanup = 5 * time.Second
)

// reserve splits ctx's remaining time: the write gets ctx with an earlier
// deadline, and cleanup returns a context — not cancelled with ctx — that
// ends at ctx's own deadline, for a compensating request after the write
// failed. The reserve is a fifth of the remaining time, at least 50 ms and
// at most 1 s, and never more than half of what remains.
func reserve(ctx context.Context) (write context.Context, cancelWrite context.CancelFunc, cleanup func() (context.Context, context.CancelFunc)) {
	deadline, ok := ctx.Deadline()
	if !ok {
		write, cancelWrite = context.WithCancel(ctx)
		return write, cancelWrite, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.WithoutCancel(ctx), noDeadlineCleanup)
		}
	}
	remaining := time.Until(deadline)
	r := min(max(remaining/5, minReserve), maxReserve, remaining/2)
	write, cancelWrite = context.WithDeadline(ctx, deadline.Add(-r))
	return write, cancelWrite, func() (context.Context, context.CancelFunc) {
		return context.WithDeadline(context.WithoutCancel(ctx), deadline)
	}
}
