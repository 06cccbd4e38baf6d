-- The de-duplication windows a commit changed, as one blob per commit, so a
-- commit writes one row however many devices it touched. They are folded
-- into telemetry_seq at checkpoints, which empty the log.

-- +goose Up
CREATE TABLE seq_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    windows BLOB NOT NULL
);

-- +goose Down
DROP TABLE seq_log;
