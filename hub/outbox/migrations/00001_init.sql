-- The spool: a durable outbox of InfluxDB line protocol and the telemetry
-- de-duplication windows it is written together with. Always a local SQLite
-- file, so it may use SQLite's types freely.

-- +goose Up
CREATE TABLE outbox (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    line BLOB NOT NULL
);

CREATE TABLE telemetry_seq (
    device_id TEXT PRIMARY KEY,
    max_seq   INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL,
    bits      BLOB NOT NULL
);

-- +goose Down
DROP TABLE telemetry_seq;
DROP TABLE outbox;
