package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
)

// storeReaders is the size of the Store's read pool: WAL lets readers run
// beside the writer, and the machine is small, so a few are plenty.
const storeReaders = 4

// Store is the hub's main database: the device registry, console accounts
// and tokens, and events. It is safe for concurrent use.
type Store struct {
	db      *pools
	dialect dialect
	logger  *slog.Logger
	now     func() time.Time

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

// Open opens (creating if needed) the store named by dsn and brings its
// schema up to date. dsn is a file path, sqlite:///path or a file: URI; a
// postgres:// DSN fails with ErrPostgresUnsupported. A nil logger discards.
func Open(dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	name, err := sqliteName(dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db, err := openSQLite(context.Background(), name, "store", storeReaders, logger)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &Store{db: db, dialect: dialectSQLite, logger: logger, now: time.Now}, nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.close() })
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

// writeTx runs fn in a write transaction on the writer connection and
// commits it if fn returns nil.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer rollback(tx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read-only transaction, so the queries in it see one
// snapshot of the database.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
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
