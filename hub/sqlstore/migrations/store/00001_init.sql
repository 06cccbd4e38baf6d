-- The main store: device registry, console accounts and events.
--
-- Written to carry over to PostgreSQL: times are Unix milliseconds in BIGINT,
-- flags are BOOLEAN, numbers DOUBLE PRECISION, lists JSON in TEXT. Only the
-- surrogate keys differ: SQLite's INTEGER PRIMARY KEY becomes
-- BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY in a PostgreSQL twin.

-- +goose Up
CREATE TABLE devices (
    id                   TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL,
    vendor               TEXT NOT NULL DEFAULT '',
    model                TEXT NOT NULL DEFAULT '',
    capabilities         TEXT NOT NULL DEFAULT '[]',
    community            TEXT NOT NULL,
    grid                 TEXT NOT NULL DEFAULT '',
    building             TEXT NOT NULL DEFAULT '',
    unit                 TEXT NOT NULL DEFAULT '',
    floor                TEXT NOT NULL DEFAULT '',
    household            TEXT NOT NULL DEFAULT '',
    resident_name        TEXT NOT NULL DEFAULT '',
    resident_birth_year  INTEGER NOT NULL DEFAULT 0,
    resident_lives_alone BOOLEAN NOT NULL DEFAULT FALSE,
    resident_care_notes  TEXT NOT NULL DEFAULT '',
    resident_language    TEXT NOT NULL DEFAULT '',
    contacts             TEXT NOT NULL DEFAULT '[]',
    grid_worker_name     TEXT NOT NULL DEFAULT '',
    grid_worker_phone    TEXT NOT NULL DEFAULT '',
    password_hash        TEXT NOT NULL,
    last_seen            BIGINT,
    online               BOOLEAN NOT NULL DEFAULT FALSE,
    battery              DOUBLE PRECISION,
    signal_dbm           DOUBLE PRECISION,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX devices_community ON devices (community, grid, building);
CREATE INDEX devices_grid ON devices (grid);
CREATE INDEX devices_building ON devices (building);
CREATE INDEX devices_kind ON devices (kind);

CREATE TABLE unregistered (
    id         TEXT PRIMARY KEY,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    seen_count BIGINT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX unregistered_last_seen ON unregistered (last_seen);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tokens (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    received  BIGINT NOT NULL,
    ts_flag   TEXT NOT NULL DEFAULT '',
    type      TEXT NOT NULL,
    test      BOOLEAN NOT NULL DEFAULT FALSE,
    lel       DOUBLE PRECISION,
    UNIQUE (device_id, seq, ts)
);
CREATE INDEX events_device_ts ON events (device_id, ts);

-- +goose Down
DROP TABLE events;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE unregistered;
DROP TABLE devices;
