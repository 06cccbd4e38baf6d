package alerts_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// A household registered once with and once without its unit or floor is
// one entry of the list, where the registrations that give them put it.
func TestEvacuationIncompleteRegistrations(t *testing.T) {
	dev := func(id, unit, floor, hh string, born int) *devices.Device {
		return &devices.Device{ID: id, Location: devices.Location{Community: "青山社区", Building: "5栋", Unit: unit, Floor: floor, Household: hh},
			Resident: devices.Resident{Name: "住户" + hh, BirthYear: born}}
	}
	ds := []*devices.Device{
		dev("smk-nofloor", "1单元", "", "1-301", 1930),
		dev("smk-nounit", "", "", "1-301", 1930),
		dev("sos", "1单元", "3层", "1-301", 1930),
		dev("smk-2", "1单元", "2层", "1-201", 1960),
	}
	got := alerts.Evacuation(ds, alerts.DefaultRules().Evacuation, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	if len(got) != 2 {
		t.Fatalf("%d households, want 2: %+v", len(got), got)
	}
	if e := got[0]; e.Household != "1-301" || e.Unit != "1单元" || e.Floor != "3层" || !slices.Equal(e.Devices, []string{"smk-nofloor", "smk-nounit", "sos"}) {
		t.Errorf("1-301: %+v", e)
	}
}
