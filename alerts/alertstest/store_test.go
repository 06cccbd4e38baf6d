package alertstest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
)

func newAlert(dev string, kind alerts.Kind, sev alerts.Severity, opened time.Time) *alerts.Alert {
	return &alerts.Alert{Kind: kind, Severity: sev, State: alerts.StateNew, DeviceID: dev,
		Device:   devices.Device{ID: dev, Location: devices.Location{Community: "c1"}},
		OpenedAt: opened, LastOccurrence: opened, Occurrences: 1, UpdatedAt: opened}
}

func create(t *testing.T, s *alertstest.Store, as ...*alerts.Alert) {
	t.Helper()
	err := s.InTx(ctx, func(tx alerts.Tx) error {
		for _, a := range as {
			if err := tx.CreateAlert(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAllOrNothing: a transaction that fails, or panics, leaves no trace:
// no alert, timeline entry, timer, notification, trigger, change or ID.
func TestAllOrNothing(t *testing.T) {
	s := alertstest.New()
	create(t, s, newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0))
	before := snapshot(t, s)
	boom := errors.New("boom")
	work := func(tx alerts.Tx) error {
		a := newAlert("d1", alerts.KindSmoke, alerts.SeverityCritical, t0)
		steps := []func() error{
			func() error { return tx.CreateAlert(ctx, a) },
			func() error { return tx.AddTimeline(ctx, a.ID, alerts.TimelineEntry{Action: "opened", At: t0}) },
			func() error { return tx.SetTimer(ctx, alerts.Timer{AlertID: 1, Kind: alerts.TimerEscalate1, Due: t0}) },
			func() error {
				return tx.EnqueueNotification(ctx, &alerts.Notification{AlertID: 1, Level: 2, NextAttempt: t0})
			},
			func() error { _, err := tx.RecordTrigger(ctx, "d1", 5, 1000); return err },
			func() error {
				old, err := tx.FindAlert(ctx, 1)
				if err != nil {
					return err
				}
				old.Version++
				old.State = alerts.StateAccepted
				return tx.UpdateAlert(ctx, old)
			},
			func() error { return tx.DeleteTimers(ctx, 1) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.InTx(ctx, func(tx alerts.Tx) error {
		if err := work(tx); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if after := snapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Fatalf("a failed transaction left a trace:\n%+v\nwas\n%+v", after, before)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic not re-raised")
			}
		}()
		_ = s.InTx(ctx, func(tx alerts.Tx) error {
			_ = work(tx)
			panic("oops")
		})
	}()
	if after := snapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Fatal("a panicking transaction left a trace")
	}
	// The same work committed gets the IDs the failed runs would have.
	var kept alerts.Tx
	if err := s.InTx(ctx, func(tx alerts.Tx) error { kept = tx; return work(tx) }); err != nil {
		t.Fatal(err)
	}
	if as := s.Alerts(); len(as) != 2 || as[1].ID != 2 || len(as[1].Timeline) != 1 || as[1].Timeline[0].ID != 1 {
		t.Errorf("after commit: %+v", as)
	}
	if seq, _ := s.LastChangeSeq(ctx); seq != 3 {
		t.Errorf("feed at %d, want 3", seq)
	}
	if _, err := kept.FindAlert(ctx, 1); err == nil {
		t.Error("a finished transaction still works")
	}
	var fresh bool
	_ = s.InTx(ctx, func(tx alerts.Tx) error {
		var err error
		fresh, err = tx.RecordTrigger(ctx, "d1", 5, 1000)
		return err
	})
	if fresh {
		t.Error("a committed trigger was fresh again")
	}
}

type storeState struct {
	Alerts  []*alerts.Alert
	Timers  []alerts.Timer
	Notifs  []*alerts.Notification
	Changes []alerts.Change
	Last    int64
}

func snapshot(t *testing.T, s *alertstest.Store) storeState {
	t.Helper()
	ch, _, err := s.ChangesSince(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := s.LastChangeSeq(ctx)
	return storeState{s.Alerts(), s.Timers(), s.Notifications(), ch, last}
}

func TestUpdateConflictsAndNotFound(t *testing.T) {
	s := alertstest.New()
	a := newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0)
	create(t, s, a)
	err := s.InTx(ctx, func(tx alerts.Tx) error {
		stale := *a // Version 1: not incremented
		return tx.UpdateAlert(ctx, &stale)
	})
	if shouwang.ErrorCode(err) != shouwang.ECONFLICT {
		t.Errorf("stale update: %v", err)
	}
	for name, fn := range map[string]func(tx alerts.Tx) error{
		"update":       func(tx alerts.Tx) error { return tx.UpdateAlert(ctx, &alerts.Alert{ID: 9, Version: 2}) },
		"timeline":     func(tx alerts.Tx) error { return tx.AddTimeline(ctx, 9, alerts.TimelineEntry{Action: "note"}) },
		"timer":        func(tx alerts.Tx) error { return tx.SetTimer(ctx, alerts.Timer{AlertID: 9, Kind: "x", Due: t0}) },
		"notification": func(tx alerts.Tx) error { return tx.DeleteNotification(ctx, 9) },
		"find":         func(tx alerts.Tx) error { _, err := tx.FindAlert(ctx, 9); return err },
		"latest":       func(tx alerts.Tx) error { _, err := tx.LatestAlert(ctx, "d1", alerts.KindSmoke); return err },
	} {
		if err := s.InTx(ctx, fn); shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
			t.Errorf("%s: %v, want not found", name, err)
		}
	}
}

// TestFeed: changes carry the alert as written, in strictly increasing
// order; pruning keeps the newest and reports the oldest kept.
func TestFeed(t *testing.T) {
	s := alertstest.New()
	s.SetKeepChanges(3)
	if _, oldest, _ := s.ChangesSince(ctx, 0, 0); oldest != 0 {
		t.Errorf("empty feed oldest %d", oldest)
	}
	for i := range 5 {
		create(t, s, newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0.Add(time.Duration(i)*time.Second)))
	}
	ch, oldest, err := s.ChangesSince(ctx, 0, 0)
	if err != nil || oldest != 3 || len(ch) != 3 || ch[0].Seq != 3 || ch[2].Seq != 5 || ch[2].Alert.ID != 5 {
		t.Fatalf("ChangesSince(0) = %+v, %d, %v", ch, oldest, err)
	}
	if !ch[0].At.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("change at %v, want the alert's UpdatedAt", ch[0].At)
	}
	if ch, _, _ := s.ChangesSince(ctx, 4, 10); len(ch) != 1 || ch[0].Seq != 5 {
		t.Errorf("ChangesSince(4) = %+v", ch)
	}
	ch[0].Alert.Kind = "mutated"
	if again, _, _ := s.ChangesSince(ctx, 4, 10); again[0].Alert.Kind != alerts.KindSOS {
		t.Error("changes share memory with the caller")
	}
}

func TestListAlertsAndStats(t *testing.T) {
	s := alertstest.New()
	minor := newAlert("d1", alerts.KindLowBattery, alerts.SeverityMinor, t0)
	crit := newAlert("d2", alerts.KindSOS, alerts.SeverityCritical, t0.Add(time.Minute))
	crit.AcceptedAt = crit.OpenedAt.Add(40 * time.Second)
	done := newAlert("d3", alerts.KindSOS, alerts.SeverityCritical, t0)
	done.State, done.AcceptedAt, done.ResolvedAt = alerts.StateResolved, t0.Add(100*time.Second), t0.Add(time.Hour)
	test := newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0)
	test.Test, test.State = true, alerts.StateClosed
	create(t, s, minor, crit, done, test)
	list, total, err := s.ListAlerts(ctx, alerts.Filter{})
	if err != nil || total != 4 || ids(list) != "2 1 3 4" {
		t.Fatalf("ListAlerts = %s of %d, %v; want open first, then severity, then oldest", ids(list), total, err)
	}
	no := false
	if list, total, _ := s.ListAlerts(ctx, alerts.Filter{Test: &no, Severity: alerts.SeverityCritical, Offset: 1, Limit: 1}); total != 2 || ids(list) != "3" {
		t.Errorf("filtered page = %s of %d", ids(list), total)
	}
	if list, _, _ := s.ListAlerts(ctx, alerts.Filter{From: t0.Add(time.Second), Community: "c1"}); ids(list) != "2" {
		t.Errorf("from filter = %s", ids(list))
	}
	st, err := s.AnswerStats(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := alerts.AnswerStats{From: t0, To: t0.Add(time.Hour), Alerts: 3, Accepted: 2, Resolved: 1, Within60s: 1, Within180s: 2,
		MedianAccept: 70 * time.Second, MedianResolve: time.Hour}
	if st != want {
		t.Errorf("AnswerStats = %+v, want %+v", st, want)
	}
	latched, _ := s.UnclearedLatest(ctx, alerts.KindLowBattery)
	if ids(latched) != "1" {
		t.Errorf("UnclearedLatest = %s", ids(latched))
	}
}

func TestTimersAndNotifications(t *testing.T) {
	s := alertstest.New()
	create(t, s, newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0), newAlert("d2", alerts.KindSOS, alerts.SeverityCritical, t0))
	err := s.InTx(ctx, func(tx alerts.Tx) error {
		for _, tm := range []alerts.Timer{
			{AlertID: 2, Kind: alerts.TimerEscalate1, Due: t0.Add(30 * time.Second)},
			{AlertID: 1, Kind: alerts.TimerEscalate2, Due: t0.Add(120 * time.Second)},
			{AlertID: 1, Kind: alerts.TimerEscalate1, Due: t0.Add(10 * time.Second)},
			{AlertID: 1, Kind: alerts.TimerEscalate1, Due: t0.Add(30 * time.Second)}, // moves it
		} {
			if err := tx.SetTimer(ctx, tm); err != nil {
				return err
			}
		}
		n := &alerts.Notification{AlertID: 1, Level: 2, NextAttempt: t0.Add(time.Minute), Payload: []byte(`{}`)}
		if err := tx.EnqueueNotification(ctx, n); err != nil {
			return err
		}
		n.Attempts, n.NextAttempt, n.Payload = 1, t0.Add(2*time.Minute), []byte("changed")
		return tx.UpdateNotification(ctx, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	due, _ := s.DueTimers(ctx, t0.Add(30*time.Second), 0)
	if len(due) != 2 || due[0].AlertID != 1 || due[1].AlertID != 2 {
		t.Errorf("DueTimers = %+v", due)
	}
	if next, ok, _ := s.NextTimer(ctx); !ok || !next.Equal(t0.Add(30*time.Second)) {
		t.Errorf("NextTimer = %v", next)
	}
	ns, _ := s.DueNotifications(ctx, t0.Add(2*time.Minute), 0)
	if len(ns) != 1 || ns[0].Attempts != 1 || string(ns[0].Payload) != `{}` {
		t.Errorf("DueNotifications = %+v", ns)
	}
	_ = s.InTx(ctx, func(tx alerts.Tx) error { return tx.DeleteTimers(ctx, 1, alerts.TimerEscalate1) })
	if ts := s.Timers(); len(ts) != 2 || ts[1].Kind != alerts.TimerEscalate2 {
		t.Errorf("after deleting one: %+v", ts)
	}
}

func ids(as []*alerts.Alert) string {
	s := ""
	for i, a := range as {
		if i > 0 {
			s += " "
		}
		s += string(rune('0' + a.ID))
	}
	return s
}

// TestCallCopied: the store keeps its own copy of an alert's call, with
// times cut to the millisecond in UTC, on every read and on the feed.
func TestCallCopied(t *testing.T) {
	s := alertstest.New()
	a := newAlert("d1", alerts.KindSOS, alerts.SeverityCritical, t0)
	started := t0.Add(1500 * time.Microsecond).In(time.FixedZone("CST", 8*3600))
	a.Call = &alerts.CallRef{ID: "c1", State: alerts.CallRinging, StartedAt: started}
	create(t, s, a)
	a.Call.State = "mutated by the caller"

	want := alerts.CallRef{ID: "c1", State: alerts.CallRinging, StartedAt: t0.Add(time.Millisecond)}
	got, err := s.FindAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Call == nil || *got.Call != want {
		t.Fatalf("FindAlert call = %+v, want %+v", got.Call, want)
	}
	got.Call.State = "mutated by a reader"
	list, _, err := s.ListAlerts(ctx, alerts.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenAlertsAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, _, err := s.ChangesSince(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*alerts.CallRef{"ListAlerts": list[0].Call, "OpenAlertsAll": open[0].Call, "ChangesSince": changes[0].Alert.Call} {
		if c == nil || *c != want {
			t.Errorf("%s call = %+v, want %+v", name, c, want)
		}
	}
}
