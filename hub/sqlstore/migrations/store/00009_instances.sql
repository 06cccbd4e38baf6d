-- Several hub instances on one database (docs/architecture.md, "Several
-- instances"): the instances and their heartbeats, leases for singleton
-- work with a fencing epoch, which instance took each call, which instance
-- stored each event, and when a device's online flag last changed (by the
-- device's own clock), so a late status cannot undo a newer one. Portable
-- SQL, as 00001; on SQLite only one instance runs, but the schema is the
-- same.

-- +goose Up
CREATE TABLE hub_instances (
    name       TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    heartbeat  BIGINT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    stopped_at BIGINT
);

CREATE TABLE hub_leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    epoch   BIGINT NOT NULL,
    expires BIGINT NOT NULL
);

CREATE TABLE hub_calls (
    call_id    TEXT PRIMARY KEY,
    instance   TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX hub_calls_started ON hub_calls (started_at);

ALTER TABLE events ADD COLUMN instance TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN online_at BIGINT;

-- +goose Down
ALTER TABLE devices DROP COLUMN online_at;
ALTER TABLE events DROP COLUMN instance;
DROP INDEX hub_calls_started;
DROP TABLE hub_calls;
DROP TABLE hub_leases;
DROP TABLE hub_instances;
