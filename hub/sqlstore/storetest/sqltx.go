package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// countRows returns the number of rows in each table.
func countRows(t *testing.T, s *sqlstore.Store, tables ...string) map[string]int {
	t.Helper()
	counts, err := s.Counts(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, tb := range tables {
		c, ok := counts[tb]
		if !ok {
			t.Fatalf("no table %s", tb)
		}
		n[tb] = int(c)
	}
	return n
}

func testAlertTxRollback(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	before := countRows(t, s, alertTables...)
	boom := errors.New("boom")
	work := func(tx *sqlstore.Tx) {
		a := newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)
		must(t, tx.CreateAlert(ctx(t), a))
		must(t, tx.AddTimeline(ctx(t), a.ID, alerts.TimelineEntry{At: t0, Actor: alerts.System, Action: alerts.TimelineOpened}))
		must(t, tx.SetTimer(ctx(t), alerts.Timer{AlertID: a.ID, Kind: alerts.TimerEscalate1, Due: t0.Add(30 * time.Second)}))
		must(t, tx.EnqueueNotification(ctx(t), &alerts.Notification{AlertID: a.ID, Level: 2, NextAttempt: t0, Payload: []byte(`{}`)}))
		a.Version++
		a.Task = &alerts.Task{Worker: "zhang", State: alerts.TaskSent, SentAt: t0, Workers: []string{"zhang"}}
		must(t, tx.UpdateAlert(ctx(t), a))
		must(t, tx.AddPhoto(ctx(t), &alerts.Photo{AlertID: a.ID, At: t0, By: "zhang", ContentType: "image/jpeg", Size: 3, SHA256: "ab", File: "ab.jpg"}))
		if ok, err := tx.RecordTrigger(ctx(t), "sos-1", 1, t0.UnixMilli()); !ok || err != nil {
			t.Fatalf("RecordTrigger = %v, %v", ok, err)
		}
		if _, err := tx.RecordEvents(ctx(t), []*devices.Message{event("sos-1", 1, t0, devices.EventSOS)}); err != nil {
			t.Fatal(err)
		}
	}

	err := s.Tx(ctx(t), func(tx *sqlstore.Tx) error { work(tx); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want fn's error", err)
	}
	if after := countRows(t, s, alertTables...); !reflect.DeepEqual(after, before) {
		t.Errorf("after an error: rows %v, want %v", after, before)
	}

	func() {
		defer func() {
			if r := recover(); r != "panic in fn" {
				t.Errorf("recovered %v, want the panic to be re-raised", r)
			}
		}()
		_ = s.Tx(ctx(t), func(tx *sqlstore.Tx) error { work(tx); panic("panic in fn") })
	}()
	if after := countRows(t, s, alertTables...); !reflect.DeepEqual(after, before) {
		t.Errorf("after a panic: rows %v, want %v", after, before)
	}
	if seq, err := s.LastChangeSeq(ctx(t)); err != nil || seq != 0 {
		t.Errorf("LastChangeSeq = %d, %v; want 0", seq, err)
	}

	// The writer connection was given back: the same work commits now.
	if err := s.Tx(ctx(t), func(tx *sqlstore.Tx) error { work(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	after := countRows(t, s, alertTables...)
	for _, tb := range alertTables {
		want := 1 // alert_changes too: one change per alert per transaction
		if after[tb] != want {
			t.Errorf("after commit: %s has %d rows, want %d", tb, after[tb], want)
		}
	}
}

func testRecordEventsInTxWithAlert(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	mustCreate(t, s, device("sos-1", "c1", "g1", "b1"))
	press := event("sos-1", 5, t0, devices.EventSOS)
	online := true
	work := func(tx *sqlstore.Tx) (inserted []bool) {
		inserted, err := tx.RecordEvents(ctx(t), []*devices.Message{press, press})
		must(t, err)
		must(t, tx.UpdateHealth(ctx(t), []devices.HealthUpdate{{ID: "sos-1", LastSeen: t0, Online: &online}}))
		must(t, tx.CreateAlert(ctx(t), newAlert("sos-1", "c1", alerts.KindSOS, alerts.SeverityCritical, t0)))
		return inserted
	}

	boom := errors.New("ack failed")
	if err := s.Tx(ctx(t), func(tx *sqlstore.Tx) error { work(tx); return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := countRows(t, s, "events", "alerts"); n["events"] != 0 || n["alerts"] != 0 {
		t.Errorf("rolled back, yet stored %v", n)
	}
	if d, err := s.FindDevice(ctx(t), "sos-1"); err != nil || d.Health.Online {
		t.Errorf("rolled-back health update applied: %+v, %v", d, err)
	}

	var inserted []bool
	if err := s.Tx(ctx(t), func(tx *sqlstore.Tx) error { inserted = work(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inserted, []bool{true, false}) {
		t.Errorf("inserted = %v, want [true false]", inserted)
	}
	if n := countRows(t, s, "events", "alerts"); n["events"] != 1 || n["alerts"] != 1 {
		t.Errorf("committed, yet stored %v", n)
	}
	if d, err := s.FindDevice(ctx(t), "sos-1"); err != nil || !d.Health.Online || !d.Health.LastSeen.Equal(t0) {
		t.Errorf("health after commit: %+v, %v", d, err)
	}

	// Validation is shared with Store.RecordEvents.
	tel := event("sos-1", 6, t0, devices.EventSOS)
	tel.Channel = devices.ChannelTelemetry
	err := s.Tx(ctx(t), func(tx *sqlstore.Tx) error { _, err := tx.RecordEvents(ctx(t), []*devices.Message{tel}); return err })
	wantCode(t, err, shouwang.EINVALID)
}
func testPruneAlertFeed(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	fixClock(t, s, t0)
	for i := range 5 {
		createAlerts(t, s, newAlert("d", "c", alerts.KindSOS, alerts.SeverityCritical, t0.Add(time.Duration(i)*time.Second)))
	}
	if err := s.PruneAlertFeed(ctx(t), 10, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, oldest, _ := s.ChangesSince(ctx(t), 0, 0); oldest != 1 {
		t.Errorf("fewer changes than kept: oldest = %d, want 1", oldest)
	}
	if err := s.PruneAlertFeed(ctx(t), 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	cs, oldest, err := s.ChangesSince(ctx(t), 0, 0)
	if err != nil || oldest != 4 || len(cs) != 2 || cs[0].Seq != 4 || cs[1].Seq != 5 {
		t.Fatalf("after keeping 2: oldest %d, %d changes, %v", oldest, len(cs), err)
	}

	// Nothing is handed out twice, even when pruned to one.
	if err := s.PruneAlertFeed(ctx(t), 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	createAlerts(t, s, newAlert("d", "c", alerts.KindSOS, alerts.SeverityCritical, t0))
	if cs, oldest, _ := s.ChangesSince(ctx(t), 0, 0); oldest != 5 || len(cs) != 2 || cs[1].Seq != 6 {
		t.Errorf("after keeping 1 and one more change: oldest %d, %+v", oldest, cs)
	}
	if err := s.PruneAlertFeed(ctx(t), -1, time.Time{}); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("negative keep: %v", err)
	}

	// Triggers older than the cut-off are forgotten, newer ones kept.
	move := fixClock(t, s, t0)
	record := func(seq uint64) bool {
		var ok bool
		must(t, s.Tx(ctx(t), func(tx *sqlstore.Tx) error {
			var err error
			ok, err = tx.RecordTrigger(ctx(t), "d", seq, t0.UnixMilli())
			return err
		}))
		return ok
	}
	record(1)
	move(2 * time.Hour)
	record(2)
	move(23 * time.Hour) // trigger 1 is now 25 h old, trigger 2 23 h
	if err := s.PruneAlertFeed(ctx(t), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !record(1) || record(2) {
		t.Error("default retention: want trigger 1 forgotten and trigger 2 kept")
	}
	if err := s.PruneAlertFeed(ctx(t), 0, t0.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "alert_triggers"); n["alert_triggers"] != 0 {
		t.Errorf("explicit cut-off after everything: %d triggers left", n["alert_triggers"])
	}
}
