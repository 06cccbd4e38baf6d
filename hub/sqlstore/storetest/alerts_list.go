package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

func testListAlerts(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	m := time.Minute
	mk := func(n int, kind alerts.Kind, sev alerts.Severity, st alerts.State, community string, opened time.Duration) *alerts.Alert {
		a := newAlert(fmt.Sprintf("d%d", n), community, kind, sev, t0.Add(opened))
		a.State = st
		return a
	}
	a1 := mk(1, alerts.KindSOS, alerts.SeverityCritical, alerts.StateNew, "c1", 10*m)
	a2 := mk(2, alerts.KindSmoke, alerts.SeverityCritical, alerts.StateAccepted, "c2", 5*m)
	a3 := mk(3, alerts.KindGasLow, alerts.SeverityMajor, alerts.StateNew, "c1", 1*m)
	a4 := mk(4, alerts.KindFault, alerts.SeverityMajor, alerts.StateDispatched, "c1", 2*m)
	a5 := mk(5, alerts.KindLowBattery, alerts.SeverityMinor, alerts.StateNew, "c2", 0)
	a6 := mk(6, alerts.KindSOS, alerts.SeverityCritical, alerts.StateClosed, "c1", 0)
	a7 := mk(7, alerts.KindSOS, alerts.SeverityCritical, alerts.StateResolved, "c1", 3*m)
	a8 := mk(8, alerts.KindSOS, alerts.SeverityCritical, alerts.StateNew, "c1", 4*m)
	a8.Test = true
	a9 := mk(9, alerts.KindTamper, alerts.SeverityMajor, alerts.StateResolved, "c2", 20*m)
	createAlerts(t, s, a1, a2, a3, a4, a5, a6, a7, a8, a9)

	no, yes := false, true
	cases := []struct {
		name  string
		f     alerts.Filter
		want  []*alerts.Alert
		total int
	}{
		{"everything, most urgent first", alerts.Filter{}, []*alerts.Alert{a8, a2, a1, a3, a4, a5, a6, a7, a9}, 9},
		{"new", alerts.Filter{States: []alerts.State{alerts.StateNew}}, []*alerts.Alert{a8, a1, a3, a5}, 4},
		{"resolved or closed", alerts.Filter{States: []alerts.State{alerts.StateResolved, alerts.StateClosed}}, []*alerts.Alert{a6, a7, a9}, 3},
		{"major", alerts.Filter{Severity: alerts.SeverityMajor}, []*alerts.Alert{a3, a4, a9}, 3},
		{"sos", alerts.Filter{Kind: alerts.KindSOS}, []*alerts.Alert{a8, a1, a6, a7}, 4},
		{"community c2", alerts.Filter{Community: "c2"}, []*alerts.Alert{a2, a5, a9}, 3},
		{"device", alerts.Filter{DeviceID: "d4"}, []*alerts.Alert{a4}, 1},
		{"tests only", alerts.Filter{Test: &yes}, []*alerts.Alert{a8}, 1},
		{"no tests", alerts.Filter{Test: &no}, []*alerts.Alert{a2, a1, a3, a4, a5, a6, a7, a9}, 8},
		{"period", alerts.Filter{From: t0.Add(2 * m), To: t0.Add(10 * m)}, []*alerts.Alert{a8, a2, a4, a7}, 4},
		{"open real alerts of c1", alerts.Filter{Community: "c1", Test: &no,
			States: []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched}}, []*alerts.Alert{a1, a3, a4}, 3},
		{"page", alerts.Filter{Offset: 2, Limit: 3}, []*alerts.Alert{a1, a3, a4}, 9},
		{"past the end", alerts.Filter{Offset: 9}, nil, 9},
		{"nothing matches", alerts.Filter{Community: "nowhere"}, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, total, err := s.ListAlerts(ctx(t), c.f)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := alertIDs(got), alertIDs(c.want); !reflect.DeepEqual(g, w) || total != c.total {
				t.Errorf("got %v of %d, want %v of %d", g, total, w, c.total)
			}
			for _, a := range got {
				if a.Timeline != nil {
					t.Errorf("alert %d listed with its timeline", a.ID)
				}
			}
		})
	}
	if _, _, err := s.ListAlerts(ctx(t), alerts.Filter{Limit: -1}); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("negative limit: %v", err)
	}
	// The community filter reads the snapshot's community, kept through
	// updates.
	a5.Version++
	a5.State = alerts.StateAccepted
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), a5) }))
	if got, _, err := s.ListAlerts(ctx(t), alerts.Filter{Community: "c2", States: []alerts.State{alerts.StateAccepted}}); err != nil || !reflect.DeepEqual(alertIDs(got), []int64{a2.ID, a5.ID}) {
		t.Errorf("after update: %v, %v", alertIDs(got), err)
	}
}

