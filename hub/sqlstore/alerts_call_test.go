package sqlstore

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/shouwang-hub/shouwang/alerts"
)

// callStep applies one step of a voice call through the alert Service, as
// the hub does.
func callStep(t *testing.T, s *Store, svc *alerts.Service, d *alerts.Alert, u alerts.CallUpdate) alerts.Result {
	t.Helper()
	var res alerts.Result
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		var err error
		res, err = svc.CallEvent(ctx(t), tx, &d.Device, u)
		return err
	})
	if err != nil {
		t.Fatalf("CallEvent %s: %v", u.State, err)
	}
	return res
}

// checkCall reads alert id through every path that reads alerts and wants
// the same call from each.
func checkCall(t *testing.T, s *Store, id int64, deviceID string, want *alerts.CallRef) {
	t.Helper()
	got := map[string]*alerts.CallRef{}
	one := func(path string, list []*alerts.Alert) {
		for _, a := range list {
			if a.ID == id {
				got[path] = a.Call
				return
			}
		}
		t.Errorf("%s: alert %d not read", path, id)
	}
	a, err := s.FindAlert(ctx(t), id)
	must(t, err)
	got["Store.FindAlert"] = a.Call
	list, _, err := s.ListAlerts(ctx(t), alerts.Filter{DeviceID: deviceID})
	must(t, err)
	one("ListAlerts", list)
	list, err = s.OpenAlertsAll(ctx(t))
	must(t, err)
	one("OpenAlertsAll", list)
	list, err = s.UnclearedLatest(ctx(t), alerts.KindSOS)
	must(t, err)
	one("UnclearedLatest", list)
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		a, err := tx.FindAlert(ctx(t), id)
		if err != nil {
			return err
		}
		got["Tx.FindAlert"] = a.Call
		list, err := tx.OpenAlerts(ctx(t), deviceID)
		if err != nil {
			return err
		}
		one("Tx.OpenAlerts", list)
		a, err = tx.LatestAlert(ctx(t), deviceID, alerts.KindSOS)
		if err != nil {
			return err
		}
		got["Tx.LatestAlert"] = a.Call
		return nil
	})
	must(t, err)
	changes, _, err := s.ChangesSince(ctx(t), 0, MaxListLimit)
	must(t, err)
	var last *alerts.Alert
	for _, c := range changes {
		if c.Alert.ID == id {
			last = c.Alert
		}
	}
	if last == nil {
		t.Fatalf("no change of alert %d on the feed", id)
	}
	got["ChangesSince"] = last.Call
	for path, c := range got {
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: call = %+v, want %+v", path, c, want)
		}
	}
}

// TestAlertCallReadPaths: a call written by the Service, with times finer
// than a millisecond and not in UTC, reads back the same, to the
// millisecond in UTC, through every read path and the change feed, at each
// step; an alert without a call reads back without one.
func TestAlertCallReadPaths(t *testing.T) {
	s := openStore(t)
	svc, err := alerts.NewService(alerts.Config{})
	must(t, err)
	dev := newAlert("sos-9", "Sunflower", alerts.KindSOS, alerts.SeverityCritical, t0)
	cst := time.FixedZone("CST", 8*3600)
	start := t0.Add(1234567 * time.Microsecond).In(cst)
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

	res := callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallRinging, At: start})
	if len(res.Changed) != 1 {
		t.Fatalf("ringing changed %d alerts, want 1", len(res.Changed))
	}
	id := res.Changed[0].ID
	want := &alerts.CallRef{ID: "c-1", State: alerts.CallRinging, StartedAt: ms(start)}
	checkCall(t, s, id, dev.DeviceID, want)

	answered := start.Add(9 * time.Second)
	callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: answered, By: "wang"})
	want = &alerts.CallRef{ID: "c-1", State: alerts.CallAnswered, StartedAt: ms(start), AnsweredAt: ms(answered), AnsweredBy: "wang"}
	checkCall(t, s, id, dev.DeviceID, want)

	ended := answered.Add(61 * time.Second)
	callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallEnded, At: ended, EndReason: "hangup",
		Recordings: map[string]string{"device": "device.ogg", "console": "console.ogg"}})
	want = &alerts.CallRef{ID: "c-1", State: alerts.CallEnded, StartedAt: ms(start), AnsweredAt: ms(answered), AnsweredBy: "wang",
		EndedAt: ms(ended), EndReason: "hangup"}
	checkCall(t, s, id, dev.DeviceID, want)

	a, err := s.FindAlert(ctx(t), id)
	must(t, err)
	if a.Version != 3 || a.State != alerts.StateAccepted || a.Assignee != "wang" {
		t.Errorf("after the call: version %d state %s assignee %q; want 3, accepted, wang", a.Version, a.State, a.Assignee)
	}
	var endEntry *alerts.TimelineEntry
	for i := range a.Timeline {
		if a.Timeline[i].Action == alerts.TimelineCallEnded {
			endEntry = &a.Timeline[i]
		}
	}
	if endEntry == nil || endEntry.Data["duration"] != "61" || endEntry.Data["recording_device"] != "device.ogg" || endEntry.Data["recording_console"] != "console.ogg" {
		t.Errorf("call_ended entry = %+v", endEntry)
	}

	plain := newAlert("sos-10", "Sunflower", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, plain)
	checkCall(t, s, plain.ID, plain.DeviceID, nil)
	var raw string
	must(t, s.db.r.QueryRowContext(ctx(t), `SELECT call_ref FROM alerts WHERE id = ?`, plain.ID).Scan(&raw))
	if raw != "" {
		t.Errorf("call_ref of an alert without a call = %q, want empty", raw)
	}
}

