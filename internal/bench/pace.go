package bench

import (
	"context"
	"time"
)

// Pacer spaces events at a steady rate. It does not let a late caller
// fall further behind: a caller that is late gets its next slots at once
// until it has caught up.
type Pacer struct {
	start    time.Time
	interval time.Duration
	n        int64
}

// NewPacer returns a Pacer for rate events a second, starting now.
func NewPacer(rate float64) *Pacer {
	return &Pacer{start: time.Now(), interval: time.Duration(float64(time.Second) / rate)}
}

// Wait blocks until the next event is due, or ctx ends (false).
func (p *Pacer) Wait(ctx context.Context) bool {
	due := p.start.Add(time.Duration(p.n) * p.interval)
	p.n++
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
