package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// The closed loop's part of the store: what a grid worker sees (their
// grids' alerts and those sent to them), the follow-ups pending, the alerts
// a period's figures are computed from, and photos kept with an alert.

// scopeWhere adds a grid worker's scope and the pending follow-ups to an
// alert listing's conditions.
func scopeWhere(w *where, f alerts.Filter) {
	if sc := f.Scope; sc != nil {
		conds := make([]string, 0, len(sc.Grids)+1)
		var args []any
		for _, g := range sc.Grids {
			conds = append(conds, "(community = ? AND grid = ?)")
			args = append(args, g.Community, g.Grid)
		}
		conds = append(conds, "EXISTS (SELECT 1 FROM alert_workers w WHERE w.alert_id = alerts.id AND w.worker = ?)")
		args = append(args, sc.User)
		w.add("("+strings.Join(conds, " OR ")+")", args...)
	}
	if f.FollowUpPending {
		w.add("followup_due IS NOT NULL AND followup_done IS NULL")
	}
}

// PeriodAlerts implements alerts.Store: every alert opened in [from, to),
// tests excluded, without timelines, by ID, read in one snapshot.
func (s *Store) PeriodAlerts(ctx context.Context, from, to time.Time) ([]*alerts.Alert, error) {
	var list []*alerts.Alert
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = s.queryAlerts(ctx, tx, `SELECT `+alertCols+` FROM alerts
			WHERE test = ? AND opened_at >= ? AND opened_at < ? ORDER BY id`, false, from.UnixMilli(), to.UnixMilli())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("period alerts: %w", err)
	}
	return list, nil
}

// AddPhoto implements alerts.Tx: it stores a photo's metadata and sets
// p.ID. ENOTFOUND if the alert does not exist.
func (tx *Tx) AddPhoto(ctx context.Context, p *alerts.Photo) error {
	err := tx.tx.QueryRowContext(ctx, tx.q(`INSERT INTO alert_photos (alert_id, at, by_name, content_type, size, sha256, file)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?) RETURNING id`),
		p.AlertID, unixMillis(p.At), p.By, p.ContentType, p.Size, p.SHA256, p.File, p.AlertID).Scan(&p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return alertNotFound(p.AlertID)
	} else if err != nil {
		return fmt.Errorf("add photo: alert %d: %w", p.AlertID, err)
	}
	p.At = ms(p.At)
	return nil
}

// FindPhoto implements alerts.Store.
func (s *Store) FindPhoto(ctx context.Context, alertID, photoID int64) (*alerts.Photo, error) {
	var (
		p  = alerts.Photo{AlertID: alertID}
		at int64
	)
	err := s.db.r.QueryRowContext(ctx, s.q(`SELECT id, at, by_name, content_type, size, sha256, file
		FROM alert_photos WHERE alert_id = ? AND id = ?`), alertID, photoID).
		Scan(&p.ID, &at, &p.By, &p.ContentType, &p.Size, &p.SHA256, &p.File)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d has no photo %d", alertID, photoID).With("photo.not_found")
	} else if err != nil {
		return nil, fmt.Errorf("find photo: %w", err)
	}
	p.At = zeroOrMillis(at)
	return &p, nil
}
