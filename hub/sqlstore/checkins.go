package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Check-ins: each household's latest sign of life (checkin_activity) and
// what staff set for it (checkin_plans), migration 00007.

// The check-in parts of the store.
var (
	_ alerts.CheckinTx    = (*Tx)(nil)
	_ alerts.CheckinStore = (*Store)(nil)
)

// upsertActivity keeps a sign of life unless a later one is stored.
const upsertActivity = `INSERT INTO checkin_activity (household, at, device_id, how) VALUES (?, ?, ?, ?)
	ON CONFLICT (household) DO UPDATE SET at = excluded.at, device_id = excluded.device_id, how = excluded.how
	WHERE excluded.at > checkin_activity.at`

func checkActivity(a alerts.Activity) error {
	if a.Household == "" || a.At.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "record activity: household and time are required")
	}
	for _, v := range []string{a.Household, a.DeviceID, a.How} {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return shouwang.Errorf(shouwang.EINVALID, "record activity: text that is not valid UTF-8 or holds a NUL")
		}
	}
	return nil
}

// RecordActivity implements alerts.CheckinTx.
func (tx *Tx) RecordActivity(ctx context.Context, a alerts.Activity) error {
	if err := checkActivity(a); err != nil {
		return err
	}
	if _, err := tx.tx.ExecContext(ctx, tx.q(upsertActivity), a.Household, a.At.UnixMilli(), a.DeviceID, a.How); err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	return nil
}

