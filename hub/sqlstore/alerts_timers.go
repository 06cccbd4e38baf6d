package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Durable timers, webhook notifications and applied-trigger keys: the
// parts of the alert state that make a restart neither lose nor double an
// escalation, a notification or an occurrence.

// SetTimer implements alerts.Tx: it creates the alert's timer of t.Kind or
// moves it to t.Due.
func (tx *Tx) SetTimer(ctx context.Context, t alerts.Timer) error {
	if t.Kind == "" || t.Due.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "alert %d: timer needs a kind and a due time", t.AlertID)
	}
	// The WHERE clause turns a missing alert into no row (ENOTFOUND); SQLite
	// also needs it to parse ON CONFLICT after INSERT … SELECT.
	res, err := tx.tx.ExecContext(ctx, tx.q(`INSERT INTO alert_timers (alert_id, kind, due)
		SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?)
		ON CONFLICT (alert_id, kind) DO UPDATE SET due = excluded.due`),
		t.AlertID, string(t.Kind), t.Due.UnixMilli(), t.AlertID)
	if err != nil {
		return fmt.Errorf("set timer: alert %d: %w", t.AlertID, err)
	}
	return mustAffect(res, alertNotFound(t.AlertID))
}

// DeleteTimers implements alerts.Tx: it removes the alert's timers of the
// given kinds, or all of them when none are given. Removing timers that do
// not exist is not an error.
func (tx *Tx) DeleteTimers(ctx context.Context, alertID int64, kinds ...alerts.TimerKind) error {
	query, args := `DELETE FROM alert_timers WHERE alert_id = ?`, []any{alertID}
	if len(kinds) > 0 {
		query += ` AND kind IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)`
		for _, k := range kinds {
			args = append(args, string(k))
		}
	}
	if _, err := tx.tx.ExecContext(ctx, tx.q(query), args...); err != nil {
		return fmt.Errorf("delete timers: alert %d: %w", alertID, err)
	}
	return nil
}

// DueTimers implements alerts.Store: timers due at or before now, earliest
// first, at most limit (0 means DefaultListLimit).
func (s *Store) DueTimers(ctx context.Context, now time.Time, limit int) ([]alerts.Timer, error) {
	limit, err := dueLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT alert_id, kind, due FROM alert_timers
		WHERE due <= ? ORDER BY due, alert_id, kind LIMIT ?`), now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due timers: %w", err)
	}
	defer rows.Close()
	var list []alerts.Timer
	for rows.Next() {
		var (
			t    alerts.Timer
			kind string
			due  int64
		)
		if err := rows.Scan(&t.AlertID, &kind, &due); err != nil {
			return nil, fmt.Errorf("due timers: %w", err)
		}
		t.Kind, t.Due = alerts.TimerKind(kind), zeroOrMillis(due)
		list = append(list, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due timers: %w", err)
	}
	return list, nil
}

// NextTimer implements alerts.Store: the earliest pending timer's due time.
func (s *Store) NextTimer(ctx context.Context) (time.Time, bool, error) {
	due, ok, err := s.earliest(ctx, `SELECT MIN(due) FROM alert_timers`)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next timer: %w", err)
	}
	return due, ok, nil
}

// EnqueueNotification implements alerts.Tx: it stores n and sets n.ID.
func (tx *Tx) EnqueueNotification(ctx context.Context, n *alerts.Notification) error {
	if n == nil || n.NextAttempt.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "enqueue notification: needs a next attempt time")
	}
	err := tx.tx.QueryRowContext(ctx, tx.q(`INSERT INTO alert_notifications (alert_id, level, attempts, next_attempt, payload,
		party, channel, recipient, lang)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?) RETURNING id`),
		n.AlertID, n.Level, n.Attempts, n.NextAttempt.UnixMilli(), string(n.Payload), n.Party, n.Channel, n.To, n.Lang, n.AlertID).Scan(&n.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return alertNotFound(n.AlertID)
	} else if err != nil {
		return fmt.Errorf("enqueue notification: alert %d: %w", n.AlertID, err)
	}
	return nil
}

// UpdateNotification implements alerts.Tx: it records an attempt
// (Attempts and NextAttempt; the payload stays as enqueued) and ends any
// claim on it.
func (tx *Tx) UpdateNotification(ctx context.Context, n *alerts.Notification) error {
	if n == nil || n.NextAttempt.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "update notification: needs a next attempt time")
	}
	res, err := tx.tx.ExecContext(ctx, tx.q(`UPDATE alert_notifications SET attempts = ?, next_attempt = ?,
		claimed_by = '', claim_lease = '', claim_epoch = 0, claimed_due = 0 WHERE id = ?`),
		n.Attempts, n.NextAttempt.UnixMilli(), n.ID)
	if err != nil {
		return fmt.Errorf("update notification %d: %w", n.ID, err)
	}
	return mustAffect(res, notificationNotFound(n.ID))
}

// DeleteNotification implements alerts.Tx: it removes a delivered or
// abandoned notification; ENOTFOUND if there is none with that ID.
func (tx *Tx) DeleteNotification(ctx context.Context, id int64) error {
	res, err := tx.tx.ExecContext(ctx, tx.q(`DELETE FROM alert_notifications WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete notification %d: %w", id, err)
	}
	return mustAffect(res, notificationNotFound(id))
}

