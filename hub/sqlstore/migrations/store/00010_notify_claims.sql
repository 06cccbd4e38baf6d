-- Who holds a claimed notification (issue 14's follow-up): the instance
-- that claimed it, the lease it claimed it under and that lease's epoch,
-- and the next attempt the claim pushed aside. A claim whose lease is no
-- longer held at its epoch (the claimer died and its lease lapsed) may be
-- taken at once, and a claimer that stops hands its claims back; the
-- 2-minute hold stays only as the last resort. claimed_by '' is no claim.

-- +goose Up
ALTER TABLE alert_notifications ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN claim_lease TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_notifications ADD COLUMN claim_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_notifications ADD COLUMN claimed_due INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE alert_notifications DROP COLUMN claimed_due;
ALTER TABLE alert_notifications DROP COLUMN claim_epoch;
ALTER TABLE alert_notifications DROP COLUMN claim_lease;
ALTER TABLE alert_notifications DROP COLUMN claimed_by;
