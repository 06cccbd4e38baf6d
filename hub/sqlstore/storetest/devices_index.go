package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// TestLoadDeviceIndex: every device once, with the fields the index keeps
// and nothing of the household record; an error from the callback stops
// the load.
func testLoadDeviceIndex(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	quiet := device("d2", "幸福里", "", "")
	quiet.Capabilities = nil
	mustCreate(t, s, device("d1", "阳光社区", "第一网格", "3号楼"), quiet)
	seen := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := s.UpdateHealth(ctx(t), []devices.HealthUpdate{{ID: "d1", LastSeen: seen}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]devices.Device{}
	var kept []*devices.Device
	err := s.LoadDeviceIndex(ctx(t), func(d *devices.Device) error {
		got[d.ID] = *d
		kept = append(kept, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]devices.Device{
		"d1": {ID: "d1", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice},
			Location: devices.Location{Community: "阳光社区", Grid: "第一网格", Building: "3号楼"},
			Health:   devices.Health{LastSeen: seen}},
		"d2": {ID: "d2", Kind: devices.KindSOSButton, Location: devices.Location{Community: "幸福里"}},
	}
	if len(got) != len(want) {
		t.Fatalf("loaded %d devices, want %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if g.ID != w.ID || g.Kind != w.Kind || !slices.Equal(g.Capabilities, w.Capabilities) ||
			g.Location != w.Location || !g.Health.LastSeen.Equal(w.Health.LastSeen) {
			t.Errorf("%s: got %+v\nwant %+v", id, g, w)
		}
		if g.Resident.Name != "" || len(g.Contacts) != 0 || g.Location.Household != "" {
			t.Errorf("%s: the household record was loaded: %+v", id, g)
		}
	}
	if kept[0] != kept[1] {
		t.Error("each row got its own Device; the load should reuse one")
	}

	stop := errors.New("enough")
	calls := 0
	err = s.LoadDeviceIndex(ctx(t), func(*devices.Device) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("LoadDeviceIndex after the callback failed: %v after %d calls; want %v after 1", err, calls, stop)
	}
}
