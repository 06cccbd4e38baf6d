-- Who holds a claimed notification: the twin of
-- migrations/store/00010_notify_claims.sql.

-- +goose Up
ALTER TABLE alert_notifications ADD COLUMN claimed_by TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN claim_lease TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN claim_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_notifications ADD COLUMN claimed_due BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_notifications DROP COLUMN claimed_due;
ALTER TABLE alert_notifications DROP COLUMN claim_epoch;
ALTER TABLE alert_notifications DROP COLUMN claim_lease;
ALTER TABLE alert_notifications DROP COLUMN claimed_by;