// TestAlertCallMigration: a database made before 00003, holding an alert,
// takes the migration on Open; the old alert reads back whole and without
// a call, a call written afterwards survives a reopen that migrates
// nothing, and the migration goes down and up again.
func TestAlertCallMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	migrations, err := fs.Sub(migrationsFS, "migrations/store")
	must(t, err)
	provider := func(db *sql.DB) *goose.Provider {
		p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations, goose.WithDisableGlobalRegistry(true))
		must(t, err)
		return p
	}

	// The database as the hub left it before voice calls.
	db, err := sql.Open("sqlite", path)
	must(t, err)
	_, err = provider(db).UpTo(ctx(t), 2)
	must(t, err)
	if hasColumn(t, db, "alerts", "call_ref") {
		t.Fatal("call_ref exists at version 2")
	}
	_, err = db.ExecContext(ctx(t), `INSERT INTO alerts (id, kind, severity, priority, state, device_id, community, device,
		opened_at, occurrences, assignee, updated_at, version)
		VALUES (7, 'sos', 'critical', 0, 'accepted', 'sos-1', 'Willow', '{"id":"sos-1","kind":"sos_button","location":{"community":"Willow"}}',
		?, 1, 'li', ?, 2)`, t0.UnixMilli(), t0.UnixMilli())
	must(t, err)
	must(t, db.Close())

	var log logBuffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	s, err := Open(path, logger)
	must(t, err)
	if !strings.Contains(log.String(), "00003_alert_call.sql") {
		t.Errorf("Open did not apply 00003; log:\n%s", log.String())
	}
	if !hasColumn(t, s.db.r, "alerts", "call_ref") {
		t.Fatal("no call_ref column after Open")
	}
	old, err := s.FindAlert(ctx(t), 7)
	must(t, err)
	if old.Call != nil || old.Assignee != "li" || old.Version != 2 || old.Device.Location.Community != "Willow" || !old.OpenedAt.Equal(t0) {
		t.Errorf("alert from before the migration: %+v", old)
	}
	old.Call = &alerts.CallRef{ID: "c1", State: alerts.CallRinging, StartedAt: t0.Add(time.Minute)}
	old.Version++
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), old) }))
	must(t, s.Close())

	log.buf.Reset()
	s, err = Open(path, logger)
	must(t, err)
	if strings.Contains(log.String(), "applied migration") {
		t.Errorf("reopen migrated again; log:\n%s", log.String())
	}
	got, err := s.FindAlert(ctx(t), 7)
	must(t, err)
	if got.Call == nil || *got.Call != *old.Call || got.Version != 3 {
		t.Errorf("after reopen: version %d call %+v; want 3 and %+v", got.Version, got.Call, old.Call)
	}
	must(t, s.Close())

	// Down and up again: the Down section is valid SQL.
	db, err = sql.Open("sqlite", path)
	must(t, err)
	defer db.Close()
	_, err = provider(db).DownTo(ctx(t), 2)
	must(t, err)
	if hasColumn(t, db, "alerts", "call_ref") {
		t.Error("call_ref still there after migrating down to 2")
	}
	_, err = provider(db).Up(ctx(t))
	must(t, err)
	if !hasColumn(t, db, "alerts", "call_ref") {
		t.Error("no call_ref after migrating up again")
	}
}

// hasColumn reports whether table has a column of that name.
func hasColumn(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	var n int
	err := db.QueryRowContext(ctx(t), `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n)
	must(t, err)
	return n == 1
}
