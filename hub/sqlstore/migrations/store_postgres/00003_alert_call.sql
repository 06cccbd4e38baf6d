-- Voice calls on PostgreSQL: the twin of migrations/store/00003_alert_call.sql.

-- +goose Up
ALTER TABLE alerts ADD COLUMN call_ref TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alerts DROP COLUMN call_ref;
