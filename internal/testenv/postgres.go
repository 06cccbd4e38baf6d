package testenv

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

// PostgresServer is Debian's PostgreSQL started once for the whole test
// binary (a package's tests) on a free loopback port, with a cluster made
// by initdb in a temporary directory and durability relaxed for speed
// (fsync, synchronous_commit and full_page_writes off: tests only). Each
// test takes a database of its own with Database, usually a copy of a
// template made once with Template.
type PostgresServer struct {
	srv *parts.Postgres
	dir string

	mu        sync.Mutex
	templates map[string]*pgTemplate
	dbs       atomic.Int64
}

type pgTemplate struct {
	once sync.Once
	err  error
}

var (
	mainRunning atomic.Bool
	pgOnce      sync.Once
	pgShared    *PostgresServer
	pgErr       error
	pgMissing   bool
)

// Main runs a package's tests and then stops the servers shared between
// them (PostgreSQL). A package whose tests call Postgres has
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	if pgShared != nil {
		if err := pgShared.srv.Proc.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
		if code != 0 {
			fmt.Fprintf(os.Stderr, "testenv: postgres log (%s):\n%s\n", pgShared.srv.Proc.LogPath, pgShared.srv.Proc.LogTail(logTailBytes))
		}
		os.RemoveAll(pgShared.dir)
	}
	return code
}

// Postgres returns the test binary's PostgreSQL server, starting it on the
// first call. The package's TestMain must call Main, which stops it. When
// PostgreSQL is not installed the test fails under CI (CI set) and skips
// otherwise, naming scripts/setup.
func Postgres(t testing.TB) *PostgresServer {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: Postgres needs the package's TestMain to run testenv.Main (which stops the shared server)")
	}
	pgOnce.Do(func() {
		bin, err := parts.FindPostgres()
		if err != nil {
			pgErr, pgMissing = err, true
			return
		}
		dir, err := parts.NewPostgresDir()
		if err != nil {
			pgErr = err
			return
		}
		srv := parts.NewPostgres(bin, parts.PostgresConfig{
			WrittenBy: "internal/testenv for one test binary", Dir: dir, Relaxed: true,
		})
		if err := srv.Start(readyTimeout); err != nil {
			os.RemoveAll(dir)
			pgErr = err
			return
		}
		pgShared = &PostgresServer{srv: srv, dir: dir, templates: make(map[string]*pgTemplate)}
	})
	if pgErr != nil {
		msg := "testenv: " + pgErr.Error()
		if pgMissing && os.Getenv("CI") == "" {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	return pgShared
}

// DSN returns the URL to connect to database db as the superuser.
func (s *PostgresServer) DSN(db string) string { return s.srv.DSN(db) }

// Exec runs SQL statements in database db, failing the test on an error.
func (s *PostgresServer) Exec(t testing.TB, db, sql string) {
	t.Helper()
	if err := s.srv.Exec(db, sql); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Template makes the database name once per test binary, with a
// people's collation (ICU en-US) as its default, by running prepare on it (typically: open the store, which migrates it, and close
// it), then marks it a template nobody may connect to. Later calls with the
// same name return at once (with the first call's failure, if it failed).
func (s *PostgresServer) Template(t testing.TB, name string, prepare func(dsn string) error) {
	t.Helper()
	s.mu.Lock()
	tpl := s.templates[name]
	if tpl == nil {
		tpl = &pgTemplate{}
		s.templates[name] = tpl
	}
	s.mu.Unlock()
	tpl.once.Do(func() {
		// The database's own collation sorts as people read (ICU en-US: "a"
		// before "B"), not bytewise as SQLite and the C locale do, so a
		// query whose order depends on the locale fails the tests rather
		// than a street's duty room.
		if tpl.err = s.srv.Exec("postgres", "CREATE DATABASE "+quoteIdent(name)+
			" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"); tpl.err != nil {
			return
		}
		if err := prepare(s.srv.DSN(name)); err != nil {
			tpl.err = fmt.Errorf("prepare template %s: %w", name, err)
			return
		}
		// A client's backend may outlive its closed connection briefly; a
		// copy needs the template to itself.
		tpl.err = s.srv.Exec("postgres", fmt.Sprintf(`ALTER DATABASE %s WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s';`, quoteIdent(name), name))
	})
	if tpl.err != nil {
		t.Fatalf("testenv: postgres: %v", tpl.err)
	}
}

// Database creates a database for this test — a copy of template, or an
// empty one when template is "" — drops it when the test ends, and returns
// its DSN.
func (s *PostgresServer) Database(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	sql := "CREATE DATABASE " + name
	if template != "" {
		sql += " TEMPLATE " + quoteIdent(template)
	}
	s.Exec(t, "postgres", sql)
	t.Cleanup(func() {
		if err := s.srv.Exec("postgres", "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return s.srv.DSN(name)
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
