package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// The overview's silent devices show when each was last heard from, from
// the registry: the offline alert's snapshot of the device has no health,
// so they all read "never" before.
func TestSilentDevicesShowLastSeen(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := &devices.Device{ID: "smoke-9", Kind: devices.KindSmoke, Location: devices.Location{Community: "阳光社区", Building: "3号楼"}}
	if err := st.CreateDevice(ctx, d, "$7$x"); err != nil {
		t.Fatal(err)
	}
	seen := time.Date(2026, 3, 1, 7, 55, 0, 0, time.UTC)
	if err := st.UpdateHealth(ctx, []devices.HealthUpdate{{ID: d.ID, LastSeen: seen, Online: new(false)}}); err != nil {
		t.Fatal(err)
	}
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx alerts.Tx) error {
		_, err := svc.DeviceSilent(ctx, tx, d, seen, seen.Add(5*time.Minute))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := silentDevices(st, st)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != d.ID || !list[0].LastSeen.Equal(seen) || list[0].AlertID == 0 {
		t.Fatalf("silent devices %+v; want %s last seen %v with its alert", list, d.ID, seen)
	}
}