func notificationNotFound(id int64) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "notification %d not found", id)
}

// DueNotifications implements alerts.Store: notifications whose next
// attempt is at or before now, earliest first, at most limit (0 means
// DefaultListLimit).
func (s *Store) DueNotifications(ctx context.Context, now time.Time, limit int) ([]*alerts.Notification, error) {
	limit, err := dueLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT `+notificationColumns+`
		FROM alert_notifications WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`), now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	list, err := scanNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	return list, nil
}

// NextNotification implements alerts.Store: the earliest next attempt.
func (s *Store) NextNotification(ctx context.Context) (time.Time, bool, error) {
	due, ok, err := s.earliest(ctx, `SELECT MIN(next_attempt) FROM alert_notifications`)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next notification: %w", err)
	}
	return due, ok, nil
}

// earliest runs a SELECT MIN(…) of a time column.
func (s *Store) earliest(ctx context.Context, query string) (time.Time, bool, error) {
	var ms sql.NullInt64
	if err := s.db.r.QueryRowContext(ctx, query).Scan(&ms); err != nil {
		return time.Time{}, false, err
	}
	return fromMillis(ms), ms.Valid, nil
}

func dueLimit(limit int) (int, error) {
	if limit < 0 {
		return 0, shouwang.Errorf(shouwang.EINVALID, "limit must not be negative")
	} else if limit == 0 {
		return DefaultListLimit, nil
	}
	return limit, nil
}

// RecordTrigger implements alerts.Tx: it notes that the device message
// (deviceID, seq, tsMillis) was applied to alerts and reports false if it
// already was. Keys are kept for DefaultTriggerRetention (see
// PruneAlertFeed), far longer than any redelivery takes.
func (tx *Tx) RecordTrigger(ctx context.Context, deviceID string, seq uint64, tsMillis int64) (bool, error) {
	if seq > math.MaxInt64 {
		return false, shouwang.Errorf(shouwang.EINVALID, "record trigger: device %q: seq %d out of range", deviceID, seq)
	}
	res, err := tx.tx.ExecContext(ctx, tx.q(`INSERT INTO alert_triggers (device_id, seq, ts, applied_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (device_id, seq, ts) DO NOTHING`), deviceID, int64(seq), tsMillis, tx.s.nowMillis())
	if err != nil {
		return false, fmt.Errorf("record trigger: device %q: %w", deviceID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record trigger: device %q: %w", deviceID, err)
	}
	return n > 0, nil
}
