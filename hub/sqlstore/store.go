package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
)

// storeReaders is the size of the SQLite Store's read pool: WAL lets
// readers run beside the writer, and the machine is small, so a few are
// plenty.
const storeReaders = 4

// Store is the hub's main database: the device registry, console accounts
// and tokens, events and alerts, in SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db       *pools
	dialect  dialect
	stmts    *stmtCache // SQLite's write statements, prepared once; nil on PostgreSQL
	logger   *slog.Logger
	now      func() time.Time
	dsn      string // for Listen's own connection
	instance string // stamped on stored events (SetInstance)

	// unregisteredCalls counts RecordUnregistered calls, to prune the list
	// every so often rather than on every call.
	unregisteredCalls atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// The interfaces Store implements.
var (
	_ devices.Registry = (*Store)(nil)
	_ accounts.Store   = (*Store)(nil)
)

// Open opens the store named by dsn and brings its schema up to date: a
// SQLite file (a path, sqlite:///path or a file: URI; created if needed) or
// a PostgreSQL database (postgres://user:password@host/db?sslmode=…; the
// database must exist). A nil logger discards.
func Open(dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var (
		db  *pools
		d   = dialectSQLite
		err error
	)
	if isPostgres(dsn) {
		d = dialectPostgres
		db, err = openPostgres(context.Background(), dsn, "store", logger)
	} else {
		var name string
		if name, err = sqliteName(dsn); err == nil {
			db, err = openSQLite(context.Background(), name, "store", storeReaders, logger)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{db: db, dialect: d, logger: logger, dsn: dsn}
	if d == dialectSQLite {
		s.stmts = newStmtCache()
	}
	s.SetClock(nil)
	return s, nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.String() }

// SetClock replaces the clock the store reads where its contract says
// "now" (creation times, a timeline entry without a time, token expiry on
// the way); nil is the wall clock. Tests use it; call it before use.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stmts != nil {
			s.closeErr = s.stmts.close()
		}
		s.closeErr = errors.Join(s.closeErr, s.db.close())
	})
	return s.closeErr
}

// Ping reports whether the database answers a query, for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// q rebinds a query for the store's dialect.
func (s *Store) q(query string) string { return rebind(s.dialect, query) }

// nowMillis is the current time in the store's form.
func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

// writeTx runs fn in a write transaction and commits it if fn returns nil.
// Write transactions run one at a time (dialect.lockWriters), on SQLite and
// on PostgreSQL alike.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer rollback(tx)
	if err := s.dialect.lockWriters(ctx, tx); err != nil {
		return fmt.Errorf("writer lock: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read-only transaction, so the queries in it see one
// snapshot of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.r.BeginTx(ctx, s.dialect.readOptions())
	if err != nil {
		return err
	}
	defer rollback(tx)
	return fn(tx)
}

// pageLimit checks a listing's offset and limit and returns the limit to
// use: 0 means DefaultListLimit, and larger limits are cut to MaxListLimit.
func pageLimit(offset, limit int) (int, error) {
	if offset < 0 || limit < 0 {
		return 0, shouwang.Errorf(shouwang.EINVALID, "offset and limit must not be negative")
	}
	if limit == 0 {
		return DefaultListLimit, nil
	}
	return min(limit, MaxListLimit), nil
}

// exec runs one write statement in a write transaction of its own, so it
// queues behind other writers as every write does.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, s.q(query), args...)
		return err
	})
	return res, err
}
