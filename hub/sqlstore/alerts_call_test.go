package sqlstore

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/shouwang-hub/shouwang/alerts"
)

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
