package alerts_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func pressEnv(t *testing.T, cfg alerts.Config) (*env, int64) {
	t.Helper()
	e := newEnv(t, cfg)
	d := device("sos-1", devices.KindSOSButton, true)
	res := e.handle(d, eventMsg(d, 1, devices.EventSOS, at(0)))
	return e, res.Changed[0].ID
}

func timerOf(e *env, kind alerts.TimerKind) (alerts.Timer, bool) {
	for _, tm := range e.store.Timers() {
		if tm.Kind == kind {
			return tm, true
		}
	}
	return alerts.Timer{}, false
}

func count(a *alerts.Alert, action string) int {
	n := 0
	for _, e := range a.Timeline {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestEscalationLevels: not accepted, a critical alert reaches level 1 at
// T1 and level 2 at T2, which enqueues the webhook notification.
func TestEscalationLevels(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{Directory: webhookRoutes})
	if n := e.fireDue(at(29 * time.Second)); n != 0 {
		t.Fatalf("%d timers fired before T1", n)
	}
	if n := e.fireDue(at(30 * time.Second)); n != 1 || e.alert(id).EscalationLevel != 1 {
		t.Fatalf("at T1: %d fired, level %d", n, e.alert(id).EscalationLevel)
	}
	if len(e.store.Notifications()) != 0 {
		t.Fatal("level 1 notified outside")
	}
	if n := e.fireDue(at(120 * time.Second)); n != 1 || e.alert(id).EscalationLevel != 2 {
		t.Fatalf("at T2: %d fired, level %d", n, e.alert(id).EscalationLevel)
	}
	ns := e.store.Notifications()
	if len(ns) != 1 || ns[0].Level != 2 || ns[0].AlertID != id || !ns[0].NextAttempt.Equal(at(120*time.Second)) {
		t.Fatalf("notifications %+v", ns)
	}
	var body map[string]any
	if err := json.Unmarshal(ns[0].Payload, &body); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"alert": 1.0, "kind": "sos", "severity": "critical", "device_id": "sos-1",
		"address": "Willow Lane / G3 / 7 / 2 / 5 / 502", "resident": "Resident of sos-1", "lives_alone": true,
		"opened_at": "2026-03-01T08:00:00Z", "level": 2.0} {
		if body[k] != v {
			t.Errorf("payload %s = %v, want %v", k, body[k], v)
		}
	}
	if len(e.store.Timers()) != 0 {
		t.Errorf("timers left: %v", e.store.Timers())
	}
}

// TestAcceptedInTime: accepted before T1, an alert never escalates, even
// if a stale timer is handed in.
func TestAcceptedInTime(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{Directory: webhookRoutes})
	t1, _ := timerOf(e, alerts.TimerEscalate1)
	t2, _ := timerOf(e, alerts.TimerEscalate2)
	e.mustTransition(id, alerts.ActionAccept, at(10*time.Second))
	if len(e.store.Timers()) != 0 {
		t.Fatalf("accept left timers %v", e.store.Timers())
	}
	if a := e.fire(t1, at(30*time.Second)); a != nil {
		t.Errorf("stale escalate_1 fired: %+v", a)
	}
	if a := e.fire(t2, at(120*time.Second)); a != nil {
		t.Errorf("stale escalate_2 fired: %+v", a)
	}
	if a := e.alert(id); a.EscalationLevel != 0 || len(e.store.Notifications()) != 0 {
		t.Errorf("level %d, %d notifications", a.EscalationLevel, len(e.store.Notifications()))
	}
}

// TestTimersAfterDowntime: timers that fell due while the hub was down
// fire at start, each once; firing the same timer twice escalates once.
func TestTimersAfterDowntime(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{Directory: webhookRoutes})
	t1, _ := timerOf(e, alerts.TimerEscalate1)
	start := at(10 * time.Minute)
	if n := e.fireDue(start); n != 2 {
		t.Fatalf("%d timers fired at start, want 2", n)
	}
	if n := e.fireDue(start.Add(time.Second)); n != 0 {
		t.Fatalf("%d timers fired again", n)
	}
	if a := e.fire(t1, start.Add(2*time.Second)); a != nil {
		t.Errorf("escalate_1 fired twice")
	}
	a := e.alert(id)
	if a.EscalationLevel != 2 || count(a, alerts.TimelineEscalated) != 2 || len(e.store.Notifications()) != 1 {
		t.Errorf("level %d, %d escalated entries, %d notifications; want 2, 2, 1",
			a.EscalationLevel, count(a, alerts.TimelineEscalated), len(e.store.Notifications()))
	}
}