func testAnswerStats(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	sec, m := time.Second, time.Minute
	mk := func(opened, accept, dispatch, resolve time.Duration, test bool) *alerts.Alert {
		a := newAlert("d", "c", alerts.KindSOS, alerts.SeverityCritical, t0.Add(opened))
		a.Test = test
		at := func(d time.Duration) time.Time {
			if d == 0 {
				return time.Time{}
			}
			return a.OpenedAt.Add(d)
		}
		a.AcceptedAt, a.DispatchedAt, a.ResolvedAt = at(accept), at(dispatch), at(resolve)
		return a
	}
	createAlerts(t, s,
		mk(0, 30*sec, 2*m, 20*m, false),
		mk(1*m, 60*sec, 5*m, 40*m, false), // exactly 60 s counts as within
		mk(2*m, 61*sec, 0, 10*m, false),
		mk(3*m, 180*sec, 4*m, 0, false), // exactly 180 s counts as within
		mk(4*m, 181*sec, 6*m, 0, false),
		mk(5*m, 0, 0, 0, false),                // never accepted
		mk(6*m, 1*sec, 2*sec, 3*sec, true),     // a test: left out
		mk(-1*sec, 1*sec, 2*sec, 3*sec, false), // before the period
		mk(time.Hour, 1*sec, 0, 0, false),      // at its end, which is excluded
	)
	got, err := s.AnswerStats(ctx(t), t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := alerts.AnswerStats{
		From: t0, To: t0.Add(time.Hour),
		Alerts: 6, Accepted: 5, Dispatched: 4, Resolved: 3, Within60s: 2, Within180s: 4,
		MedianAccept:   61 * sec,     // 30, 60, 61, 180, 181 s
		MedianDispatch: 4*m + 30*sec, // 2, 4, 5, 6 min: the mean of 4 and 5
		MedianResolve:  20 * m,       // 10, 20, 40 min
	}
	if got != want {
		t.Errorf("AnswerStats:\n got %+v\nwant %+v", got, want)
	}
	empty, err := s.AnswerStats(ctx(t), t0.Add(-time.Hour), t0.Add(-time.Minute))
	if err != nil || empty.Alerts != 0 || empty.MedianAccept != 0 {
		t.Errorf("empty period: %+v, %v", empty, err)
	}
}

func testTimers(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a1 := newAlert("d1", "c", alerts.KindSOS, alerts.SeverityCritical, t0)
	a2 := newAlert("d2", "c", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, a1, a2)
	if _, ok, err := s.NextTimer(ctx(t)); ok || err != nil {
		t.Fatalf("no timers: NextTimer = %v, %v", ok, err)
	}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		for _, tm := range []alerts.Timer{
			{AlertID: a1.ID, Kind: alerts.TimerEscalate1, Due: t0.Add(30 * time.Second)},
			{AlertID: a1.ID, Kind: alerts.TimerEscalate2, Due: t0.Add(120 * time.Second)},
			{AlertID: a2.ID, Kind: alerts.TimerReminder, Due: t0.Add(10 * time.Second)},
			{AlertID: a1.ID, Kind: alerts.TimerEscalate1, Due: t0.Add(5 * time.Second)}, // moved
		} {
			if err := tx.SetTimer(ctx(t), tm); err != nil {
				return err
			}
		}
		return nil
	}))

	due := func(now time.Duration, limit int) []alerts.Timer {
		t.Helper()
		ts, err := s.DueTimers(ctx(t), t0.Add(now), limit)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	esc1 := alerts.Timer{AlertID: a1.ID, Kind: alerts.TimerEscalate1, Due: t0.Add(5 * time.Second)}
	esc2 := alerts.Timer{AlertID: a1.ID, Kind: alerts.TimerEscalate2, Due: t0.Add(120 * time.Second)}
	rem := alerts.Timer{AlertID: a2.ID, Kind: alerts.TimerReminder, Due: t0.Add(10 * time.Second)}
	for _, c := range []struct {
		now   time.Duration
		limit int
		want  []alerts.Timer
	}{
		{4 * time.Second, 0, nil},
		{5 * time.Second, 0, []alerts.Timer{esc1}}, // due at now counts
		{30 * time.Second, 0, []alerts.Timer{esc1, rem}},
		{time.Hour, 0, []alerts.Timer{esc1, rem, esc2}},
		{time.Hour, 2, []alerts.Timer{esc1, rem}},
	} {
		if got := due(c.now, c.limit); !reflect.DeepEqual(got, c.want) {
			t.Errorf("DueTimers(+%v, %d) = %+v, want %+v", c.now, c.limit, got, c.want)
		}
	}
	if next, ok, err := s.NextTimer(ctx(t)); err != nil || !ok || !next.Equal(esc1.Due) {
		t.Errorf("NextTimer = %v, %v, %v; want %v", next, ok, err, esc1.Due)
	}

	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.DeleteTimers(ctx(t), a1.ID, alerts.TimerEscalate1) }))
	if got := due(time.Hour, 0); !reflect.DeepEqual(got, []alerts.Timer{rem, esc2}) {
		t.Errorf("after deleting escalate_1: %+v", got)
	}
	// Deleting a kind that is not set is no error; no kinds means all.
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		if err := tx.DeleteTimers(ctx(t), a2.ID, alerts.TimerEscalate1, alerts.TimerEscalate2); err != nil {
			return err
		}
		return tx.DeleteTimers(ctx(t), a1.ID)
	}))
	if got := due(time.Hour, 0); !reflect.DeepEqual(got, []alerts.Timer{rem}) {
		t.Errorf("after deleting a1's timers: %+v", got)
	}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.DeleteTimers(ctx(t), a2.ID, alerts.TimerReminder) }))
	if _, ok, err := s.NextTimer(ctx(t)); ok || err != nil {
		t.Errorf("all deleted: NextTimer = %v, %v", ok, err)
	}
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		return tx.SetTimer(ctx(t), alerts.Timer{AlertID: a1.ID, Kind: alerts.TimerReminder})
	})
	wantCode(t, err, shouwang.EINVALID)
}

