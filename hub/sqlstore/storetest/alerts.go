package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// newAlert returns a new alert of a device in a community, opened at.
func newAlert(deviceID, community string, kind alerts.Kind, sev alerts.Severity, opened time.Time) *alerts.Alert {
	d := device(deviceID, community, "g1", "b1")
	return &alerts.Alert{
		Kind: kind, Severity: sev, Priority: 3 - sev.Rank() + 1, State: alerts.StateNew,
		DeviceID: deviceID, Device: *d,
		OpenedAt: opened, LastOccurrence: opened, Occurrences: 1, UpdatedAt: opened,
	}
}

// createAlerts stores as in one transaction each, with an "opened" entry.
func createAlerts(t *testing.T, s AlertStore, as ...*alerts.Alert) {
	t.Helper()
	for _, a := range as {
		err := s.InTx(ctx(t), func(tx alerts.Tx) error {
			if err := tx.CreateAlert(ctx(t), a); err != nil {
				return err
			}
			return tx.AddTimeline(ctx(t), a.ID, alerts.TimelineEntry{At: a.OpenedAt, Actor: alerts.System, Action: alerts.TimelineOpened})
		})
		if err != nil {
			t.Fatalf("create alert: %v", err)
		}
	}
}

var alertTables = []string{"alerts", "alert_timeline", "alert_timers", "alert_notifications", "alert_changes", "alert_triggers", "events",
	"alert_workers", "alert_photos"}

func testAlertRoundTrip(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a := newAlert("gas-7", "Sunflower", alerts.KindGasHigh, alerts.SeverityCritical, t0)
	a.Device.Kind = devices.KindGas
	a.Device.CreatedAt = t0.Add(-48 * time.Hour)
	a.Priority, a.Occurrences, a.Reading = 1, 4, ptr(31.5)
	a.LastOccurrence = t0.Add(90 * time.Second)
	a.Cleared, a.ClearedAt = true, t0.Add(10*time.Minute)
	a.EscalationLevel, a.Assignee, a.DispatchedTo, a.Outcome = 2, "zhang", "gas company", alerts.OutcomeGenuine
	a.State = alerts.StateResolved
	a.AcceptedAt, a.DispatchedAt, a.ResolvedAt = t0.Add(40*time.Second), t0.Add(2*time.Minute), t0.Add(30*time.Minute)
	a.UpdatedAt = a.ResolvedAt
	timeline := []alerts.TimelineEntry{
		{At: t0, Actor: alerts.System, Action: alerts.TimelineOpened, Data: map[string]string{"lel": "12", "seq": "41"}},
		{At: t0.Add(40 * time.Second), Actor: alerts.Actor{Name: "zhang", Role: "operator"}, Action: alerts.TimelineAccepted, Note: "calling the resident 王芳"},
		{At: t0.Add(40 * time.Second), Actor: alerts.System, Action: alerts.TimelineDeviceAck},
		{At: t0.Add(30 * time.Minute), Actor: alerts.Actor{Name: "zhang", Role: "operator"}, Action: alerts.TimelineResolved},
	}
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		if err := tx.CreateAlert(ctx(t), a); err != nil {
			return err
		}
		for _, e := range timeline {
			if err := tx.AddTimeline(ctx(t), a.ID, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Version != 1 {
		t.Fatalf("after create: ID %d, Version %d; want an ID and version 1", a.ID, a.Version)
	}

	got, err := s.FindAlert(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Timeline {
		if got.Timeline[i].ID == 0 || (i > 0 && got.Timeline[i].ID <= got.Timeline[i-1].ID) {
			t.Errorf("timeline IDs not increasing: %+v", got.Timeline)
		}
		got.Timeline[i].ID = 0
	}
	want := *a
	want.Timeline = timeline
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("FindAlert:\n got %+v\nwant %+v", got, &want)
	}
	// The same through a transaction.
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		in, err := tx.FindAlert(ctx(t), a.ID)
		if err != nil {
			return err
		}
		if len(in.Timeline) != len(timeline) || in.Timeline[1].Note != timeline[1].Note || in.Device.Resident.Name != "Wang Fang" {
			t.Errorf("Tx.FindAlert = %+v", in)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = s.FindAlert(ctx(t), a.ID+100)
	wantCode(t, err, shouwang.ENOTFOUND)
	if !strings.Contains(err.Error(), fmt.Sprint(a.ID+100)) {
		t.Errorf("not-found error does not name the alert: %v", err)
	}
}

func testUpdateAlertVersion(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a := newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, a)

	accepted := *a
	accepted.State, accepted.Assignee, accepted.AcceptedAt = alerts.StateAccepted, "li", t0.Add(20*time.Second)
	accepted.UpdatedAt, accepted.Version = accepted.AcceptedAt, 2
	if err := s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), &accepted) }); err != nil {
		t.Fatalf("UpdateAlert at version 2: %v", err)
	}

	// The same write again is based on version 1, which is gone.
	stale := *a
	stale.State, stale.Assignee, stale.Version = alerts.StateAccepted, "wu", 2
	err := s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), &stale) })
	wantCode(t, err, shouwang.ECONFLICT)
	if want := fmt.Sprintf("alert %d changed meanwhile", a.ID); shouwang.ErrorMessage(err) != want {
		t.Errorf("conflict message = %q, want %q", shouwang.ErrorMessage(err), want)
	}
	got, err := s.FindAlert(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Assignee != "li" || got.Version != 2 || got.State != alerts.StateAccepted || !got.AcceptedAt.Equal(accepted.AcceptedAt) {
		t.Errorf("after conflict: %+v", got)
	}

	missing := *a
	missing.ID, missing.Version = a.ID+1, 2
	err = s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), &missing) })
	wantCode(t, err, shouwang.ENOTFOUND)

	// Everything that points at an alert refuses an unknown one by name.
	for name, fn := range map[string]func(alerts.Tx) error{
		"AddTimeline": func(tx alerts.Tx) error {
			return tx.AddTimeline(ctx(t), 999, alerts.TimelineEntry{At: t0, Action: alerts.TimelineNote})
		},
		"SetTimer": func(tx alerts.Tx) error {
			return tx.SetTimer(ctx(t), alerts.Timer{AlertID: 999, Kind: alerts.TimerEscalate1, Due: t0})
		},
		"EnqueueNotification": func(tx alerts.Tx) error {
			return tx.EnqueueNotification(ctx(t), &alerts.Notification{AlertID: 999, Level: 2, NextAttempt: t0})
		},
	} {
		err := s.InTx(ctx(t), fn)
		wantCode(t, err, shouwang.ENOTFOUND)
		if !strings.Contains(err.Error(), "999") {
			t.Errorf("%s: error does not name the alert: %v", name, err)
		}
	}
}

