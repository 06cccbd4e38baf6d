package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The alert interfaces Store and Tx implement.
var (
	_ alerts.Store = (*Store)(nil)
	_ alerts.Tx    = (*Tx)(nil)
)

// querier is what *sql.DB and *sql.Tx both offer, so one query function
// serves a transaction and the read pool.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is one write transaction on the store: the alert Service's alerts.Tx,
// plus the event and health writes of ingest, so a device event and the
// alert it opens commit together or not at all. A Tx is valid only inside
// the function given to Store.Tx or Store.InTx and is not safe for
// concurrent use.
type Tx struct {
	s       *Store
	tx      cachedTx // statements prepared once on SQLite (stmtcache.go)
	changed bool     // a change was appended to the feed: ring the doorbell at commit
	// changes are the feed's changes, one per alert, appended at commit.
	changes alerts.PendingChanges[pendingChange]
}

// Tx runs fn in one write transaction and commits it if fn returns nil. An
// error from fn, or a panic (which is re-raised), rolls everything back.
//
// Writers queue for the store's single writer connection, so fn should be
// short, and it must not call the Store's own write methods (they would
// wait for the connection fn holds): use the Tx's methods instead. Reads
// through the Store run beside it but do not see its uncommitted writes.
func (s *Store) Tx(ctx context.Context, fn func(*Tx) error) error {
	// writeTx defers the rollback, so a panic in fn rolls back on its way up.
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		t := &Tx{s: s, tx: cachedTx{Tx: tx, cache: s.stmts}}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.writeChanges(ctx); err != nil {
			return err
		}
		return t.notifyFeed(ctx)
	})
	if s.stmts != nil && s.stmts.pending() {
		// The writer connection is free now: prepare what fn asked for.
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.stmts.prepareWanted(pctx, s.db.w)
		cancel()
	}
	return err
}

// InTx implements alerts.Store: Tx with the interface type.
func (s *Store) InTx(ctx context.Context, fn func(alerts.Tx) error) error {
	return s.Tx(ctx, func(tx *Tx) error { return fn(tx) })
}

// q rebinds a query for the store's dialect.
func (tx *Tx) q(query string) string { return tx.s.q(query) }

// RecordEvents is Store.RecordEvents inside this transaction.
func (tx *Tx) RecordEvents(ctx context.Context, msgs []*devices.Message) (inserted []bool, err error) {
	if err := validateEvents(msgs); err != nil {
		return nil, err
	}
	inserted, err = tx.recordEvents(ctx, msgs)
	if err != nil {
		return nil, fmt.Errorf("record events: %w", err)
	}
	return inserted, nil
}

// UpdateHealth is Store.UpdateHealth inside this transaction.
func (tx *Tx) UpdateHealth(ctx context.Context, updates []devices.HealthUpdate) error {
	if err := tx.updateHealth(ctx, updates); err != nil {
		return fmt.Errorf("update health: %w", err)
	}
	return nil
}
