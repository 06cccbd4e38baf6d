// Package outbox is the hub's durable telemetry outbox: the one place
// where readings (and alert changes for dashboards) wait, on the hub's own
// disk, until InfluxDB has them.
//
//   - Spool (spool.go) is a local SQLite file, <data>/spool.db, always
//     SQLite whatever the main store is: records in order, one row per
//     commit, Peek and Remove for the drainer (hub/influx's Writer), depth
//     and bytes counted.
//   - The window log (windowlog.go): the telemetry de-duplication windows
//     committed in the same transaction as the records they admitted,
//     appended as one blob per commit and folded into a table every 10 s.
//   - Watch (watch.go) warns before an outage fills the disk: spool depth
//     against a warning depth, free space on the data file system.
//
// A record is opaque here: one line of bytes, non-empty and without a
// newline. The engine is handed a format that makes them (hub.RecordFormat,
// influx.Format for InfluxDB's line protocol), so only the InfluxDB adapter
// knows what is inside.
//
// It owns its SQLite file through modernc.org/sqlite and its schema
// through goose, like hub/sqlstore does for the main store.
package outbox
