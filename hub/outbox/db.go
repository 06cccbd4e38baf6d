package outbox

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
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// The spool's schema, migrated by goose at Open. The files were the
// main store's migrations/spool until the outbox became a package of its
// own; their numbers and goose's version table are unchanged, so a spool
// written by an earlier hub opens as it was.
//
//go:embed migrations
var migrations embed.FS

// pools is the spool file opened twice: a single writer connection, so
// Appends and Removes queue in Go rather than spin on SQLite's busy lock,
// and a small read-only pool (the drainer's Peek) that WAL lets run beside
// it.
type pools struct {
	w, r *sql.DB
}

// sqliteParams are the settings of every connection: wait up to 10 s for
// another process's lock (none is expected: the hub locks its data
// directory), WAL, and synchronous=FULL, so a commit is on disk when it
// returns.
var sqliteParams = []string{"_busy_timeout=10000", "_journal_mode=WAL", "_synchronous=FULL"}

// openFile opens the SQLite file at path as a writer and a reader pool of
// readers connections and brings its schema up to date.
func openFile(ctx context.Context, path string, readers int, logger *slog.Logger) (*pools, error) {
	if path == "" {
		return nil, errors.New("path: empty")
	}
	if strings.Contains(path, "://") || strings.Contains(path, "?") || strings.HasPrefix(strings.ToLower(path), "file:") {
		return nil, fmt.Errorf("path %q: the spool is always a local SQLite file; give a file path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create directory: %w", err)
	}
	dsn := func(extra ...string) string {
		return path + "?" + strings.Join(append(append([]string{}, sqliteParams...), extra...), "&")
	}
	w, err := sql.Open("sqlite", dsn("_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first, so the file exists and is in WAL mode
	// before a read-only connection looks at it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if err := migrate(ctx, w, logger); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("_query_only=1"))
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

func (p *pools) close() error { return errors.Join(p.r.Close(), p.w.Close()) }

// migrate brings the spool's schema up to the newest migration; a no-op
// on a file that is already there.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSlog(logger))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// p.Close would close db, which belongs to the caller.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		logger.Info("applied migration", "schema", "spool", "version", r.Source.Version,
			"file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// querier is what reads need: the writer inside a transaction, or the
// read pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rollback ends a transaction that did not commit; its error is ignored,
// since the error that made the caller give up is the one worth reporting.
func rollback(tx *sql.Tx) { _ = tx.Rollback() }
