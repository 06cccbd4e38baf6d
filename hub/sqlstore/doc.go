// Package sqlstore keeps the hub's durable state in SQL: the device
// registry, console accounts, events and alerts (with their timelines,
// timers, notifications and change feed) in the main Store, and the
// telemetry outbox in front of InfluxDB in a separate Spool file, so
// telemetry never contends with the registry. Store.Tx gives one write
// transaction to the alert Service and ingest together, so an event and the
// alert it opens commit as one.
//
// It owns the database driver (modernc.org/sqlite, pure Go) and the schema
// migrations (goose, embedded .sql files: migrations/store for the Store,
// migrations/spool for the Spool). The SQL is written so PostgreSQL can
// follow: portable types, INSERT … ON CONFLICT, RETURNING, no SQLite-only
// functions in the Store's queries, and '?' placeholders passed through
// rebind. Only SQLite is implemented today.
//
// Times are stored as Unix milliseconds (UTC) in BIGINT columns: NULL for
// the zero time where the column may be NULL, 0 in events' NOT NULL ts and
// received.
//
// Each SQLite file is opened twice: one writer connection (WAL,
// synchronous=FULL, BEGIN IMMEDIATE), so this process's writers queue in Go
// instead of spinning on SQLite's busy lock, and a small read-only pool
// that WAL lets run beside it. Writes are durable when they return.
package sqlstore
