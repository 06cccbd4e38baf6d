package sqlstore

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		filepath.Join(dir, "plain.db"),
		"sqlite://" + filepath.Join(dir, "url.db"), // sqlite:///abs/path
		"file:" + filepath.Join(dir, "uri.db"),
		filepath.Join(dir, "nested", "deeper", "hub.db"),
	} {
		s, err := Open(dsn, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := s.Ping(ctx(t)); err != nil {
			t.Errorf("Ping(%q): %v", dsn, err)
		}
		var mode string
		if err := s.db.w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("%q: journal_mode = %q, %v; want wal", dsn, mode, err)
		}
		var sync, fk int
		if err := s.db.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Errorf("%q: synchronous = %d, %v; want 2 (FULL)", dsn, sync, err)
		}
		if err := s.db.r.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("%q: foreign_keys = %d, %v; want 1", dsn, fk, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close(%q): %v", dsn, err)
		}
	}
	for _, name := range []string{"plain.db", "url.db", "uri.db", "nested/deeper/hub.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("database file %s: %v", name, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	// An unreachable PostgreSQL fails, and the error does not give away the
	// password.
	for _, dsn := range []string{"postgres://u:secret@127.0.0.1:1/hub?connect_timeout=2", "postgresql://u:secret@127.0.0.1:1/hub?connect_timeout=2"} {
		if _, err := Open(dsn, nil); err == nil {
			t.Errorf("Open(%q) succeeded with nothing listening", dsn)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the password: %v", dsn, err)
		}
	}
	for _, dsn := range []string{"", "mysql://u:secret@x/y", ":memory:", "sqlite://"} {
		if _, err := Open(dsn, nil); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the DSN: %v", dsn, err)
		}
	}
}

func TestMigrationsTwiceAreNoOp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	var log logBuffer
	logger := slog.New(slog.NewTextHandler(&log, nil))

	s, err := Open(path, logger)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "applied migration") {
		t.Fatalf("first open applied no migration; log:\n%s", log.String())
	}
	mustCreate(t, s, device("d1", "c", "g", "b"))
	// Run the migrations again on the open database.
	log.buf.Reset()
	if err := migrate(ctx(t), s.db.w, s.dialect, "store", logger); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// And once more through a fresh Open.
	s, err = Open(path, logger)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if strings.Contains(log.String(), "applied migration") {
		t.Errorf("migrations ran again on an up-to-date database; log:\n%s", log.String())
	}
	if _, err := s.FindDevice(ctx(t), "d1"); err != nil {
		t.Errorf("device lost across reopen: %v", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(ctx(t)); err == nil {
		t.Error("Ping after Close succeeded")
	}
}

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE a = ? AND b LIKE ? ESCAPE '\' AND c = '?' AND d IN (?, ?)`
	if got := rebind(dialectSQLite, q); got != q {
		t.Errorf("sqlite rebind changed the query: %s", got)
	}
	want := `SELECT a FROM t WHERE a = $1 AND b LIKE $2 ESCAPE '\' AND c = '?' AND d IN ($3, $4)`
	if got := rebind(dialectPostgres, q); got != want {
		t.Errorf("postgres rebind:\n got %s\nwant %s", got, want)
	}
}
