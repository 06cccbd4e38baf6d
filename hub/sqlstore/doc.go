// Package sqlstore keeps the hub's durable state in SQL: the device
// registry, console accounts, events and alerts (with their timelines,
// timers, notifications and change feed). The telemetry outbox in front of
// InfluxDB is not here: it is hub/outbox, a SQLite file of its own, so
// telemetry never contends with the registry. Store.Tx gives one write
// transaction to the alert Service and ingest together, so an event and the
// alert it opens commit as one.
//
// The Store runs on SQLite (a file; the default) or PostgreSQL (a
// postgres:// DSN, for a street that outgrows one machine or runs several
// hubs). The queries are written
// once, in SQL both understand — '?' placeholders passed through rebind,
// INSERT … ON CONFLICT, RETURNING, no engine-only functions — and a small
// dialect (dialect.go) supplies what differs: placeholders, the migrations
// (migrations/store for SQLite, migrations/store_postgres for PostgreSQL;
// goose, embedded .sql files), read snapshots and the writer lock.
//
// Times are stored as Unix milliseconds (UTC) in BIGINT columns: NULL for
// the zero time where the column may be NULL, 0 in events' NOT NULL ts and
// received.
//
// Write transactions run one at a time on both engines. The SQLite file is
// opened twice: one writer connection (WAL, synchronous=FULL, BEGIN
// IMMEDIATE), so this process's writers queue in Go instead of spinning on
// SQLite's busy lock, and a small read-only pool that WAL lets run beside
// it. On PostgreSQL every write transaction first takes a transaction-level
// advisory lock, which serialises writers across every hub sharing the
// database; readers use snapshots beside them. Writes are durable when they
// return.
//
// The drivers: modernc.org/sqlite (pure Go) and pgx v5 through database/sql.
// hub/sqlstore/storetest is the contract every store keeps, run against
// both engines and the in-memory fakes.
package sqlstore