// TestFireTimerTwice: a timer handed in twice (two runners, a retry)
// escalates once.
func TestFireTimerTwice(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{})
	t1, _ := timerOf(e, alerts.TimerEscalate1)
	if a := e.fire(t1, at(30*time.Second)); a == nil || a.EscalationLevel != 1 {
		t.Fatalf("first fire: %+v", a)
	}
	if a := e.fire(t1, at(31*time.Second)); a != nil {
		t.Fatalf("second fire changed the alert")
	}
	if n := count(e.alert(id), alerts.TimelineEscalated); n != 1 {
		t.Errorf("%d escalated entries", n)
	}
}

// TestNoWebhook: level 2 with nobody configured to tell says so on the
// timeline, as a code naming the party and why, not in words.
func TestNoWebhook(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{})
	e.fireDue(at(2 * time.Minute))
	a := e.alert(id)
	last := a.Timeline[len(a.Timeline)-1]
	if a.EscalationLevel != 2 || last.Action != alerts.TimelineNotifyUnrouted || last.Note != "" || last.Actor != alerts.System ||
		last.Data["level"] != "2" || last.Data["party"] != alerts.PartyStreetLeader || last.Data["reason"] != alerts.NotConfigured ||
		len(e.store.Notifications()) != 0 {
		t.Errorf("level %d, last entry %+v", a.EscalationLevel, last)
	}
}

// TestReminders: a dispatched alert not resolved is reminded every R,
// re-armed each time; a late firing (downtime) reminds once and re-arms
// to the next step; resolving stops it.
func TestReminders(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{})
	e.mustTransition(id, alerts.ActionAccept, at(10*time.Second))
	dispatched := at(20 * time.Second)
	e.mustTransition(id, alerts.ActionDispatch, dispatched)
	r := 15 * time.Minute
	rem, ok := timerOf(e, alerts.TimerReminder)
	if !ok || !rem.Due.Equal(dispatched.Add(r)) {
		t.Fatalf("reminder %+v, want due %v", rem, dispatched.Add(r))
	}
	if a := e.fire(rem, rem.Due); a == nil || count(a, alerts.TimelineReminder) != 1 {
		t.Fatalf("first reminder: %+v", a)
	}
	next, _ := timerOf(e, alerts.TimerReminder)
	if !next.Due.Equal(dispatched.Add(2 * r)) {
		t.Fatalf("re-armed at %v, want %v", next.Due, dispatched.Add(2*r))
	}
	if a := e.fire(rem, rem.Due.Add(time.Second)); a != nil {
		t.Error("the same reminder noted twice")
	}
	late := dispatched.Add(5*r + r/2)
	if a := e.fire(next, late); a == nil || count(a, alerts.TimelineReminder) != 2 {
		t.Fatalf("late reminder: %+v", a)
	}
	if got, _ := timerOf(e, alerts.TimerReminder); !got.Due.Equal(dispatched.Add(6 * r)) {
		t.Fatalf("re-armed after downtime at %v, want %v", got.Due, dispatched.Add(6*r))
	}
	e.mustTransition(id, alerts.ActionResolve, late.Add(time.Minute))
	if ts := e.store.Timers(); len(ts) != 1 || ts[0].Kind != alerts.TimerFollowUp {
		t.Errorf("resolve left timers %v; want only the follow-up's", ts)
	}
	if a := e.fire(next, late.Add(time.Hour)); a != nil {
		t.Error("a reminder fired for a resolved alert")
	}
}