func testOpenAndLatestAlerts(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	old := newAlert("d1", "c1", alerts.KindSmoke, alerts.SeverityCritical, t0)
	old.State = alerts.StateClosed
	smoke := newAlert("d1", "c1", alerts.KindSmoke, alerts.SeverityCritical, t0.Add(time.Hour))
	smoke.State = alerts.StateDispatched
	battery := newAlert("d1", "c1", alerts.KindLowBattery, alerts.SeverityMinor, t0.Add(2*time.Hour))
	resolved := newAlert("d1", "c1", alerts.KindFault, alerts.SeverityMajor, t0.Add(3*time.Hour))
	resolved.State = alerts.StateResolved
	other := newAlert("d2", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, old, smoke, battery, resolved, other)

	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		open, err := tx.OpenAlerts(ctx(t), "d1")
		if err != nil {
			return err
		}
		if len(open) != 2 || open[0].ID != smoke.ID || open[1].ID != battery.ID || open[0].Timeline != nil {
			t.Errorf("OpenAlerts(d1) = %v", alertIDs(open))
		}
		latest, err := tx.LatestAlert(ctx(t), "d1", alerts.KindSmoke)
		if err != nil {
			return err
		}
		if latest.ID != smoke.ID {
			t.Errorf("LatestAlert(d1, smoke) = %d, want %d", latest.ID, smoke.ID)
		}
		_, err = tx.LatestAlert(ctx(t), "d2", alerts.KindSmoke)
		wantCode(t, err, shouwang.ENOTFOUND)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.OpenAlertsAll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := alertIDs(all), []int64{smoke.ID, battery.ID, other.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("OpenAlertsAll = %v, want %v", got, want)
	}
}

func testUnclearedLatest(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	bat := func(dev string, opened time.Duration, cleared bool) *alerts.Alert {
		a := newAlert(dev, "c1", alerts.KindLowBattery, alerts.SeverityMinor, t0.Add(opened))
		a.Cleared = cleared
		return a
	}
	d1old, d1new := bat("d1", 0, false), bat("d1", time.Hour, false)        // latest uncleared
	d2old, d2new := bat("d2", 0, false), bat("d2", time.Hour, true)         // latest cleared
	d3a, d3b := bat("d3", time.Hour, true), bat("d3", time.Hour, false)     // same time: higher ID wins
	d4 := newAlert("d4", "c1", alerts.KindSOS, alerts.SeverityCritical, t0) // another kind
	createAlerts(t, s, d1old, d1new, d2old, d2new, d3a, d3b, d4)
	got, err := s.UnclearedLatest(ctx(t), alerts.KindLowBattery)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := alertIDs(got), []int64{d1new.ID, d3b.ID}; !reflect.DeepEqual(g, w) {
		t.Errorf("UnclearedLatest = %v, want %v", g, w)
	}
}

