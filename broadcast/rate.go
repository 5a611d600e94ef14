package broadcast

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRate is the default target rate of a Send, in HTTP requests per
// second: a fifth of API Gateway's default account throttle (10,000
// requests/s, burst 5,000, shared by every API of the account and region,
// the @connections callbacks and the clients' own messages included).
const DefaultRate = 2000

// Adaptive rate: a 429 cuts the rate to decreaseFactor of itself (at most
// once per decreaseEvery, so that one burst of 429s from posts already in
// flight counts once); each increaseEvery without a 429 adds a tenth of the
// target back, up to the target. The rate never goes below floorShare of
// the target.
const (
	decreaseFactor = 0.7
	decreaseEvery  = 200 * time.Millisecond
	increaseEvery  = time.Second
	floorShare     = 0.05
)

// pacer is a Send's token bucket, shared by its workers and consulted by
// the Management API client before every HTTP attempt (mgmt.Limit), and its
// additive-increase / multiplicative-decrease control.
type pacer struct {
	lim    *rate.Limiter
	target float64

	mu       sync.Mutex
	cur      float64
	lowest   float64
	lastDown time.Time
	lastUp   time.Time
}

func newPacer(target float64, burst int, now time.Time) *pacer {
	return &pacer{
		lim:    rate.NewLimiter(rate.Limit(target), max(burst, 1)),
		target: target, cur: target, lowest: target,
		lastDown: now, lastUp: now,
	}
}

// observe adapts the rate to one post's outcome at now.
func (p *pacer) observe(throttled int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case throttled > 0:
		if now.Sub(p.lastDown) < decreaseEvery && p.cur < p.target {
			return
		}
		p.cur = math.Max(p.target*floorShare, p.cur*decreaseFactor)
		p.lowest = math.Min(p.lowest, p.cur)
		p.lastDown, p.lastUp = now, now
		p.lim.SetLimitAt(now, rate.Limit(p.cur))
	case p.cur < p.target && now.Sub(p.lastUp) >= increaseEvery:
		p.cur = math.Min(p.target, p.cur+p.target/10)
		p.lastUp = now
		p.lim.SetLimitAt(now, rate.Limit(p.cur))
	}
}

// rates returns the current and the lowest rate.
func (p *pacer) rates() (cur, lowest float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur, p.lowest
}
