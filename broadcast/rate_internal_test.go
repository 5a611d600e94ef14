package broadcast

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	p := newPacer(1000, 8, t0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	check := func(step string, want float64) {
		t.Helper()
		if cur, _ := p.rates(); cur < want-1e-9 || cur > want+1e-9 {
			t.Errorf("%s: rate %v, want %v", step, cur, want)
		}
		if got := float64(p.lim.Limit()); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s: limiter at %v, want %v", step, got, want)
		}
	}
	p.observe(0, at(10*time.Second))
	check("no 429 at the target", 1000)
	p.observe(1, at(10*time.Second))
	check("first 429", 700)
	p.observe(3, at(10*time.Second+50*time.Millisecond))
	check("429s of posts already in flight count once", 700)
	p.observe(1, at(10*time.Second+300*time.Millisecond))
	check("a 429 later", 490)
	p.observe(0, at(11*time.Second))
	check("under a second without 429", 490)
	p.observe(0, at(11*time.Second+300*time.Millisecond))
	check("a second without 429", 590)
	for i := range 20 {
		p.observe(1, at(20*time.Second+time.Duration(i)*time.Second))
	}
	check("a sustained 429 rate reaches the floor", 50)
	if _, lowest := p.rates(); lowest != 50 {
		t.Errorf("lowest %v", lowest)
	}
	for i := range 30 {
		p.observe(0, at(60*time.Second+time.Duration(i)*time.Second))
	}
	check("back to the target, not past it", 1000)
}
