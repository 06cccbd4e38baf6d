package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// KeepRefusals is how many refusals the store keeps per device.
const KeepRefusals = 20

const maxRefusalDetail = 300

// RecordRefusal keeps r as device id's latest refusal, and only the last
// KeepRefusals of them.
func (s *Store) RecordRefusal(ctx context.Context, id string, r devices.Refusal) error {
	if r.At.IsZero() {
		r.At = s.now()
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO refusals (device_id, at, reason, detail) VALUES (?, ?, ?, ?)`),
			id, r.At.UnixMilli(), devices.ClipText(string(r.Reason), 64), devices.ClipText(r.Detail, maxRefusalDetail)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM refusals WHERE device_id = ? AND id NOT IN
			(SELECT id FROM refusals WHERE device_id = ? ORDER BY id DESC LIMIT ?)`), id, id, KeepRefusals)
		return err
	})
	if err != nil {
		return fmt.Errorf("record refusal: %w", err)
	}
	return nil
}

// ListRefusals returns device id's last refusals, newest first.
func (s *Store) ListRefusals(ctx context.Context, id string) ([]devices.Refusal, error) {
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT at, reason, detail FROM refusals WHERE device_id = ? ORDER BY id DESC LIMIT ?`),
		id, KeepRefusals)
	if err != nil {
		return nil, fmt.Errorf("list refusals: %w", err)
	}
	defer rows.Close()
	out := []devices.Refusal{}
	for rows.Next() {
		var r devices.Refusal
		var at int64
		var reason string
		if err := rows.Scan(&at, &reason, &r.Detail); err != nil {
			return nil, err
		}
		r.At, r.Reason = time.UnixMilli(at), devices.Reason(reason)
		out = append(out, r)
	}
	return out, rows.Err()
}
