-- Alerts: the alerts themselves, their append-only timelines, durable
-- escalation timers, webhook notifications waiting for delivery, the change
-- feed the console's live view follows, and the device messages already
-- applied to alerts.
--
-- Same conventions as 00001: Unix milliseconds in BIGINT (NULL for "not
-- yet"), BOOLEAN flags, JSON in TEXT, INTEGER PRIMARY KEY surrogate keys
-- (BIGINT GENERATED ALWAYS AS IDENTITY in a PostgreSQL twin).

-- +goose Up
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL,
    test             BOOLEAN NOT NULL DEFAULT FALSE,
    device_id        TEXT NOT NULL,
    -- The snapshot's community, its own column so listings can filter on it.
    community        TEXT NOT NULL DEFAULT '',
    -- The device, location, resident, contacts and grid worker when the
    -- alert opened, as JSON.
    device           TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    last_occurrence  BIGINT,
    occurrences      INTEGER NOT NULL DEFAULT 0,
    reading          DOUBLE PRECISION,
    cleared          BOOLEAN NOT NULL DEFAULT FALSE,
    cleared_at       BIGINT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    assignee         TEXT NOT NULL DEFAULT '',
    dispatched_to    TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL DEFAULT '',
    accepted_at      BIGINT,
    dispatched_at    BIGINT,
    resolved_at      BIGINT,
    closed_at        BIGINT,
    updated_at       BIGINT,
    version          BIGINT NOT NULL
);
CREATE INDEX alerts_device_state ON alerts (device_id, state);
CREATE INDEX alerts_state_severity ON alerts (state, severity, opened_at);
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_community ON alerts (community);

CREATE TABLE alert_timeline (
    id         INTEGER PRIMARY KEY,
    alert_id   BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    actor_name TEXT NOT NULL DEFAULT '',
    actor_role TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, id);

CREATE TABLE alert_timers (
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    due      BIGINT NOT NULL,
    PRIMARY KEY (alert_id, kind)
);
CREATE INDEX alert_timers_due ON alert_timers (due);

CREATE TABLE alert_notifications (
    id           INTEGER PRIMARY KEY,
    alert_id     BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    level        INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT NOT NULL,
    payload      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_notifications_next ON alert_notifications (next_attempt);

-- seq is SQLite's rowid, max+1 on insert. Writers commit one at a time, so
-- it increases in commit order; pruning always keeps the newest row, so a
-- number is never handed out twice.
CREATE TABLE alert_changes (
    seq      INTEGER PRIMARY KEY,
    at       BIGINT NOT NULL,
    alert_id BIGINT NOT NULL,
    alert    TEXT NOT NULL
);

CREATE TABLE alert_triggers (
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    ts         BIGINT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq, ts)
);
CREATE INDEX alert_triggers_applied ON alert_triggers (applied_at);

-- +goose Down
DROP TABLE alert_triggers;
DROP TABLE alert_changes;
DROP TABLE alert_notifications;
DROP TABLE alert_timers;
DROP TABLE alert_timeline;
DROP TABLE alerts;
