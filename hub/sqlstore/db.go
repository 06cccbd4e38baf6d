package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrationsFS embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before failing. Writes inside this process never wait on it: they
// queue for the single writer connection instead.
const busyTimeout = 10 * time.Second

// pools is a database opened twice: for writes and for reads. For SQLite,
// a single writer connection, so writers in this process queue in Go rather
// than spin on SQLite's busy lock, and a small pool of read-only connections
// that WAL lets run beside it. For PostgreSQL, two small pools, so writers
// waiting for the writer lock never take the connections readers need.
type pools struct {
	w, r *sql.DB
	ctl  *sql.DB // PostgreSQL: the instances' bookkeeping (see Store.ctl); nil on SQLite
}

// sqliteName turns a store DSN into the name handed to the SQLite driver,
// without query parameters of ours. It accepts a plain path, sqlite:///abs,
// sqlite://rel, sqlite:rel and file: URIs.
func sqliteName(dsn string) (string, error) {
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		return "", errors.New("dsn: empty")
	case strings.HasPrefix(lower, "file:"):
		return dsn, nil
	case strings.HasPrefix(lower, "sqlite://"):
		dsn = dsn[len("sqlite://"):]
	case strings.HasPrefix(lower, "sqlite:"):
		dsn = dsn[len("sqlite:"):]
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return "", fmt.Errorf("dsn: unknown scheme %q: want a file path, sqlite:///path, file:path or postgres://…", clip(scheme))
	}
	if dsn == "" || strings.HasPrefix(dsn, "?") {
		return "", errors.New("dsn: no file path")
	}
	if strings.Contains(dsn, ":memory:") {
		return "", errors.New("dsn: in-memory databases are not supported; give a file path")
	}
	path, _, _ := strings.Cut(dsn, "?")
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("create directory: %w", err)
		}
	}
	return dsn, nil
}

// withParams appends query parameters to a SQLite name that may already
// carry some.
func withParams(name string, params ...string) string {
	sep := "?"
	if strings.Contains(name, "?") {
		sep = "&"
	}
	return name + sep + strings.Join(params, "&")
}

// openSQLite opens name as a writer and a reader pool in WAL mode with
// synchronous=FULL, so a commit is on disk when it returns, and runs the
// migrations under dir of migrationsFS. readers is the size of the read
// pool.
func openSQLite(ctx context.Context, name, dir string, readers int, logger *slog.Logger) (*pools, error) {
	common := []string{
		"_busy_timeout=" + strconv.FormatInt(busyTimeout.Milliseconds(), 10),
		"_journal_mode=WAL",
		"_synchronous=FULL",
		"_foreign_keys=1",
	}
	w, err := sql.Open("sqlite", withParams(name, append(common, "_txlock=immediate")...))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first, so the file exists and is in WAL mode before
	// a read-only connection looks at it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if err := migrate(ctx, w, dialectSQLite, dir, logger); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", withParams(name, append(common, "_query_only=1")...))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	return &pools{w: w, r: r}, nil
}

func (p *pools) close() error {
	err := errors.Join(p.r.Close(), p.w.Close())
	if p.ctl != nil {
		err = errors.Join(err, p.ctl.Close())
	}
	return err
}

// migrate brings the database up to the newest migration of schema dir in
// dialect d (migrations/<dir> for SQLite, migrations/<dir>_postgres for
// PostgreSQL). It is a no-op on a database that is already there. On
// PostgreSQL it holds a session advisory lock while it works, so hubs
// starting at once migrate one after the other.
func migrate(ctx context.Context, db *sql.DB, d dialect, dir string, logger *slog.Logger) error {
	sub, err := fs.Sub(migrationsFS, "migrations/"+d.migrations(dir))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithSlog(logger)}
	if d == dialectPostgres {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateLockID), lock.WithLockTimeout(1, 600))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.goose(), db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// p.Close would close db, which belongs to the caller.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		logger.Info("applied migration", "schema", dir, "version", r.Source.Version,
			"file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// millis stores t as Unix milliseconds; the zero time is stored as NULL.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis is the inverse of millis, in UTC.
func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// rollback ends a transaction that did not commit. Its error is ignored: the
// error that made the caller give up is the one worth reporting, and a
// transaction that already committed returns sql.ErrTxDone.
func rollback(tx *sql.Tx) { _ = tx.Rollback() }