// LastActivity implements alerts.CheckinTx.
func (tx *Tx) LastActivity(ctx context.Context, household string) (alerts.Activity, error) {
	a := alerts.Activity{Household: household}
	var at int64
	err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT at, device_id, how FROM checkin_activity WHERE household = ?`), household).
		Scan(&at, &a.DeviceID, &a.How)
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Activity{}, nil
	} else if err != nil {
		return alerts.Activity{}, fmt.Errorf("last activity: %w", err)
	}
	a.At = zeroOrMillis(at)
	return a, nil
}

// SaveActivities implements alerts.CheckinStore, in one transaction.
func (s *Store) SaveActivities(ctx context.Context, as []alerts.Activity) error {
	for _, a := range as {
		if err := checkActivity(a); err != nil {
			return err
		}
	}
	if len(as) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		for _, a := range as {
			if _, err := tx.ExecContext(ctx, s.q(upsertActivity), a.Household, a.At.UnixMilli(), a.DeviceID, a.How); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save activities: %w", err)
	}
	return nil
}

// Activities implements alerts.CheckinStore.
func (s *Store) Activities(ctx context.Context) ([]alerts.Activity, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT household, at, device_id, how FROM checkin_activity ORDER BY household`)
	if err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	defer rows.Close()
	var out []alerts.Activity
	for rows.Next() {
		var (
			a  alerts.Activity
			at int64
		)
		if err := rows.Scan(&a.Household, &at, &a.DeviceID, &a.How); err != nil {
			return nil, fmt.Errorf("activities: %w", err)
		}
		a.At = zeroOrMillis(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	return out, nil
}

// SetCheckinPlan implements alerts.CheckinStore.
func (s *Store) SetCheckinPlan(ctx context.Context, p alerts.CheckinPlan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var start, end sql.NullInt64
	if p.Start != nil {
		start, end = sql.NullInt64{Int64: int64(*p.Start), Valid: true}, sql.NullInt64{Int64: int64(*p.End), Valid: true}
	}
	var watch sql.NullBool
	if p.Watch != nil {
		watch = sql.NullBool{Bool: *p.Watch, Valid: true}
	}
	updated := p.UpdatedAt
	if updated.IsZero() {
		updated = s.now()
	}
	var err error
	if p.Empty() {
		_, err = s.exec(ctx, `DELETE FROM checkin_plans WHERE household = ?`, p.Household)
	} else {
		_, err = s.exec(ctx, `INSERT INTO checkin_plans (household, watch, start_min, end_min, quiet_until, quiet_note, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (household) DO UPDATE SET watch = excluded.watch, start_min = excluded.start_min, end_min = excluded.end_min,
				quiet_until = excluded.quiet_until, quiet_note = excluded.quiet_note, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			p.Household, watch, start, end, millis(p.QuietUntil), p.QuietNote, p.UpdatedBy, updated.UnixMilli())
	}
	if err != nil {
		return fmt.Errorf("set check-in plan: %w", err)
	}
	return nil
}

// CheckinPlans implements alerts.CheckinStore.
func (s *Store) CheckinPlans(ctx context.Context) ([]alerts.CheckinPlan, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT household, watch, start_min, end_min, quiet_until, quiet_note, updated_by, updated_at
		FROM checkin_plans ORDER BY household`)
	if err != nil {
		return nil, fmt.Errorf("check-in plans: %w", err)
	}
	defer rows.Close()
	var out []alerts.CheckinPlan
	for rows.Next() {
		var (
			p                 alerts.CheckinPlan
			watch             sql.NullBool
			start, end, quiet sql.NullInt64
			updated           int64
		)
		if err := rows.Scan(&p.Household, &watch, &start, &end, &quiet, &p.QuietNote, &p.UpdatedBy, &updated); err != nil {
			return nil, fmt.Errorf("check-in plans: %w", err)
		}
		if watch.Valid {
			p.Watch = &watch.Bool
		}
		if start.Valid && end.Valid {
			st, en := alerts.Clock(start.Int64), alerts.Clock(end.Int64)
			p.Start, p.End = &st, &en
		}
		p.QuietUntil, p.UpdatedAt = fromMillis(quiet), zeroOrMillis(updated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check-in plans: %w", err)
	}
	return out, nil
}

// HouseholdLocations implements alerts.CheckinTx: the locations of the
// registered devices at l's community, building and household number,
// whatever their unit.
func (tx *Tx) HouseholdLocations(ctx context.Context, l devices.Location) ([]devices.Location, error) {
	rows, err := tx.tx.QueryContext(ctx, tx.q(`SELECT community, grid, building, unit, floor, household FROM devices
		WHERE community = ? AND building = ? AND household = ?`), l.Community, l.Building, l.Household)
	if err != nil {
		return nil, fmt.Errorf("household locations: %w", err)
	}
	defer rows.Close()
	var out []devices.Location
	for rows.Next() {
		var x devices.Location
		if err := rows.Scan(&x.Community, &x.Grid, &x.Building, &x.Unit, &x.Floor, &x.Household); err != nil {
			return nil, fmt.Errorf("household locations: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("household locations: %w", err)
	}
	return out, nil
}

// EachHouseholdDevice calls fn with every registered device that belongs to
// a household, with its ID, kind, location, its resident's name and
// whether they live alone, its grid worker's name and when it was
// registered, in ID order: what the hub's check-in
// book is built from. fn may keep d.
func (s *Store) EachHouseholdDevice(ctx context.Context, fn func(d *devices.Device) error) error {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, kind, community, grid, building, unit, floor, household,
		resident_name, resident_lives_alone, grid_worker_name, created_at FROM devices WHERE household <> '' ORDER BY id`)
	if err != nil {
		return fmt.Errorf("household devices: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d       devices.Device
			kind    string
			created int64
		)
		l := &d.Location
		if err := rows.Scan(&d.ID, &kind, &l.Community, &l.Grid, &l.Building, &l.Unit, &l.Floor, &l.Household,
			&d.Resident.Name, &d.Resident.LivesAlone, &d.GridWorker.Name, &created); err != nil {
			return fmt.Errorf("household devices: %w", err)
		}
		d.Kind, d.CreatedAt = devices.Kind(kind), zeroOrMillis(created)
		if err := fn(&d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("household devices: %w", err)
	}
	return nil
}
