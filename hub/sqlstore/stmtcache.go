package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Statements prepared once. database/sql with the SQLite driver prepares
// a statement for every ExecContext or QueryContext with arguments and
// throws it away: parsing the SQL again each time. For the alert service's
// transactions — a handful of statements per device message — that was the
// hub's largest cost in an alarm storm (41 % of its CPU in issue 15's
// profile). So on SQLite a write transaction's statements are prepared on
// the one writer connection and kept: the first use of a query runs it as
// before and asks for it, and after the commit (the connection is free
// then) the store prepares what was asked for; later transactions use the
// prepared statement (Tx.StmtContext reuses it on the same connection).
// On PostgreSQL pgx keeps every query prepared per connection already.

// stmtCacheMax bounds the statements kept: the store's queries are
// constant strings, but a few are built per call (an IN list, a multi-row
// insert) and must not grow the cache without end.
const stmtCacheMax = 128

// stmtCache is the writer connection's prepared statements, by query.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]struct{}
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}}
}

// lookup returns query's prepared statement, or nil after noting that it
// is wanted.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if len(c.stmts)+len(c.wanted) < stmtCacheMax {
		c.wanted[query] = struct{}{}
	}
	return nil
}

// prepareWanted prepares the statements asked for, on db. It holds no lock
// while it waits for db's one connection, which a transaction looking up
// statements may hold. A query that fails to prepare is not asked for
// again.
func (c *stmtCache) prepareWanted(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		queries = append(queries, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok {
			st.Close() // another commit prepared it meanwhile
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

// pending reports whether statements wait to be prepared.
func (c *stmtCache) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.wanted) > 0
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

// cachedTx is a write transaction that runs its statements through the
// cache (nil on PostgreSQL: plain calls).
type cachedTx struct {
	*sql.Tx
	cache *stmtCache
}

func (t cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if st := t.cache.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st)
	}
	return nil
}

// ExecContext is sql.Tx's, with the statement prepared once.
func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext is sql.Tx's, with the statement prepared once.
func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is sql.Tx's, with the statement prepared once.
func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
