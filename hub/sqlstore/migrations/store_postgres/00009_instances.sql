-- Several hub instances on PostgreSQL: the twin of
-- migrations/store/00009_instances.sql. Text that is sorted or compared is
-- COLLATE "C" (byte order, as SQLite), whatever the database's locale.

-- +goose Up
CREATE TABLE hub_instances (
    name       TEXT COLLATE "C" PRIMARY KEY,
    started_at BIGINT NOT NULL,
    heartbeat  BIGINT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    stopped_at BIGINT
);

CREATE TABLE hub_leases (
    name    TEXT COLLATE "C" PRIMARY KEY,
    holder  TEXT COLLATE "C" NOT NULL,
    epoch   BIGINT NOT NULL,
    expires BIGINT NOT NULL
);

CREATE TABLE hub_calls (
    call_id    TEXT COLLATE "C" PRIMARY KEY,
    instance   TEXT COLLATE "C" NOT NULL,
    device_id  TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX hub_calls_started ON hub_calls (started_at);

ALTER TABLE events ADD COLUMN instance TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN online_at BIGINT;

-- +goose Down
ALTER TABLE devices DROP COLUMN online_at;
ALTER TABLE events DROP COLUMN instance;
DROP INDEX hub_calls_started;
DROP TABLE hub_calls;
DROP TABLE hub_leases;
DROP TABLE hub_instances;
