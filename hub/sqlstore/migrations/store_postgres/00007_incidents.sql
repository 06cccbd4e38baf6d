-- Incidents and check-ins on PostgreSQL: the twin of
-- migrations/store/00007_incidents.sql.

-- +goose Up
ALTER TABLE alerts ADD COLUMN incident_id BIGINT;
ALTER TABLE alerts ADD COLUMN scope TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN incident TEXT NOT NULL DEFAULT '';
CREATE INDEX alerts_scope ON alerts (scope, state, opened_at);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE incident_members (
    incident_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    device_id   TEXT COLLATE "C" NOT NULL,
    alert_id    BIGINT,
    kind        TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    floor       TEXT NOT NULL DEFAULT '',
    household   TEXT NOT NULL DEFAULT '',
    since       BIGINT NOT NULL,
    returned_at BIGINT,
    joined      INTEGER NOT NULL,
    PRIMARY KEY (incident_id, device_id)
);
CREATE INDEX incident_members_device ON incident_members (device_id, returned_at);

CREATE TABLE checkin_activity (
    household TEXT COLLATE "C" PRIMARY KEY,
    at        BIGINT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    how       TEXT NOT NULL DEFAULT ''
);

CREATE TABLE checkin_plans (
    household   TEXT COLLATE "C" PRIMARY KEY,
    watch       BOOLEAN,
    start_min   INTEGER,
    end_min     INTEGER,
    quiet_until BIGINT,
    quiet_note  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE checkin_plans;
DROP TABLE checkin_activity;
DROP TABLE incident_members;
DROP INDEX alerts_incident;
DROP INDEX alerts_scope;
ALTER TABLE alerts DROP COLUMN incident;
ALTER TABLE alerts DROP COLUMN scope;
ALTER TABLE alerts DROP COLUMN incident_id;
