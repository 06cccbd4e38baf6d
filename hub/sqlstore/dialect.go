package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
)

// dialect names the SQL flavour a store speaks. The queries are written
// once, in the SQL both understand — '?' placeholders, INSERT … ON
// CONFLICT, RETURNING, BIGINT Unix milliseconds for times, BOOLEAN flags,
// JSON in TEXT — and the dialect supplies the few places they differ:
// placeholder syntax (rebind), the migrations (surrogate keys and
// collations differ in DDL), the goose dialect, the isolation a read
// snapshot asks for, and the writer lock.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// goose is the migration runner's name for d.
func (d dialect) goose() goose.Dialect {
	if d == dialectPostgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// migrations is the directory under migrations/ holding schema's
// migrations in d: the same numbered files in each, one DDL per dialect.
func (d dialect) migrations(schema string) string {
	if d == dialectPostgres {
		return schema + "_postgres"
	}
	return schema
}

// readOptions are the options of a read transaction: one snapshot for all
// its queries. SQLite's read transactions are snapshots already;
// PostgreSQL's default (READ COMMITTED) takes a new one per statement, so
// it asks for REPEATABLE READ.
func (d dialect) readOptions() *sql.TxOptions {
	if d == dialectPostgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// Advisory lock keys on PostgreSQL: the writer lock every write transaction
// takes, and the lock the migrations run under. ("shouwang" in ASCII, and
// one more.)
const (
	writerLockID  int64 = 0x73686f7577616e67
	migrateLockID int64 = writerLockID + 1
)

// lockWriters makes tx the only writer of the store until it ends. SQLite
// has one writer by design (BEGIN IMMEDIATE on the one writer connection),
// so there is nothing to do. On PostgreSQL it takes a transaction-level
// advisory lock, released when tx commits or rolls back — after its changes
// are visible — so write transactions run one at a time across every hub
// sharing the database, exactly as on SQLite: the alert service's
// read-check-write steps need no retries, and the change feed's numbers
// follow commit order (docs/architecture.md, "The store").
func (d dialect) lockWriters(ctx context.Context, tx *sql.Tx) error {
	if d != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", writerLockID)
	return err
}

// rebind rewrites the '?' placeholders of q into d's form. Queries in this
// package are written with '?'; PostgreSQL wants $1, $2, ... Question marks
// inside single-quoted literals are left alone.
func rebind(d dialect, q string) string {
	if d != dialectPostgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			quoted = !quoted
			b.WriteByte(c)
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stmt is a statement a transaction runs many times. SQLite prepares it
// once; on PostgreSQL pgx already keeps every query prepared per
// connection, and an explicit Prepare and Close would only add two round
// trips.
type stmt struct {
	tx *sql.Tx
	st *sql.Stmt // SQLite
	q  string    // PostgreSQL
}

// prepare readies query (in '?' form) for repeated use in tx.
func (d dialect) prepare(ctx context.Context, tx *sql.Tx, query string) (*stmt, error) {
	if d == dialectPostgres {
		return &stmt{tx: tx, q: rebind(d, query)}, nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{tx: tx, st: st}, nil
}

// ExecContext runs the statement once.
func (s *stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if s.st != nil {
		return s.st.ExecContext(ctx, args...)
	}
	return s.tx.ExecContext(ctx, s.q, args...)
}

// Close releases a SQLite statement.
func (s *stmt) Close() error {
	if s.st != nil {
		return s.st.Close()
	}
	return nil
}
