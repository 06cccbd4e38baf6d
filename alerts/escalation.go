package alerts

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Webhook back-off: the first retry after 5 s, doubling, at most 5 min.
const (
	notifyBackoffFirst = 5 * time.Second
	notifyBackoffMax   = 5 * time.Minute
)

// planEscalation sets a new alert's escalation timers: level 1 at
// OpenedAt+T1 and level 2 at OpenedAt+T2 of its severity. Tests and
// severities without timers get none.
func (s *Service) planEscalation(o *op, a *Alert) error {
	if a.Test || a.State != StateNew {
		return nil
	}
	esc := s.rules.Escalation[a.Severity]
	for _, t := range []struct {
		kind  TimerKind
		level int
		after Duration
	}{{TimerEscalate1, 1, esc.T1}, {TimerEscalate2, 2, esc.T2}} {
		var err error
		if t.after > 0 && a.EscalationLevel < t.level {
			err = o.tx.SetTimer(o.ctx, Timer{AlertID: a.ID, Kind: t.kind, Due: a.OpenedAt.Add(t.after.D())})
		} else {
			err = o.tx.DeleteTimers(o.ctx, a.ID, t.kind)
		}
		if err != nil {
			return fmt.Errorf("alert %d: plan %s: %w", a.ID, t.kind, err)
		}
	}
	return nil
}

// replan re-plans the timers of an alert whose severity was raised: a new
// alert escalates on the new severity's timers, still counted from when it
// opened (a timer already past fires at once); a dispatched one is
// reminded on the new severity's cadence, counted from its dispatch.
func (s *Service) replan(o *op, a *Alert) error {
	switch a.State {
	case StateNew:
		return s.planEscalation(o, a)
	case StateDispatched:
		r := s.rules.Escalation[a.Severity].Reminder.D()
		if r <= 0 {
			return nil
		}
		due := nextAfter(a.DispatchedAt, r, o.now)
		if err := o.tx.SetTimer(o.ctx, Timer{AlertID: a.ID, Kind: TimerReminder, Due: due}); err != nil {
			return fmt.Errorf("alert %d: plan reminder: %w", a.ID, err)
		}
	}
	return nil
}

// nextAfter is the first start + k·every (k ≥ 1) later than now.
func nextAfter(start time.Time, every time.Duration, now time.Time) time.Time {
	next := start.Add(every)
	if !next.After(now) {
		k := now.Sub(start)/every + 1
		next = start.Add(k * every)
	}
	return next
}

// FireTimer applies a due timer. An escalation timer raises a new alert's
// escalation level and tells that level's parties; a
// reminder notes that a dispatched alert is still not resolved and re-arms
// itself. It returns nil, nil when the timer no longer applies (the alert
// was accepted or resolved meanwhile, or the timer already fired), and in
// every case deletes the fired timer or re-arms it, in tx, so a timer
// fires once however often it is handed in.
func (s *Service) FireTimer(ctx context.Context, tx Tx, t Timer, now time.Time) (*Alert, error) {
	o := s.newOp(ctx, tx, now)
	drop := func() (*Alert, error) {
		if err := tx.DeleteTimers(ctx, t.AlertID, t.Kind); err != nil {
			return nil, fmt.Errorf("alert %d: delete %s timer: %w", t.AlertID, t.Kind, err)
		}
		return nil, nil
	}
	a, err := tx.FindAlert(ctx, t.AlertID)
	if notFound(err) {
		return drop()
	} else if err != nil {
		return nil, fmt.Errorf("fire %s timer: find alert %d: %w", t.Kind, t.AlertID, err)
	}
	a = o.canon(a, true)
	switch t.Kind {
	case TimerEscalate1, TimerEscalate2:
		level := 1
		if t.Kind == TimerEscalate2 {
			level = 2
		}
		if a.Test || a.State != StateNew || a.EscalationLevel >= level {
			return drop()
		}
		if err := s.escalate(o, a, level); err != nil {
			return nil, err
		}
		kinds := []TimerKind{t.Kind}
		if level == 2 {
			kinds = append(kinds, TimerEscalate1) // level 2 supersedes level 1
		}
		if err := tx.DeleteTimers(ctx, a.ID, kinds...); err != nil {
			return nil, fmt.Errorf("alert %d: delete escalation timers: %w", a.ID, err)
		}
	case TimerFollowUp:
		if err := s.followUpDue(ctx, o, a); err != nil {
			return nil, err
		}
	case TimerReminder:
		every := s.rules.Escalation[a.Severity].Reminder.D()
		if a.State != StateDispatched || every <= 0 {
			return drop()
		}
		next := Timer{AlertID: a.ID, Kind: TimerReminder, Due: nextAfter(t.Due, every, now)}
		if err := tx.SetTimer(ctx, next); err != nil {
			return nil, fmt.Errorf("alert %d: re-arm reminder: %w", a.ID, err)
		}
		if reminded(a, t.Due) {
			return nil, nil
		}
		o.touch(a)
		data := map[string]string{"due": fmtT(t.Due), "dispatched_to": a.DispatchedTo, "next": fmtT(next.Due), "since_s": seconds(now.Sub(a.DispatchedAt))}
		if err := o.log(a, System, TimelineReminder, "", data); err != nil {
			return nil, err
		}
	default:
		return drop()
	}
	changed, err := o.flush()
	if err != nil {
		return nil, err
	}
	if len(changed) == 0 {
		return nil, nil
	}
	return changed[0], nil
}

