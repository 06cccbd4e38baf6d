package devices_test

import (
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// A registration without its unit joins the household its other devices
// place in one unit; a number two units share, a location with a unit of
// its own or without a household, and another building are left as they are.
func TestCompleteUnits(t *testing.T) {
	at := func(building, unit, hh string) devices.Location {
		return devices.Location{Community: "青山社区", Building: building, Unit: unit, Floor: "2层", Household: hh}
	}
	var ds []*devices.Device
	for _, l := range []devices.Location{at("5栋", "1单元", "1-201"), at("5栋", "", "1-201"),
		at("5栋", "1单元", "101"), at("5栋", "2单元", "101"), at("5栋", "1单元", "101")} {
		ds = append(ds, &devices.Device{Location: l})
	}
	complete := devices.CompleteUnits(ds)
	for _, c := range []struct{ in, want devices.Location }{
		{at("5栋", "", "1-201"), at("5栋", "1单元", "1-201")},
		{at("5栋", "3单元", "1-201"), at("5栋", "3单元", "1-201")},
		{at("5栋", "", "101"), at("5栋", "", "101")},
		{at("6栋", "", "1-201"), at("6栋", "", "1-201")},
		{at("5栋", "", ""), at("5栋", "", "")},
	} {
		if got := complete(c.in); got != c.want {
			t.Errorf("%+v: got unit %q, want %q", c.in, got.Unit, c.want.Unit)
		}
	}
}
