-- Incidents and check-ins (alerts/incident.go, alerts/checkin.go).
--
-- An incident is an alert (kind building_alarm or outage) with its scope and
-- counts as JSON in alerts.incident; the alerts it groups point at it
-- (alerts.incident_id); its devices are incident_members. Every alert keeps
-- the scope it is correlated in (alerts.scope: a building's, a bridge's, a
-- household's), so "this building's open smoke alarms of the last five
-- minutes" is one indexed query. checkin_activity holds each household's
-- latest sign of life, checkin_plans what staff set for a household.
-- Portable SQL, as 00001.

-- +goose Up
ALTER TABLE alerts ADD COLUMN incident_id BIGINT;
ALTER TABLE alerts ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN incident TEXT NOT NULL DEFAULT '';
CREATE INDEX alerts_scope ON alerts (scope, state, opened_at);
CREATE INDEX alerts_incident ON alerts (incident_id);

-- joined numbers an incident's members in the order they joined.
CREATE TABLE incident_members (
    incident_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL,
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
    household TEXT PRIMARY KEY,
    at        BIGINT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    how       TEXT NOT NULL DEFAULT ''
);

-- NULL watch, start_min and end_min follow the rules file.
CREATE TABLE checkin_plans (
    household   TEXT PRIMARY KEY,
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