// reminded reports whether the reminder due at due was already noted, so a
// reminder handed in twice is noted once.
func reminded(a *Alert, due time.Time) bool {
	want := fmtT(due)
	for _, e := range a.Timeline {
		if e.Action == TimelineReminder && e.Data["due"] == want {
			return true
		}
	}
	return false
}

// escalate raises a new alert to level and tells the parties the rules
// name for it (notify.go).
func (s *Service) escalate(o *op, a *Alert, level int) error {
	a.EscalationLevel = level
	o.touch(a)
	data := map[string]string{"level": strconv.Itoa(level), "waited_s": seconds(o.now.Sub(a.OpenedAt))}
	if err := o.log(a, System, TimelineEscalated, "", data); err != nil {
		return err
	}
	return s.planNotify(o, a, level)
}

// NotificationResult records one delivery attempt for n on the alert's
// timeline: delivered (a 2xx status, sendErr nil) deletes n; a failure
// schedules the next attempt with exponential back-off (5 s, doubling, at
// most 5 min), until MaxNotifyAttempts, after which n is given up and
// deleted. n.Attempts counts the attempts before this one; on a retry n is
// updated in place. It returns nil, nil when n or its alert no longer
// exists.
func (s *Service) NotificationResult(ctx context.Context, tx Tx, n *Notification, status int, sendErr error, now time.Time) (*Alert, error) {
	o := s.newOp(ctx, tx, now)
	attempt := n.Attempts + 1
	delivered := sendErr == nil && status >= 200 && status <= 299
	gaveUp := !delivered && attempt >= s.maxAttempts
	a, err := tx.FindAlert(ctx, n.AlertID)
	switch {
	case notFound(err):
		if err := tx.DeleteNotification(ctx, n.ID); err != nil && !notFound(err) {
			return nil, fmt.Errorf("notification %d: delete: %w", n.ID, err)
		}
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("notification %d: find alert %d: %w", n.ID, n.AlertID, err)
	}
	if delivered || gaveUp {
		err = tx.DeleteNotification(ctx, n.ID)
	} else {
		next := *n
		next.Attempts, next.NextAttempt = attempt, now.Add(backoff(attempt))
		if err = tx.UpdateNotification(ctx, &next); err == nil {
			*n = next
		}
	}
	if notFound(err) {
		return nil, nil // recorded by someone else meanwhile
	} else if err != nil {
		return nil, fmt.Errorf("notification %d: %w", n.ID, err)
	}
	a = o.canon(a, true)
	o.touch(a)
	num := strconv.Itoa(attempt)
	who := func(m map[string]string) map[string]string {
		m["party"], m["channel"] = n.Party, n.Channel
		return m
	}
	if err := o.log(a, System, TimelineNotifyAttempt, "", who(map[string]string{"attempt": num, "level": strconv.Itoa(n.Level)})); err != nil {
		return nil, err
	}
	switch {
	case delivered:
		err = o.log(a, System, TimelineNotifyDelivered, "", who(map[string]string{"attempt": num, "status": strconv.Itoa(status)}))
	default:
		data := who(classify(status, sendErr))
		data["attempt"] = num
		if !gaveUp {
			data["next"] = fmtT(n.NextAttempt)
		}
		if err = o.log(a, System, TimelineNotifyFailed, "", data); err == nil && gaveUp {
			err = o.log(a, System, TimelineNotifyGaveUp, "", who(map[string]string{"attempts": num}))
		}
	}
	if err != nil {
		return nil, err
	}
	changed, err := o.flush()
	if err != nil {
		return nil, err
	}
	return changed[0], nil
}

// backoff is the wait after failed attempt n (1-based).
func backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 7 {
		return notifyBackoffMax
	}
	return min(notifyBackoffFirst<<(n-1), notifyBackoffMax)
}
