package sqlstore

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestTimelineCodesMigration: timeline entries an earlier hub wrote with
// English notes of its own (an escalation, a reminder, a webhook given up,
// a commissioning test, "no webhook", an accept by answering a call, a
// webhook attempt naming its URL) read back after 00005 as codes with
// parameters, on SQLite and on PostgreSQL, while a person's note stays.
func TestTimelineCodesMigration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      dialect
		driver string
		dsn    func(t *testing.T) string
	}{
		{"sqlite", dialectSQLite, "sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hub.db") }},
		{"postgres", dialectPostgres, "pgx", func(t *testing.T) string { return testenv.Postgres(t).Database(t, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			migrations, err := fs.Sub(migrationsFS, "migrations/"+tc.d.migrations("store"))
			must(t, err)
			db, err := sql.Open(tc.driver, dsn)
			must(t, err)
			p, err := goose.NewProvider(tc.d.goose(), db, migrations, goose.WithDisableGlobalRegistry(true))
			must(t, err)
			_, err = p.UpTo(ctx(t), 4)
			must(t, err)
			exec := func(q string, args ...any) {
				t.Helper()
				_, err := db.ExecContext(ctx(t), rebind(tc.d, q), args...)
				must(t, err)
			}
			exec(`INSERT INTO alerts (id, kind, severity, priority, state, device_id, community, device,
				opened_at, occurrences, assignee, updated_at, version)
				VALUES (7, 'sos', 'critical', 0, 'accepted', 'sos-1', 'Willow', '{"id":"sos-1","kind":"sos_button","location":{"community":"Willow"}}',
				?, 1, 'li', ?, 9)`, t0.UnixMilli(), t0.UnixMilli())
			old := []struct{ role, action, note, data string }{
				{"system", "escalated", "not accepted 30s after opening; escalated to level 1", `{"level":"1"}`},
				{"system", "note", "level 2: no webhook is configured, so nobody outside the console was notified", `{}`},
				{"system", "notify_attempt", "", `{"attempt":"1","url":"https://qyapi.example/send?key=SECRET","level":"2"}`},
				{"system", "notify_gave_up", "gave up after 10 attempts", `{"attempts":"10"}`},
				{"system", "reminder", "dispatched to 120 15m0s ago and not resolved", `{"dispatched_to":"120"}`},
				{"device", "test", "commissioning test", `{"event":"test"}`},
				{"operator", "accepted", "accepted by answering call c-42", `{}`},
				{"operator", "note", "已联系家属", `{}`},
			}
			for i, e := range old {
				exec(`INSERT INTO alert_timeline (alert_id, at, actor_name, actor_role, action, note, data) VALUES (7, ?, 'x', ?, ?, ?, ?)`,
					t0.UnixMilli()+int64(i), e.role, e.action, e.note, e.data)
			}
			must(t, db.Close())

			s, err := Open(dsn, testLogger(t))
			must(t, err)
			defer s.Close()
			a, err := s.FindAlert(ctx(t), 7)
			must(t, err)
			want := []struct{ action, note string }{
				{"escalated", ""}, {alerts.TimelineNotifyNone, ""}, {"notify_attempt", ""}, {"notify_gave_up", ""},
				{"reminder", ""}, {"test", ""}, {"accepted", ""}, {"note", "已联系家属"},
			}
			if len(a.Timeline) != len(want) {
				t.Fatalf("%d timeline entries after the migration, want %d", len(a.Timeline), len(want))
			}
			for i, w := range want {
				if e := a.Timeline[i]; e.Action != w.action || e.Note != w.note {
					t.Errorf("entry %d: %s %q; want %s %q", i, e.Action, e.Note, w.action, w.note)
				}
			}
			if d := a.Timeline[1].Data; d["level"] != "2" {
				t.Errorf("notify_none data %v; want level 2", d)
			}
			if d := a.Timeline[2].Data; d["url"] != "" || d["attempt"] != "1" || d["level"] != "2" {
				t.Errorf("notify_attempt data %v; want attempt and level without the URL", d)
			}
			if d := a.Timeline[6].Data; d["via"] != "call" || d["call"] != "c-42" {
				t.Errorf("accepted data %v; want via call, call c-42", d)
			}
		})
	}
}
