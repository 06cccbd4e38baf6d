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
// if its claimer stops it hands the claim back, and if it dies the claim
// may be taken once the claimer's lease has lapsed; the hold is the last
// resort of a claimer alive but stuck, and of a hub alone).
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

// NotificationClaim names who claims notifications: the instance, and the
// lease it claims them under with that lease's epoch (Lease "" for a hub
// alone, whose claims only the hold ends).
type NotificationClaim struct {
	Holder string
	Lease  string
	Epoch  int64
}

// claimLapsed is true of a notification row n whose claim was made under a
// lease no longer held at its epoch, by the database's clock: its claimer
// died (or lost the lease) and the claim may be taken at once.
func (d dialect) claimLapsed() string {
	return `(n.claim_lease <> '' AND NOT EXISTS (SELECT 1 FROM hub_leases l WHERE l.name = n.claim_lease
		AND l.holder = n.claimed_by AND l.epoch = n.claim_epoch AND l.expires > ` + d.nowMillis() + `))`
}

// ClaimNotifications claims for c up to limit notifications due at or
// before now, and those whose claimer's lease has lapsed (a dead
// instance's), for hold: their next attempt moves to now+hold, so no
// instance (this one included) takes them again meanwhile unless c's lease
// lapses first. The caller delivers each and records the result
// (NotificationResult), which sets the real next attempt or removes it; a
// claimer that stops hands back what it did not deliver
// (HandBackNotifications). The notifications come back with their next
// attempt as it was before any claim.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, hold time.Duration, limit int, c NotificationClaim) ([]*alerts.Notification, error) {
	if hold <= 0 || c.Holder == "" {
		return nil, shouwang.Errorf(shouwang.EINVALID, "claim notifications: needs a holder and a positive hold")
	}
	limit, err := dueLimit(limit)
	if err != nil {
		return nil, err
	}
	var list []*alerts.Notification
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, alert_id, level, attempts,
			CASE WHEN claimed_by = '' THEN next_attempt ELSE claimed_due END, payload, party, channel, recipient, lang
			FROM alert_notifications n WHERE next_attempt <= ? OR `+s.dialect.claimLapsed()+`
			ORDER BY next_attempt, id LIMIT ?`+s.dialect.skipLocked()),
			now.UnixMilli(), limit)
		if err != nil {
			return err
		}
		if list, err = scanNotifications(rows); err != nil {
			return err
		}
		for _, n := range list {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE alert_notifications SET next_attempt = ?, claimed_due = ?,
				claimed_by = ?, claim_lease = ?, claim_epoch = ? WHERE id = ?`),
				now.Add(hold).UnixMilli(), n.NextAttempt.UnixMilli(), c.Holder, c.Lease, c.Epoch, n.ID); err != nil {
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

// HandBackNotifications gives back every notification holder has claimed
// and not recorded: each is due again at its next attempt from before the
// claim, for any instance. A notifier calls it when it stops (its
// deliveries in flight were cut off) and when it starts (claims of an
// earlier run of the same instance, which died, are its own to free). It
// returns how many it gave back.
func (s *Store) HandBackNotifications(ctx context.Context, holder string) (int64, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE alert_notifications SET next_attempt = claimed_due,
			claimed_by = '', claim_lease = '', claim_epoch = 0, claimed_due = 0 WHERE claimed_by = ?`), holder)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 || s.dialect != dialectPostgres {
			return err
		}
		// Ring the others at commit: their notifiers look again now.
		_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, ChannelFeed)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("hand back the notifications of %s: %w", holder, err)
	}
	return n, nil
}

// NextClaimable returns when the next notification may be claimed: the
// earliest next attempt, or sooner where a claimer's lease ends first (if
// that claimer dies, the lease lapses then). A lease's remaining time is
// taken by the database's clock and added to now, the caller's clock.
func (s *Store) NextClaimable(ctx context.Context, now time.Time) (time.Time, bool, error) {
	dbNow := s.dialect.nowMillis()
	var due sql.NullInt64
	err := s.db.r.QueryRowContext(ctx, s.q(`SELECT MIN(CASE
			WHEN n.claim_lease = '' THEN n.next_attempt
			WHEN l.expires IS NULL OR l.expires <= `+dbNow+` THEN ?
			WHEN ? + (l.expires - `+dbNow+`) < n.next_attempt THEN ? + (l.expires - `+dbNow+`)
			ELSE n.next_attempt END)
		FROM alert_notifications n LEFT JOIN hub_leases l
			ON l.name = n.claim_lease AND l.holder = n.claimed_by AND l.epoch = n.claim_epoch`),
		now.UnixMilli(), now.UnixMilli(), now.UnixMilli()).Scan(&due)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next claimable notification: %w", err)
	}
	return fromMillis(due), due.Valid, nil
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
