-- Voice calls: an alert carries the latest call from its device (the
-- timeline keeps every call). The call is JSON in TEXT, '' when there is
-- none, like the device snapshot; its name avoids CALL, a keyword in
-- PostgreSQL.

-- +goose Up
ALTER TABLE alerts ADD COLUMN call_ref TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alerts DROP COLUMN call_ref;