// TestNotificationBackoff: failures retry after 5 s, doubling, at most
// 5 min, and give up after MaxNotifyAttempts, each attempt on the
// timeline.
func TestNotificationBackoff(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{Directory: webhookRoutes, MaxNotifyAttempts: 9})
	e.fireDue(at(2 * time.Minute))
	now := at(2 * time.Minute)
	waits := []time.Duration{5, 10, 20, 40, 80, 160, 300, 300}
	for i, w := range waits {
		ns := e.store.Notifications()
		if len(ns) != 1 || ns[0].Attempts != i {
			t.Fatalf("attempt %d: notifications %+v", i+1, ns)
		}
		if !ns[0].NextAttempt.Equal(now) {
			t.Fatalf("attempt %d due %v, want %v", i+1, ns[0].NextAttempt, now)
		}
		status, err := 503, error(nil)
		if i%2 == 1 {
			status, err = 0, errors.New("dial tcp: connection refused")
		}
		e.notify(ns[0], status, err, now)
		now = now.Add(w * time.Second)
	}
	ns := e.store.Notifications()
	e.notify(ns[0], 500, nil, now)
	if left := e.store.Notifications(); len(left) != 0 {
		t.Fatalf("not given up after 9 attempts: %+v", left)
	}
	a := e.alert(id)
	if count(a, alerts.TimelineNotifyAttempt) != 9 || count(a, alerts.TimelineNotifyFailed) != 9 || count(a, alerts.TimelineNotifyGaveUp) != 1 {
		t.Errorf("timeline %v", actions(a))
	}
	failed := a.Timeline[slices.IndexFunc(a.Timeline, func(en alerts.TimelineEntry) bool { return en.Action == alerts.TimelineNotifyFailed })]
	if failed.Data["error"] != alerts.NotifyErrorStatus || failed.Data["status"] != "503" || failed.Data["next"] != "2026-03-01T08:02:05Z" {
		t.Errorf("first failure %+v", failed.Data)
	}
}

func TestNotificationDelivered(t *testing.T) {
	e, id := pressEnv(t, alerts.Config{Directory: webhookRoutes})
	e.fireDue(at(2 * time.Minute))
	n := e.store.Notifications()[0]
	if a := e.notify(n, 200, nil, at(2*time.Minute)); a == nil || a.Version != e.alert(id).Version {
		t.Fatalf("returned %+v", a)
	}
	if len(e.store.Notifications()) != 0 {
		t.Error("delivered notification kept")
	}
	a := e.alert(id)
	last := a.Timeline[len(a.Timeline)-1]
	if last.Action != alerts.TimelineNotifyDelivered || last.Data["status"] != "200" || last.Data["attempt"] != "1" {
		t.Errorf("last entry %+v", last)
	}
	// Recorded twice (a retry after a crash): the second finds nothing.
	if a := e.notify(n, 200, nil, at(2*time.Minute)); a != nil {
		t.Error("a notification recorded twice")
	}
}

func (e *env) notify(n *alerts.Notification, status int, sendErr error, now time.Time) *alerts.Alert {
	e.t.Helper()
	var a *alerts.Alert
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		a, err = e.svc.NotificationResult(context.Background(), tx, n, status, sendErr, now)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// TestFailedStepRollsBack: when one store call fails, HandleMessage
// fails and nothing it did is kept.
func TestFailedStepRollsBack(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	d := device("sos-1", devices.KindSOSButton, false)
	e.store.SetFail(func(op string) error {
		if op == "SetTimer" {
			return errors.New("disk full")
		}
		return nil
	})
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		_, err := e.svc.HandleMessage(context.Background(), tx, d, eventMsg(d, 1, devices.EventSOS, at(0)))
		return err
	})
	if err == nil {
		t.Fatal("no error")
	}
	if n, _ := e.store.LastChangeSeq(context.Background()); n != 0 || len(e.store.Alerts()) != 0 {
		t.Errorf("kept %d alerts, feed at %d", len(e.store.Alerts()), n)
	}
	e.store.SetFail(nil)
	if res := e.handle(d, eventMsg(d, 1, devices.EventSOS, at(0))); res.Changed[0].ID != 1 {
		t.Errorf("after the failure the alert got ID %d, want 1", res.Changed[0].ID)
	}
}
