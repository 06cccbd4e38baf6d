package hub

import (
	"context"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// runSweep waits for the next window to end (or a minute, or a kick) and
// judges the households whose windows have ended.
func (c *Checkins) runSweep(ctx context.Context) {
	for {
		next, ok := c.book.Next()
		if !sleepUntil(ctx, c.cfg.Now(), next, ok, time.Minute, c.kick) {
			return
		}
		c.mu.Lock()
		urgent := 0
		for k := range c.pending {
			if c.alerted[k] {
				urgent++
			}
		}
		c.mu.Unlock()
		if urgent > 0 {
			c.flush(ctx)
		}
		c.sweep(ctx, c.cfg.Now())
	}
}

// sweep judges the windows that ended by now: a no_activity alert for each
// household that showed no sign of life, checkinBatch households to a
// transaction. Verdicts whose transaction fails are tried again at the
// next sweep (within a minute). It returns how many alerts it opened or
// added a day to.
func (c *Checkins) sweep(ctx context.Context, now time.Time) int {
	c.mu.Lock()
	due := append(c.failed, c.book.Due(now)...)
	c.failed = nil
	c.mu.Unlock()
	opened := 0
	for batch := range slices.Chunk(due, checkinBatch) {
		type verdict struct {
			d  *devices.Device
			od alerts.Overdue
		}
		var vs []verdict
		for _, od := range batch {
			c.mu.Lock()
			h := c.households[od.Household]
			c.mu.Unlock()
			if h == nil {
				continue // no longer watched
			}
			d, err := c.cfg.Index.Full(ctx, h.rep)
			if err != nil {
				c.logger.Error("check-in verdict: read the household's device", "household", od.Household, "device", h.rep, "err", err)
				c.retry(od)
				continue
			}
			if d != nil {
				vs = append(vs, verdict{d, od})
			}
		}
		n := 0
		err := c.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
			n = 0
			for _, v := range vs {
				a, err := tx.NoActivity(ctx, v.d, v.od, now)
				if err != nil {
					return err
				}
				if a != nil {
					n++
				}
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Error("check-in verdicts failed; trying them again in a minute", "households", len(vs), "err", err)
			}
			for _, v := range vs {
				c.retry(v.od)
			}
			continue
		}
		opened += n
	}
	return opened
}

func (c *Checkins) retry(od alerts.Overdue) {
	c.mu.Lock()
	c.failed = append(c.failed, od)
	c.mu.Unlock()
}