func alertIDs(as []*alerts.Alert) []int64 {
	out := make([]int64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// accept moves a to accepted by name, as the Service would.
func accept(a *alerts.Alert, name string) {
	a.State, a.Assignee, a.AcceptedAt, a.Version = alerts.StateAccepted, name, t0.Add(time.Minute), a.Version+1
}

func testConcurrentAcceptsOneWins(t *testing.T, open func(*testing.T) AlertStore) {
	const n = 50
	t.Run("read in the transaction", func(t *testing.T) {
		s := open(t)
		a := newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
		createAlerts(t, s, a)
		var (
			wg                    sync.WaitGroup
			mu                    sync.Mutex
			winners, sawAccepted  int
			unexpected            []error
			winner, seenAssignees = "", map[string]bool{}
		)
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("op%02d", i)
				err := s.InTx(ctx(t), func(tx alerts.Tx) error {
					cur, err := tx.FindAlert(ctx(t), a.ID)
					if err != nil {
						return err
					}
					if cur.State != alerts.StateNew {
						mu.Lock()
						sawAccepted++
						seenAssignees[cur.Assignee] = true
						mu.Unlock()
						return nil
					}
					accept(cur, name)
					if err := tx.UpdateAlert(ctx(t), cur); err != nil {
						return err
					}
					mu.Lock()
					winners++
					winner = name
					mu.Unlock()
					return tx.AddTimeline(ctx(t), a.ID, alerts.TimelineEntry{At: cur.AcceptedAt, Actor: alerts.Actor{Name: name, Role: "operator"}, Action: alerts.TimelineAccepted})
				})
				if err != nil && shouwang.ErrorCode(err) != shouwang.ECONFLICT {
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(unexpected) > 0 {
			t.Fatalf("unexpected errors: %v", unexpected)
		}
		if winners != 1 || sawAccepted != n-1 {
			t.Fatalf("winners %d, saw accepted %d; want 1 and %d", winners, sawAccepted, n-1)
		}
		if len(seenAssignees) != 1 || !seenAssignees[winner] {
			t.Errorf("losers saw assignees %v, want only %s", seenAssignees, winner)
		}
		checkOneAccept(t, s, a.ID, winner)
	})
	t.Run("stale read", func(t *testing.T) {
		s := open(t)
		a := newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
		createAlerts(t, s, a)
		var (
			wg, read        sync.WaitGroup
			mu              sync.Mutex
			conflicts       int
			winners, others []string
		)
		read.Add(n)
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("op%02d", i)
				// Every operator reads the alert outside the transaction
				// before anyone writes, as two consoles showing it would.
				cur, err := s.FindAlert(ctx(t), a.ID)
				read.Done()
				if err != nil {
					mu.Lock()
					others = append(others, err.Error())
					mu.Unlock()
					return
				}
				read.Wait()
				accept(cur, name)
				err = s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), cur) })
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, name)
				case shouwang.ErrorCode(err) == shouwang.ECONFLICT:
					conflicts++
				default:
					others = append(others, err.Error())
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 || conflicts != n-1 || len(others) > 0 {
			t.Fatalf("winners %v, conflicts %d, other errors %v; want 1 winner and %d conflicts", winners, conflicts, others, n-1)
		}
		got, err := s.FindAlert(ctx(t), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Assignee != winners[0] || got.Version != 2 {
			t.Errorf("stored assignee %q version %d, want %q 2", got.Assignee, got.Version, winners[0])
		}
	})
}

// checkOneAccept checks that the alert was accepted once, by winner: one
// accepted entry on its timeline and one change on the feed.
func checkOneAccept(t *testing.T, s AlertStore, id int64, winner string) {
	t.Helper()
	got, err := s.FindAlert(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var accepts []string
	for _, e := range got.Timeline {
		if e.Action == alerts.TimelineAccepted {
			accepts = append(accepts, e.Actor.Name)
		}
	}
	if got.Assignee != winner || got.Version != 2 || !reflect.DeepEqual(accepts, []string{winner}) {
		t.Errorf("assignee %q, version %d, accepted by %v; want %s, 2, once", got.Assignee, got.Version, accepts, winner)
	}
	changes, _, err := s.ChangesSince(ctx(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[1].Alert.State != alerts.StateAccepted {
		t.Errorf("feed has %d changes, want create and one accept", len(changes))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
