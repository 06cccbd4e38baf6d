package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// LoadCredentials gives every device with its password hash and the fields
// that say who it is to the broker, on both engines.
func TestLoadCredentials(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(*testing.T) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			ctx := context.Background()
			loc := devices.Location{Community: "阳光社区"}
			for _, c := range []struct {
				d    *devices.Device
				hash string
			}{
				{&devices.Device{ID: "sos-1", Kind: devices.KindSOSButton, Location: loc}, "$7$hash-sos"},
				{&devices.Device{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt", Location: loc}, "$7$hash-zb"},
			} {
				if err := s.CreateDevice(ctx, c.d, c.hash); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			var gateway devices.Device
			err := s.LoadCredentials(ctx, func(d *devices.Device, hash string) error {
				got[d.ID] = hash
				if d.ID == "zb-1" {
					gateway = *d
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got["sos-1"] != "$7$hash-sos" || got["zb-1"] != "$7$hash-zb" {
				t.Errorf("credentials %v", got)
			}
			if gateway.Kind != devices.KindGateway || gateway.Source != devices.SourceZigbee2MQTT || gateway.Address != "zigbee2mqtt" {
				t.Errorf("the bridge as loaded: %+v", gateway)
			}
			stop := errors.New("stop")
			if err := s.LoadCredentials(ctx, func(*devices.Device, string) error { return stop }); !errors.Is(err, stop) {
				t.Errorf("an error from fn: %v", err)
			}
		})
	}
}