func testNotifications(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a1 := newAlert("d1", "c", alerts.KindSOS, alerts.SeverityCritical, t0)
	a2 := newAlert("d2", "c", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, a1, a2)
	n1 := &alerts.Notification{AlertID: a1.ID, Level: 2, NextAttempt: t0, Payload: []byte(`{"alert":1,"text":"紧急呼叫"}`),
		Party: alerts.PartyGridWorker, Channel: "sms", To: "138-0000-1111", Lang: "en"}
	n2 := &alerts.Notification{AlertID: a2.ID, Level: 2, NextAttempt: t0.Add(10 * time.Second), Payload: []byte(`{"alert":2}`),
		Party: alerts.PartyStreetLeader, Channel: "leaders"}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		if err := tx.EnqueueNotification(ctx(t), n1); err != nil {
			return err
		}
		return tx.EnqueueNotification(ctx(t), n2)
	}))
	if n1.ID == 0 || n2.ID == 0 || n1.ID == n2.ID {
		t.Fatalf("IDs %d, %d", n1.ID, n2.ID)
	}
	due := func(now time.Duration) []*alerts.Notification {
		t.Helper()
		ns, err := s.DueNotifications(ctx(t), t0.Add(now), 0)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	if got := due(0); len(got) != 1 || !reflect.DeepEqual(got[0], n1) {
		t.Errorf("DueNotifications(t0) = %+v, want %+v", got, n1)
	}

	// A failed attempt moves n1 after n2.
	n1.Attempts, n1.NextAttempt = 1, t0.Add(20*time.Second)
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateNotification(ctx(t), n1) }))
	if got := due(15 * time.Second); len(got) != 1 || got[0].ID != n2.ID {
		t.Errorf("DueNotifications(+15s) = %+v, want n2", got)
	}
	if got := due(time.Minute); len(got) != 2 || got[0].ID != n2.ID || !reflect.DeepEqual(got[1], n1) {
		t.Errorf("DueNotifications(+1m) = %+v", got)
	}
	if next, ok, err := s.NextNotification(ctx(t)); err != nil || !ok || !next.Equal(n2.NextAttempt) {
		t.Errorf("NextNotification = %v, %v, %v", next, ok, err)
	}

	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.DeleteNotification(ctx(t), n2.ID) }))
	if next, ok, err := s.NextNotification(ctx(t)); err != nil || !ok || !next.Equal(n1.NextAttempt) {
		t.Errorf("after delete: NextNotification = %v, %v, %v", next, ok, err)
	}
	err := s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.DeleteNotification(ctx(t), n2.ID) })
	wantCode(t, err, shouwang.ENOTFOUND)
	err = s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateNotification(ctx(t), n2) })
	wantCode(t, err, shouwang.ENOTFOUND)
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.DeleteNotification(ctx(t), n1.ID) }))
	if _, ok, err := s.NextNotification(ctx(t)); ok || err != nil {
		t.Errorf("none left: NextNotification = %v, %v", ok, err)
	}
}
