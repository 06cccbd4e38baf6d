package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shouwang-hub/shouwang/devices"
)

// indexCols are the columns LoadDeviceIndex reads: what the hub's device
// index keeps, and whether the device was ever heard from.
const indexCols = `id, kind, capabilities, community, grid, building, last_seen, source`

// CountDevices returns how many devices are registered.
func (s *Store) CountDevices(ctx context.Context) (int, error) {
	var n int
	if err := s.db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count devices: %w", err)
	}
	return n, nil
}

// LoadDeviceIndex calls fn for every registered device, in no particular
// order, in one query: the hub builds its in-memory index from it. Only the
// fields the index keeps are set — ID, Kind, Capabilities, the location's
// Community, Grid and Building, Health.LastSeen and Source — so a million devices
// load without a million full records. d is reused from one call to the
// next: fn may keep what it reads from d, but not d itself. An error from fn stops
// the load and is returned as it is.
func (s *Store) LoadDeviceIndex(ctx context.Context, fn func(d *devices.Device) error) error {
	// No ORDER BY: the table in storage order, not the primary key's index
	// and a lookup per row.
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+indexCols+` FROM devices`)
	if err != nil {
		return fmt.Errorf("load device index: %w", err)
	}
	defer rows.Close()
	var (
		d          devices.Device
		kind, caps string
		source     string
		lastSeen   sql.NullInt64
		l          = &d.Location
	)
	for rows.Next() {
		if err := rows.Scan(&d.ID, &kind, &caps, &l.Community, &l.Grid, &l.Building, &lastSeen, &source); err != nil {
			return fmt.Errorf("load device index: %w", err)
		}
		d.Kind, d.Capabilities, d.Source = devices.Kind(kind), nil, devices.Source(source)
		if err := parseList(caps, &d.Capabilities); err != nil {
			return fmt.Errorf("load device index: device %q: decode capabilities: %w", d.ID, err)
		}
		d.Health.LastSeen = fromMillis(lastSeen)
		if err := fn(&d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load device index: %w", err)
	}
	return nil
}
