package hub

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// The notifier: escalation messages and webhooks sent over the network,
// outside any store transaction, so each is claimed before it is sent
// (docs/architecture.md, "Several instances").
//
// A claim names its claimer and, with several instances, the lease the
// claimer's notifier runs under (LeaseNotifyPrefix + its name) at that
// lease's epoch. A notifier that stops — the hub shutting down, or its
// lease lost — hands back every claim it has not recorded, and the store
// rings the other instances' doorbell, so a survivor sends them at once. A
// notifier that dies stops renewing its lease; once the lease has lapsed
// (about its TTL, 10 s) its claims may be taken by any instance, which
// wakes for that moment. Leases stops a notifier whose lease it could not
// renew before the lease can lapse, cutting its deliveries in flight, and
// its results are fenced by the lease: a claim another instance took over
// is not recorded by the old claimer. The hold is the last resort, for a
// claimer alive but stuck and for a hub alone.

// LeaseNotifyPrefix names each instance's notifier lease:
// "notify/<instance>", held by that instance only.
const LeaseNotifyPrefix = "notify/"

// notifyHold is how long a claimed notification stays out of every other
// instance's sight while its claimer's lease holds (or, for a hub alone,
// at all): far longer than a delivery takes. Every attempt of one
// notification carries the same key (see hub/notify), so a delivery made
// again after a claimer was cut off mid-send is recognisable.
const notifyHold = 2 * time.Minute

// NotificationClaim names who claims notifications: the instance, and the
// lease its notifier runs under with the lease's epoch ("" and 0 for a hub
// alone).
type NotificationClaim struct {
	Holder string
	Lease  string
	Epoch  int64
}

// NotificationClaimer is a store that claims due notifications (the SQL
// store's): each is sent by the instance that claimed it.
type NotificationClaimer interface {
	// ClaimNotifications claims, for hold, notifications due at now and
	// those whose claimer's lease has lapsed.
	ClaimNotifications(ctx context.Context, now time.Time, hold time.Duration, limit int, c NotificationClaim) ([]*alerts.Notification, error)
	// HandBackNotifications gives back every claim of holder not yet
	// recorded, ringing the other instances.
	HandBackNotifications(ctx context.Context, holder string) (int64, error)
	// NextClaimable is when a notification may next be claimed: its next
	// attempt, or sooner when its claimer's lease would lapse.
	NextClaimable(ctx context.Context, now time.Time) (time.Time, bool, error)
}

// startNotifier runs the notifier: under this instance's notifier lease
// when the store is shared, else among runs.
func (a *Alerting) startNotifier(runs []func(context.Context)) []func(context.Context) {
	if l := a.cfg.Leases; l != nil && l.Shared() {
		l.Singleton(LeaseNotifyPrefix+l.Holder(), func(ctx context.Context, lease Lease) { a.runNotifier(ctx, lease) })
		return runs
	}
	return append(runs, func(ctx context.Context) { a.runNotifier(ctx, Lease{}) })
}

// notifyHolder is the name this hub's claims carry.
func (a *Alerting) notifyHolder() string {
	if a.cfg.Leases != nil {
		return a.cfg.Leases.Holder()
	}
	return "hub"
}

// handBack gives back this hub's claims not recorded: when the notifier
// stops (its deliveries in flight were cut off; a survivor sends them
// now), and when it starts (an earlier run of this instance died holding
// them).
func (a *Alerting) handBack(c NotificationClaimer, holder, when string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.HandBackNotifications(ctx, holder)
	if err != nil {
		a.logger.Warn("hand back claimed notifications; they wait for the claimer's lease to lapse, or the hold", "when", when, "err", err)
	} else if n > 0 {
		a.logger.Info("claimed notifications handed back", "when", when, "notifications", n)
	}
}

// nextNotification is when the notifier looks again.
func (a *Alerting) nextNotification(ctx context.Context, c NotificationClaimer) (time.Time, bool, error) {
	if c != nil {
		return c.NextClaimable(ctx, a.cfg.Now())
	}
	return a.cfg.Store.NextNotification(ctx)
}

// dueNotifications returns the notifications to deliver now: claimed for
// notifyHold where the store can claim, else read.
func (a *Alerting) dueNotifications(ctx context.Context, c NotificationClaimer, claim NotificationClaim) ([]*alerts.Notification, error) {
	if c != nil {
		return c.ClaimNotifications(ctx, a.cfg.Now(), notifyHold, 10, claim)
	}
	return a.cfg.Store.DueNotifications(ctx, a.cfg.Now(), 50)
}

// runNotifier delivers notifications on their channels, each attempt
// and its result recorded on the alert's timeline in one transaction
// (fenced by lease, when it has one). When the store fails it backs off
// like runTimers; a delivery whose result could not be recorded is made
// again at the next attempt (the webhook may see it twice).
func (a *Alerting) runNotifier(ctx context.Context, lease Lease) {
	log := newLimitedLogger(a.logger, retryLogEvery, time.Now)
	claimer, _ := a.cfg.Store.(NotificationClaimer)
	claim := NotificationClaim{Holder: a.notifyHolder(), Lease: lease.Name, Epoch: lease.Epoch}
	if claimer != nil {
		a.handBack(claimer, claim.Holder, "start")
		defer a.handBack(claimer, claim.Holder, "stop")
	}
	var pace retryPace
	for {
		due, ok, err := a.nextNotification(ctx, claimer)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("next", "read next notification; retrying", "err", err)
			ok, due = true, a.cfg.Now().Add(pace.failed())
		}
		if !sleepUntil(ctx, a.cfg.Now(), due, ok, time.Minute, a.notifyWake) {
			return
		}
		if err != nil {
			continue
		}
		ns, err := a.dueNotifications(ctx, claimer, claim)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("due", "read due notifications; retrying", "err", err)
			}
			if !sleepUntil(ctx, a.cfg.Now(), a.cfg.Now().Add(pace.failed()), true, retryMax, a.notifyWake) {
				return
			}
			continue
		}
		recorded := true
		for _, n := range ns {
			status, sendErr := a.deliver(ctx, n)
			if ctx.Err() != nil {
				return // stopping: the attempt is not recorded, and the claims are handed back
			}
			if sendErr != nil || status/100 != 2 {
				a.cfg.Metrics.countNotifyFailure()
			}
			err := a.Update(ctx, func(tx *AlertTx) error {
				if err := fence(ctx, tx.Store(), lease); err != nil {
					return err
				}
				return tx.NotificationResult(ctx, n, status, sendErr, a.cfg.Now())
			})
			if err != nil {
				recorded = false
				log.Error("record", "record notification attempt; retrying", "alert", n.AlertID, "err", err)
			}
		}
		if recorded {
			pace.ok()
		} else if !sleepUntil(ctx, a.cfg.Now(), a.cfg.Now().Add(pace.failed()), true, retryMax, a.notifyWake) {
			return
		}
	}
}
