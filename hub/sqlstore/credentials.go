package sqlstore

import (
	"context"
	"fmt"

	"github.com/shouwang-hub/shouwang/devices"
)

// LoadCredentials calls fn for every registered device with its MQTT
// password hash, in one query: what an external broker is given (EMQX's
// HTTP authenticator, mosquitto's password and ACL files). Only ID, Kind,
// Source, Gateway and Address are set on d, which is reused from one call
// to the next (fn may keep what it reads, not d). An error from fn stops
// the load and is returned as it is.
func (s *Store) LoadCredentials(ctx context.Context, fn func(d *devices.Device, hash string) error) error {
	rows, err := s.db.r.QueryContext(ctx, `SELECT id, kind, source, gateway, address, password_hash FROM devices`)
	if err != nil {
		return fmt.Errorf("load credentials: %w", err)
	}
	defer rows.Close()
	var (
		d                           devices.Device
		kind, source, gateway, addr string
		hash                        string
	)
	for rows.Next() {
		if err := rows.Scan(&d.ID, &kind, &source, &gateway, &addr, &hash); err != nil {
			return fmt.Errorf("load credentials: %w", err)
		}
		d.Kind, d.Source, d.Gateway, d.Address = devices.Kind(kind), devices.Source(source), gateway, addr
		if err := fn(&d, hash); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load credentials: %w", err)
	}
	return nil
}
