-- One outbox row per committed batch: line holds the batch's lines joined by
-- newlines (line protocol never has a raw newline inside a line), n how many
-- there are. Rows written before this migration hold one line each.

-- +goose Up
ALTER TABLE outbox ADD COLUMN n INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE outbox DROP COLUMN n;
