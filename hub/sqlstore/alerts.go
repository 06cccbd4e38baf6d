package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// openStates is the SQL condition for an open alert (alerts.State.Open).
var openStates = fmt.Sprintf(`state IN ('%s', '%s', '%s')`,
	alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched)

// syncWorkers records the alert's grid workers (they only ever grow), so a
// grid worker's listing finds every alert sent to them.
func (tx *Tx) syncWorkers(ctx context.Context, a *alerts.Alert) error {
	if a.Task == nil {
		return nil
	}
	for _, w := range a.Task.Workers {
		if _, err := tx.tx.ExecContext(ctx, tx.q(`INSERT INTO alert_workers (alert_id, worker) VALUES (?, ?)
			ON CONFLICT (alert_id, worker) DO NOTHING`), a.ID, w); err != nil {
			return fmt.Errorf("record grid worker %q: %w", w, err)
		}
	}
	return nil
}

// queryAlerts runs a query selecting alertCols and scans every row.
func (s *Store) queryAlerts(ctx context.Context, db querier, query string, args ...any) ([]*alerts.Alert, error) {
	rows, err := db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*alerts.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	return list, rows.Err()
}

func alertNotFound(id int64) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", id).With("alert.not_found", "id", strconv.FormatInt(id, 10))
}

// findAlert reads one alert and its timeline through db.
func (s *Store) findAlert(ctx context.Context, db querier, id int64) (*alerts.Alert, error) {
	a, err := scanAlert(db.QueryRowContext(ctx, s.q(`SELECT `+alertCols+` FROM alerts WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, alertNotFound(id)
	} else if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, s.q(`SELECT id, at, actor_name, actor_role, action, note, data
		FROM alert_timeline WHERE alert_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e    alerts.TimelineEntry
			at   int64
			data string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor.Name, &e.Actor.Role, &e.Action, &e.Note, &data); err != nil {
			return nil, err
		}
		e.At = zeroOrMillis(at)
		if data != "" && data != "{}" {
			if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
				return nil, fmt.Errorf("alert %d: timeline entry %d: decode data: %w", id, e.ID, err)
			}
		}
		a.Timeline = append(a.Timeline, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if a.Incident != nil {
		if a.Members, err = s.members(ctx, db, id); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// FindAlert implements alerts.Store: one alert with its timeline, read in
// one snapshot.
func (s *Store) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	var a *alerts.Alert
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = s.findAlert(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find alert: %w", err)
	}
	return a, nil
}

// FindAlert implements alerts.Tx: one alert with its timeline.
func (tx *Tx) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	a, err := tx.s.findAlert(ctx, tx.tx, id)
	if err != nil {
		return nil, fmt.Errorf("find alert: %w", err)
	}
	return a, nil
}

// OpenAlerts implements alerts.Tx: the device's open alerts, oldest first,
// without timelines.
func (tx *Tx) OpenAlerts(ctx context.Context, deviceID string) ([]*alerts.Alert, error) {
	list, err := tx.s.queryAlerts(ctx, tx.tx, `SELECT `+alertCols+` FROM alerts
		WHERE device_id = ? AND `+openStates+` ORDER BY id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("open alerts: %w", err)
	}
	return list, nil
}

// LatestAlert implements alerts.Tx: the device's most recently opened alert
// of kind, without its timeline.
func (tx *Tx) LatestAlert(ctx context.Context, deviceID string, kind alerts.Kind) (*alerts.Alert, error) {
	list, err := tx.s.queryAlerts(ctx, tx.tx, `SELECT `+alertCols+` FROM alerts
		WHERE device_id = ? AND kind = ? ORDER BY opened_at DESC, id DESC LIMIT 1`, deviceID, string(kind))
	if err != nil {
		return nil, fmt.Errorf("latest alert: %w", err)
	}
	if len(list) == 0 {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "device %q has no %s alert", deviceID, kind)
	}
	return list[0], nil
}

// CreateAlert implements alerts.Tx: it inserts a, sets a.ID (and a.Version
// to 1 if it was 0) and appends a change to the feed. a.Timeline is not
// stored: entries go in with AddTimeline.
func (tx *Tx) CreateAlert(ctx context.Context, a *alerts.Alert) error {
	if a == nil {
		return shouwang.Errorf(shouwang.EINVALID, "create alert: missing")
	}
	version := a.Version
	if version == 0 {
		version = 1
	}
	v := *a
	v.Version = version
	args, err := alertArgs(&v)
	if err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	if err := tx.tx.QueryRowContext(ctx, tx.q(insertAlert), args...).Scan(&v.ID); err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	if err := tx.syncWorkers(ctx, &v); err != nil {
		return fmt.Errorf("create alert %d: %w", v.ID, err)
	}
	if err := tx.appendChange(&v); err != nil {
		return fmt.Errorf("create alert %d: %w", v.ID, err)
	}
	a.ID, a.Version = v.ID, v.Version
	return nil
}

// UpdateAlert implements alerts.Tx: it writes every field of a but its ID
// and timeline, provided the stored version is a.Version-1, and appends a
// change to the feed (one per alert per transaction: an alert written
// earlier in this transaction keeps that version, and its change is
// replaced). A stale version fails with ECONFLICT, an unknown ID with
// ENOTFOUND.
func (tx *Tx) UpdateAlert(ctx context.Context, a *alerts.Alert) error {
	if a == nil {
		return shouwang.Errorf(shouwang.EINVALID, "update alert: missing")
	}
	// Written already in this transaction: the same version again, with
	// the one change the feed will carry (alerts.PendingChanges).
	asked, stored := a.Version, a.Version-1
	a.Version = tx.changes.WriteVersion(a.ID, asked)
	if err := tx.updateAlert(ctx, a, stored); err != nil {
		a.Version = asked
		return err
	}
	return nil
}

func (tx *Tx) updateAlert(ctx context.Context, a *alerts.Alert, stored int64) error {
	args, err := alertArgs(a)
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	res, err := tx.tx.ExecContext(ctx, tx.q(updateAlert), append(args, a.ID, stored)...)
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	if n == 0 {
		var one int
		err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT 1 FROM alerts WHERE id = ?`), a.ID).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return alertNotFound(a.ID)
		case err != nil:
			return fmt.Errorf("update alert %d: %w", a.ID, err)
		}
		return shouwang.Errorf(shouwang.ECONFLICT, "alert %d changed meanwhile", a.ID)
	}
	if err := tx.syncWorkers(ctx, a); err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	if err := tx.appendChange(a); err != nil {
		return fmt.Errorf("update alert %d: %w", a.ID, err)
	}
	return nil
}

