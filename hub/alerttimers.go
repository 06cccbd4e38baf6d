package hub

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// Retry pacing of the timer runner and the notifier when the store fails
// (a full disk, say): the next attempt waits retryFirst, doubling up to
// retryMax, and each kind of failure is logged at most once per
// retryLogEvery, saying how many were suppressed.
const (
	retryFirst    = time.Second
	retryMax      = 30 * time.Second
	retryLogEvery = 30 * time.Second
)

// retryPace is the back-off of one runner.
type retryPace struct{ wait time.Duration }

// failed returns how long to wait before the next attempt.
func (r *retryPace) failed() time.Duration {
	r.wait = min(max(2*r.wait, retryFirst), retryMax)
	return r.wait
}

func (r *retryPace) ok() { r.wait = 0 }

// runTimers fires the store's alert timers as they fall due. Timers live in
// the store, so one that fell due while the hub was down fires at start,
// and each fires in the same transaction that removes or re-arms it: a
// crash cannot fire one twice. When the store fails the runner backs off:
// a due timer it cannot fire is tried again after retryPace, not at once.
func (a *Alerting) runTimers(ctx context.Context) {
	log := newLimitedLogger(a.logger, retryLogEvery, time.Now)
	var pace retryPace
	for {
		due, ok, err := a.cfg.Store.NextTimer(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("next", "read next alert timer; retrying", "err", err)
			ok, due = true, a.cfg.Now().Add(pace.failed())
		}
		if !sleepUntil(ctx, a.cfg.Now(), due, ok, time.Minute, a.timersWake) {
			return
		}
		if err != nil {
			continue
		}
		if a.fireDue(ctx, log) {
			pace.ok()
			continue
		}
		// Some timer did not fire: wait before trying again (or until a
		// commit wakes the runner, which means the store writes again).
		if !sleepUntil(ctx, a.cfg.Now(), a.cfg.Now().Add(pace.failed()), true, retryMax, a.timersWake) {
			return
		}
	}
}

// TimerClaimer is a transaction that claims due timers (the SQL store's,
// with FOR UPDATE SKIP LOCKED): with several instances, each due timer is
// claimed by one and fired in the transaction that claimed it.
type TimerClaimer interface {
	ClaimTimer(ctx context.Context, now time.Time) (alerts.Timer, bool, error)
}

// fireDue fires the timers due now, each in its own transaction. It
// reports whether every one fired.
func (a *Alerting) fireDue(ctx context.Context, log *limitedLogger) bool {
	now := a.cfg.Now()
	if all, claimed := a.fireClaimed(ctx, log, now); claimed {
		return all
	}
	timers, err := a.cfg.Store.DueTimers(ctx, now, 200)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("due", "read due alert timers; retrying", "err", err)
		}
		return false
	}
	all := true
	for _, t := range timers {
		err := a.Update(ctx, func(tx *AlertTx) error { return tx.FireTimer(ctx, t, now) })
		if err != nil {
			all = false
			if ctx.Err() == nil {
				log.Error("fire", "fire alert timer; retrying", "alert", t.AlertID, "timer", t.Kind, "err", err)
			}
		}
	}
	return all
}

// fireClaimed fires the timers due at now by claiming them one at a
// time, each claimed and fired in one transaction, so that with several
// instances every timer fires once. It reports false for claimed when the
// store cannot claim (fireDue then reads and fires them as before).
func (a *Alerting) fireClaimed(ctx context.Context, log *limitedLogger, now time.Time) (all, claimed bool) {
	for range 200 {
		var (
			unsupported, none bool
			fired             alerts.Timer
		)
		err := a.Update(ctx, func(tx *AlertTx) error {
			c, ok := tx.Store().(TimerClaimer)
			if !ok {
				unsupported = true
				return nil
			}
			t, found, err := c.ClaimTimer(ctx, now)
			if err != nil || !found {
				none = !found
				return err
			}
			fired = t
			return tx.FireTimer(ctx, t, now)
		})
		switch {
		case unsupported:
			return false, false
		case err != nil:
			if ctx.Err() == nil {
				log.Error("fire", "fire alert timer; retrying", "alert", fired.AlertID, "timer", fired.Kind, "err", err)
			}
			return false, true
		case none:
			return true, true
		}
	}
	return true, true // more are due: the runner comes straight back
}

// Deliverer sends a notification on its channel (hub/notify), returning
// the provider's HTTP status and an error for a failure the status does
// not tell.
type Deliverer interface {
	Deliver(ctx context.Context, n *alerts.Notification) (int, error)
}

func (a *Alerting) deliver(ctx context.Context, n *alerts.Notification) (int, error) {
	if a.cfg.Notifier == nil {
		return 0, &alerts.NotifyError{Code: alerts.NotifyErrorUnrouted, Detail: "no notification channel is configured"}
	}
	return a.cfg.Notifier.Deliver(ctx, n)
}
