package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Pool sizes on PostgreSQL. Writers run one at a time (the writer lock), so
// a few connections are enough for the next ones to wait in the database
// rather than in Go; readers run side by side.
const (
	pgWriters = 4
	pgReaders = 8
	pgControl = 2 // heartbeats, leases, call claims, doorbells (Store.ctl)
)

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	l := strings.ToLower(dsn)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// redact is dsn without its password, for errors and logs.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// openPostgres opens dsn as a writer pool and a reader pool (pgx through
// database/sql) and runs the migrations of schema dir.
func openPostgres(ctx context.Context, dsn, dir string, logger *slog.Logger) (*pools, error) {
	if _, err := url.Parse(dsn); err != nil {
		return nil, errors.New("dsn: not a valid postgres:// URL")
	}
	open := func(n int) (*sql.DB, error) {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
		db.SetConnMaxIdleTime(5 * time.Minute)
		pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := db.PingContext(pingCtx); err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to %s: %w", redact(dsn), err)
		}
		return db, nil
	}
	w, err := open(pgWriters)
	if err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if err := migrate(ctx, w, dialectPostgres, dir, logger); err != nil {
		w.Close()
		return nil, err
	}
	r, err := open(pgReaders)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	ctl, err := open(pgControl)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open control pool: %w", err)
	}
	return &pools{w: w, r: r, ctl: ctl}, nil
}
