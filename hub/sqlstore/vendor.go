package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Off-the-shelf devices in the store: addressing checks on registration,
// the vendor state kept with the events it leads to, and what bridges
// report (discovered).

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkAddress refuses a device whose messages could not be told apart
// from another's: a Zigbee device must name a registered Zigbee2MQTT
// bridge and an IEEE address no other device on it has; a bridge's base
// topic and a Shelly's prefix must not overlap any other root.
func (s *Store) checkAddress(ctx context.Context, q queryer, d *devices.Device) error {
	switch {
	case d.Source == devices.SourceZigbee2MQTT && d.Kind != devices.KindGateway:
		var kind, source string
		err := q.QueryRowContext(ctx, s.q(`SELECT kind, source FROM devices WHERE id = ?`), d.Gateway).Scan(&kind, &source)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (kind != string(devices.KindGateway) || source != string(devices.SourceZigbee2MQTT)) {
			return shouwang.Errorf(shouwang.EINVALID, "gateway %q: not a registered Zigbee2MQTT bridge", d.Gateway)
		} else if err != nil {
			return err
		}
		var other string
		err = q.QueryRowContext(ctx, s.q(`SELECT id FROM devices WHERE source = ? AND gateway = ? AND address = ? AND id <> ?`),
			string(devices.SourceZigbee2MQTT), d.Gateway, d.Address, d.ID).Scan(&other)
		if err == nil {
			return shouwang.Errorf(shouwang.ECONFLICT, "address %s on bridge %s is already device %q", d.Address, d.Gateway, other)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	case d.Kind == devices.KindGateway || d.Source == devices.SourceShelly:
		rows, err := q.QueryContext(ctx, s.q(`SELECT id, address FROM devices WHERE (kind = ? OR source = ?) AND id <> ?`),
			string(devices.KindGateway), string(devices.SourceShelly), d.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, addr string
			if err := rows.Scan(&id, &addr); err != nil {
				return err
			}
			if devices.RootsOverlap(addr, d.Address) {
				return shouwang.Errorf(shouwang.ECONFLICT, "address %q overlaps the topics of device %q (%s)", d.Address, id, addr)
			}
		}
		return rows.Err()
	}
	return nil
}

// VendorDevices returns every device that is not native: bridges, the
// devices behind them and Shelly devices, for the hub's routing.
func (s *Store) VendorDevices(ctx context.Context) ([]*devices.Device, error) {
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE source <> '' AND source <> ? ORDER BY id`),
		string(devices.SourceNative))
	if err != nil {
		return nil, fmt.Errorf("vendor devices: %w", err)
	}
	return scanDevices(rows, 16)
}

// VendorStates returns the stored state of each of ids that has one.
func (tx *Tx) VendorStates(ctx context.Context, ids []string) (map[string]devices.VendorState, error) {
	out := make(map[string]devices.VendorState, len(ids))
	for _, id := range ids {
		var raw string
		err := tx.tx.QueryRowContext(ctx, tx.q(`SELECT state FROM vendor_state WHERE device_id = ?`), id).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("vendor state of %s: %w", id, err)
		}
		var st devices.VendorState
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			return nil, fmt.Errorf("vendor state of %s: %w", id, err)
		}
		out[id] = st
	}
	return out, nil
}

// SaveVendorStates writes the states, in the transaction that stores what
// they led to.
func (tx *Tx) SaveVendorStates(ctx context.Context, states map[string]devices.VendorState, at time.Time) error {
	for id, st := range states {
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		_, err = tx.tx.ExecContext(ctx, tx.q(`INSERT INTO vendor_state (device_id, state, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (device_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`),
			id, string(raw), at.UnixMilli())
		if err != nil {
			return fmt.Errorf("save vendor state of %s: %w", id, err)
		}
	}
	return nil
}

// SaveDiscovered replaces what bridge gateway reports.
func (s *Store) SaveDiscovered(ctx context.Context, gateway string, ds []devices.Discovered, at time.Time) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM discovered WHERE gateway = ?`), gateway); err != nil {
			return err
		}
		for _, d := range ds {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO discovered (gateway, ieee, friendly_name, model, vendor, description, supported, seen_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (gateway, ieee) DO NOTHING`),
				gateway, d.IEEE, devices.ClipText(d.FriendlyName, 256), devices.ClipText(d.Model, 128), devices.ClipText(d.Vendor, 128),
				devices.ClipText(d.Description, 256), d.Supported, at.UnixMilli())
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save discovered devices: %w", err)
	}
	return nil
}

// ListDiscovered returns what the bridges report, with the ID of the
// registered device at each address ("" for those nobody has bound yet).
// An empty gateway lists every bridge's.
func (s *Store) ListDiscovered(ctx context.Context, gateway string) ([]devices.Discovered, error) {
	rows, err := s.db.r.QueryContext(ctx, s.q(`SELECT x.gateway, x.ieee, x.friendly_name, x.model, x.vendor, x.description,
			x.supported, x.seen_at, COALESCE(d.id, '')
		FROM discovered x LEFT JOIN devices d ON d.source = ? AND d.gateway = x.gateway AND d.address = x.ieee
		WHERE ? = '' OR x.gateway = ?
		ORDER BY x.gateway, x.friendly_name`), string(devices.SourceZigbee2MQTT), gateway, gateway)
	if err != nil {
		return nil, fmt.Errorf("list discovered devices: %w", err)
	}
	defer rows.Close()
	var out []devices.Discovered
	for rows.Next() {
		var d devices.Discovered
		var seen int64
		if err := rows.Scan(&d.Gateway, &d.IEEE, &d.FriendlyName, &d.Model, &d.Vendor, &d.Description, &d.Supported, &seen, &d.DeviceID); err != nil {
			return nil, err
		}
		d.SeenAt = time.UnixMilli(seen)
		out = append(out, d)
	}
	return out, rows.Err()
}
