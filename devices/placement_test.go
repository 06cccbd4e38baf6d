package devices_test

import (
	"reflect"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// The placement rule: a registration without its unit or floor in a
// building whose devices give them, and a floor that differs from its
// household's, each warned about once, saying where the device went.
func TestPlacementWarnings(t *testing.T) {
	dev := func(id, building, unit, floor, hh string) *devices.Device {
		return &devices.Device{ID: id, Location: devices.Location{Community: "青山社区", Building: building, Unit: unit, Floor: floor, Household: hh}}
	}
	registered := []*devices.Device{
		dev("r1", "5栋", "1单元", "2层", "201"),
		dev("r2", "5栋", "1单元", "1层", "101"),
		dev("r3", "5栋", "2单元", "1层", "101"),
		dev("r4", "6栋", "", "", "601"), // a building without units or floors
		dev("r5", "5栋", "1单元", "3层", "301"),
		dev("r6", "5栋", "1单元", "4层", "301"), // registered before: not judged again
	}
	w := func(code, id, hh string) devices.Warning {
		return devices.Warning{Code: code, ID: id, Building: "5栋", Household: hh}
	}
	for _, c := range []struct {
		name  string
		added []*devices.Device
		want  []devices.Warning
	}{
		{"complete: no warning", []*devices.Device{dev("a", "5栋", "1单元", "2层", "201")}, nil},
		{"unit missing, joins its household", []*devices.Device{dev("a", "5栋", "", "2层", "201")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnUnitMissing, "a", "201")
				x.Placed, x.Unit = devices.PlacedJoined, "1单元"
				return x
			}()}},
		{"unit missing, two units share the number", []*devices.Device{dev("a", "5栋", "", "1层", "101")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnUnitMissing, "a", "101")
				x.Placed, x.Units = devices.PlacedAmbiguous, []string{"1单元", "2单元"}
				return x
			}()}},
		{"unit missing, no household of that number", []*devices.Device{dev("a", "5栋", "", "9层", "901")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnUnitMissing, "a", "901")
				x.Placed = devices.PlacedAlone
				return x
			}()}},
		{"floor missing, its household's floor", []*devices.Device{dev("a", "5栋", "1单元", "", "201")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnFloorMissing, "a", "201")
				x.Floor = "2层"
				return x
			}()}},
		{"unit and floor missing, both said", []*devices.Device{dev("a", "5栋", "", "", "201")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnUnitMissing, "a", "201")
				x.Placed, x.Unit = devices.PlacedJoined, "1单元"
				return x
			}(), func() devices.Warning {
				x := w(devices.WarnFloorMissing, "a", "201")
				x.Floor = "2层"
				return x
			}()}},
		{"floor differs from a registered device", []*devices.Device{dev("a", "5栋", "1单元", "3层", "201")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnFloorDiffers, "a", "201")
				x.Floor, x.Other, x.OtherFloor = "3层", "r1", "2层"
				return x
			}()}},
		{"floor differs once per pair, on the later of two added",
			[]*devices.Device{dev("a", "5栋", "1单元", "7层", "701"), dev("b", "5栋", "", "8层", "701")},
			[]devices.Warning{func() devices.Warning {
				x := w(devices.WarnUnitMissing, "b", "701")
				x.Placed, x.Unit = devices.PlacedJoined, "1单元"
				return x
			}(), func() devices.Warning {
				x := w(devices.WarnFloorDiffers, "b", "701")
				x.Floor, x.Other, x.OtherFloor = "8层", "a", "7层"
				return x
			}()}},
		{"a changed device is judged as changed, not against its old self",
			[]*devices.Device{dev("r1", "5栋", "1单元", "5层", "201")}, nil},
		{"a building without units or floors", []*devices.Device{dev("a", "6栋", "", "", "601")}, nil},
		{"no household or no building: not judged",
			[]*devices.Device{dev("a", "5栋", "", "", ""), dev("b", "", "", "", "201")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := devices.PlacementWarnings(registered, c.added)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}
