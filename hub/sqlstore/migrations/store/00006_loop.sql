-- The street's closed loop (issue 16): grid workers on foot, follow-ups and
-- reviews, photos kept with an alert, and the people who do it.
--
--   alerts: the snapshot's grid in a column of its own (a grid worker sees
--     their grids' alerts; figures are per grid), the grid worker's task, the
--     follow-up (its due and done times in columns, to list the ones pending)
--     and the supervisor's review, as JSON in TEXT ('' for none);
--   alert_workers: every grid worker an alert was sent to or taken by, so
--     each keeps seeing it;
--   alert_photos: what is known of each photo; the bytes are files under
--     <data>/photos/<alert id>/;
--   users: a phone and, for a grid worker, the grids they look after (JSON);
--   devices: the resident's own phone.

-- +goose Up
ALTER TABLE alerts ADD COLUMN grid TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN task TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN follow_up TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN followup_due BIGINT;
ALTER TABLE alerts ADD COLUMN followup_done BIGINT;
ALTER TABLE alerts ADD COLUMN review TEXT NOT NULL DEFAULT '';
UPDATE alerts SET grid = COALESCE(json_extract(device, '$.location.grid'), '');
CREATE INDEX alerts_grid ON alerts (community, grid);
CREATE INDEX alerts_followup ON alerts (followup_due) WHERE followup_due IS NOT NULL AND followup_done IS NULL;

CREATE TABLE alert_workers (
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    worker   TEXT NOT NULL,
    PRIMARY KEY (alert_id, worker)
);
CREATE INDEX alert_workers_worker ON alert_workers (worker);

CREATE TABLE alert_photos (
    id           INTEGER PRIMARY KEY,
    alert_id     BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    by_name      TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    file         TEXT NOT NULL
);
CREATE INDEX alert_photos_alert ON alert_photos (alert_id, id);

ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN grids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE devices ADD COLUMN resident_phone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE devices DROP COLUMN resident_phone;
ALTER TABLE users DROP COLUMN grids;
ALTER TABLE users DROP COLUMN phone;
DROP TABLE alert_photos;
DROP TABLE alert_workers;
DROP INDEX alerts_followup;
DROP INDEX alerts_grid;
ALTER TABLE alerts DROP COLUMN review;
ALTER TABLE alerts DROP COLUMN followup_done;
ALTER TABLE alerts DROP COLUMN followup_due;
ALTER TABLE alerts DROP COLUMN follow_up;
ALTER TABLE alerts DROP COLUMN task;
ALTER TABLE alerts DROP COLUMN grid;
