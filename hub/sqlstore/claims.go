package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Claims: work that any instance may do, done once. A claim is a row
// taken with SELECT … FOR UPDATE SKIP LOCKED inside a write transaction:
// a row another transaction is taking is skipped, not waited for, so
// several instances claiming at once each get different rows. (Write
// transactions also run one at a time under the writer lock today, so a
// claim never actually meets a locked row; the claim is written so that
// it stays right without that lock.) What is claimed is either done in
// the same transaction (a timer: fired and removed or re-armed, so a crash
// fires it neither twice nor never) or pushed out of sight for a hold
// period (a notification, sent over the network outside any transaction:
// if its claimer dies, it is due again once the hold has passed).
// docs/architecture.md, "Several instances"; /work/notes/leases.md.

// skipLocked is the claim clause in d; SQLite has one writer and no row
// locks, so there is nothing to skip.
func (d dialect) skipLocked() string {
	if d == dialectPostgres {
		return ` FOR UPDATE SKIP LOCKED`
	}
	return ``
}

// ClaimTimer claims the earliest timer due at or before now inside the
// transaction, for the caller to fire in it; false when none is due (or
// every due one is being fired by another transaction).
func (tx *Tx) ClaimTimer(ctx context.Context, now time.Time) (alerts.Timer, bool, error) {
	var (
		t    alerts.Timer
		kind string
		due  int64
	)
	err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT alert_id, kind, due FROM alert_timers
		WHERE due <= ? ORDER BY due, alert_id, kind LIMIT 1`+tx.s.dialect.skipLocked()), now.UnixMilli()).Scan(&t.AlertID, &kind, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Timer{}, false, nil
	} else if err != nil {
		return alerts.Timer{}, false, fmt.Errorf("claim timer: %w", err)
	}
	t.Kind, t.Due = alerts.TimerKind(kind), zeroOrMillis(due)
	return t, true, nil
}

// ClaimNotifications claims up to limit notifications due at or before
// now for hold: their next attempt moves to now+hold, so no instance
// (this one included) takes them again meanwhile. The caller delivers each
// and records the result (NotificationResult), which sets the real next
// attempt or removes it. The notifications come back with their next
// attempt as it was before the claim.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]*alerts.Notification, error) {
	if hold <= 0 {
		return nil, shouwang.Errorf(shouwang.EINVALID, "claim notifications: hold must be positive")
	}
	limit, err := dueLimit(limit)
	if err != nil {
		return nil, err
	}
	var list []*alerts.Notification
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT `+notificationColumns+`
			FROM alert_notifications WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`+s.dialect.skipLocked()),
			now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		if list, err = scanNotifications(rows); err != nil {
			return err
		}
		for _, n := range list {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE alert_notifications SET next_attempt = ? WHERE id = ?`),
				now.Add(hold).UnixMilli(), n.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return list, nil
}

// notificationColumns are what scanNotifications reads.
const notificationColumns = `id, alert_id, level, attempts, next_attempt, payload, party, channel, recipient, lang`

// scanNotifications reads rows of notificationColumns and closes them.
func scanNotifications(rows *sql.Rows) ([]*alerts.Notification, error) {
	defer rows.Close()
	var list []*alerts.Notification
	for rows.Next() {
		var (
			n       alerts.Notification
			next    int64
			payload string
		)
		if err := rows.Scan(&n.ID, &n.AlertID, &n.Level, &n.Attempts, &next, &payload, &n.Party, &n.Channel, &n.To, &n.Lang); err != nil {
			return nil, err
		}
		n.NextAttempt, n.Payload = zeroOrMillis(next), []byte(payload)
		list = append(list, &n)
	}
	return list, rows.Err()
}