// AddTimeline implements alerts.Tx: it appends e to the alert's timeline. A
// zero e.At means now.
func (tx *Tx) AddTimeline(ctx context.Context, alertID int64, e alerts.TimelineEntry) error {
	if e.Action == "" {
		return shouwang.Errorf(shouwang.EINVALID, "alert %d: timeline entry without an action", alertID)
	}
	at := e.At
	if at.IsZero() {
		at = tx.s.now()
	}
	data := "{}"
	if len(e.Data) > 0 {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("add timeline: alert %d: %w", alertID, err)
		}
		data = string(b)
	}
	// The EXISTS guard turns a missing alert into no row (ENOTFOUND) rather
	// than a driver-specific foreign key error.
	res, err := tx.tx.ExecContext(ctx, tx.q(`INSERT INTO alert_timeline (alert_id, at, actor_name, actor_role, action, note, data)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?)`),
		alertID, at.UnixMilli(), e.Actor.Name, e.Actor.Role, e.Action, e.Note, data, alertID)
	if err != nil {
		return fmt.Errorf("add timeline: alert %d: %w", alertID, err)
	}
	return mustAffect(res, alertNotFound(alertID))
}

// stamp is the time a change is recorded at: when the alert says it was
// updated, else now.
func (tx *Tx) stamp(a *alerts.Alert) time.Time {
	if !a.UpdatedAt.IsZero() {
		return a.UpdatedAt
	}
	return tx.s.now()
}
