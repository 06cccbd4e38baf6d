package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Retention of the alert change feed and of the applied-trigger keys, as
// PruneAlertFeed applies them when given zero values.
const (
	DefaultKeepChanges      = 10_000
	DefaultTriggerRetention = 24 * time.Hour
)

// appendChange records a, as it now stands, for the change feed: one
// change per alert per transaction (alerts.PendingChanges), replaced by a
// later write of the same alert in it, and appended by writeChanges just
// before the commit.
func (tx *Tx) appendChange(a *alerts.Alert) error {
	b, err := json.Marshal(asStored(a))
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	tx.changes.Put(a.ID, a.Version, pendingChange{at: tx.stamp(a).UnixMilli(), alert: string(b)})
	return nil
}

// pendingChange is a change as the feed's row will hold it.
type pendingChange struct {
	at    int64
	alert string
}

// writeChanges appends the transaction's changes to the feed, each
// numbered the highest number so far plus one, in the order their alerts
// were first written. Write transactions run one at a time on both
// dialects (the writer lock), and each releases it only once its changes
// are visible, so numbers are taken in commit order without gaps: a reader
// tailing by number never sees n+1 before n (docs/architecture.md).
func (tx *Tx) writeChanges(ctx context.Context) error {
	for _, c := range tx.changes.List() {
		_, err := tx.tx.ExecContext(ctx, tx.q(`INSERT INTO alert_changes (seq, at, alert_id, alert)
			VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM alert_changes), ?, ?, ?)`),
			c.Change.at, c.AlertID, c.Change.alert)
		if err != nil {
			return fmt.Errorf("append change of alert %d: %w", c.AlertID, err)
		}
		tx.changed = true
	}
	return nil
}

// asStored is a copy of a as FindAlert would read it back, without its
// timeline: times cut to the millisecond, in UTC.
func asStored(a *alerts.Alert) *alerts.Alert {
	c := *a
	c.Timeline, c.Members = nil, nil
	for _, t := range []*time.Time{&c.OpenedAt, &c.LastOccurrence, &c.ClearedAt, &c.AcceptedAt,
		&c.DispatchedAt, &c.ResolvedAt, &c.ClosedAt, &c.UpdatedAt} {
		*t = fromMillis(millis(*t))
	}
	c.Call = storedCall(a.Call)
	c.Incident = storedIncident(a.Incident)
	return &c
}

// ChangesSince implements alerts.Store: feed entries with Seq > seq in
// order, at most limit (0 means DefaultListLimit, at most MaxListLimit),
// and the lowest Seq still kept (0 while the feed is empty). A reader whose
// seq is below oldest-1 has missed pruned changes and must reload.
func (s *Store) ChangesSince(ctx context.Context, seq int64, limit int) (changes []alerts.Change, oldest int64, err error) {
	if limit, err = pageLimit(0, limit); err != nil {
		return nil, 0, err
	}
	// One statement, so one snapshot without a transaction around it: the
	// feed goroutine calls this after every commit, and on PostgreSQL each
	// round trip counts. The oldest number rides along on every row; only an
	// empty page asks for it separately.
	err = func() error {
		rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT (SELECT MIN(seq) FROM alert_changes), seq, at, alert
			FROM alert_changes WHERE seq > ? ORDER BY seq LIMIT ?`), seq, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				c    alerts.Change
				at   int64
				body string
			)
			if err := rows.Scan(&oldest, &c.Seq, &at, &body); err != nil {
				return err
			}
			c.At = zeroOrMillis(at)
			if err := json.Unmarshal([]byte(body), &c.Alert); err != nil {
				return fmt.Errorf("change %d: decode alert: %w", c.Seq, err)
			}
			changes = append(changes, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(changes) > 0 {
			return nil
		}
		var low sql.NullInt64
		err = s.db.r.QueryRowContext(ctx, `SELECT MIN(seq) FROM alert_changes`).Scan(&low)
		oldest = low.Int64
		return err
	}()
	if err != nil {
		return nil, 0, fmt.Errorf("changes since %d: %w", seq, err)
	}
	return changes, oldest, nil
}

// LastChangeSeq implements alerts.Store: the highest feed sequence number,
// 0 if there is none.
func (s *Store) LastChangeSeq(ctx context.Context) (int64, error) {
	var last sql.NullInt64
	if err := s.db.r.QueryRowContext(ctx, `SELECT MAX(seq) FROM alert_changes`).Scan(&last); err != nil {
		return 0, fmt.Errorf("last change seq: %w", err)
	}
	return last.Int64, nil
}

// PruneAlertFeed keeps the newest keepChanges entries of the change feed
// (DefaultKeepChanges if 0; never fewer than one, so a sequence number is
// never handed out twice) and forgets applied triggers recorded before
// triggersOlderThan (a zero time means DefaultTriggerRetention ago). The hub
// calls it every few minutes.
func (s *Store) PruneAlertFeed(ctx context.Context, keepChanges int, triggersOlderThan time.Time) error {
	if keepChanges < 0 {
		return shouwang.Errorf(shouwang.EINVALID, "prune alert feed: keepChanges must not be negative")
	} else if keepChanges == 0 {
		keepChanges = DefaultKeepChanges
	}
	if triggersOlderThan.IsZero() {
		triggersOlderThan = s.now().Add(-DefaultTriggerRetention)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		// With fewer rows than keepChanges the subquery is NULL and nothing
		// matches.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM alert_changes WHERE seq <
			(SELECT seq FROM alert_changes ORDER BY seq DESC LIMIT 1 OFFSET ?)`), keepChanges-1); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM alert_triggers WHERE applied_at < ?`), triggersOlderThan.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("prune alert feed: %w", err)
	}
	return nil
}
