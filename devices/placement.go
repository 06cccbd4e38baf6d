package devices

import "slices"

// Codes of the placement warnings (Warning.Code) an installer gets when a
// registration leaves its household in doubt. The device is registered all
// the same: a warning asks for a second look, it never refuses.
const (
	// WarnUnitMissing: a household given without its unit in a building
	// whose devices name units. Placed says where it went.
	WarnUnitMissing = "unit_missing"
	// WarnFloorMissing: a household given without its floor in a building
	// whose devices name floors. Floor is the floor its household's other
	// devices give, "" when none does.
	WarnFloorMissing = "floor_missing"
	// WarnFloorDiffers: the device's floor differs from the floor another
	// device of its household gives (Other, OtherFloor). The building view
	// shows the household once, on one of them.
	WarnFloorDiffers = "floor_differs"
)

// Where a device registered without its unit was placed (Warning.Placed).
const (
	// PlacedJoined: in the household of that number its building's devices
	// name in one unit (Warning.Unit), as CompleteUnits places it.
	PlacedJoined = "joined"
	// PlacedAmbiguous: nowhere, because devices of several units
	// (Warning.Units) share the household number; it stands as a household
	// of its own, without a unit.
	PlacedAmbiguous = "ambiguous"
	// PlacedAlone: no device of the building names a unit for its household
	// number; it stands as a household of its own, without a unit.
	PlacedAlone = "alone"
)

// Warning is one doubt about where a registered device belongs. Its text is
// made by the reader (the console's page, hubctl) from Code and the fields;
// Line is the CSV line of an imported row (0 otherwise).
type Warning struct {
	Code       string   `json:"code"`
	Line       int      `json:"line,omitempty"`
	ID         string   `json:"id"`
	Building   string   `json:"building"`
	Household  string   `json:"household"`
	Placed     string   `json:"placed,omitempty"`
	Unit       string   `json:"unit,omitempty"`
	Units      []string `json:"units,omitempty"`
	Floor      string   `json:"floor,omitempty"`
	Other      string   `json:"other,omitempty"`
	OtherFloor string   `json:"other_floor,omitempty"`
}

// PlacementWarnings returns the warnings about added, devices just
// registered (or changed), among registered, the devices already in their
// buildings (a device of added found there again is taken from added). They
// are in the order of added; a floor that differs is reported once, on the
// later of the two devices (any device already registered comes first).
// Devices without a household or a building are not judged: they belong to
// no household cell.
func PlacementWarnings(registered, added []*Device) []Warning {
	ids := make(map[string]bool, len(added))
	for _, d := range added {
		ids[d.ID] = true
	}
	all := make([]*Device, 0, len(registered)+len(added))
	for _, d := range registered {
		if !ids[d.ID] {
			all = append(all, d)
		}
	}
	before := len(all)
	all = append(all, added...)
	complete := CompleteUnits(all)

	type building struct{ community, name string }
	hasUnits, hasFloors := map[building]bool{}, map[building]bool{}
	units := map[string][]string{} // a building's household number → the units naming it
	floors := map[string][]int{}   // a household → indexes into all of its devices that give a floor
	numberKey := func(l Location) string { return l.Community + "\x1f" + l.Building + "\x1f" + l.Household }
	for i, d := range all {
		l := d.Location
		b := building{l.Community, l.Building}
		hasUnits[b] = hasUnits[b] || l.Unit != ""
		hasFloors[b] = hasFloors[b] || l.Floor != ""
		if l.Household == "" {
			continue
		}
		if k := numberKey(l); l.Unit != "" && !slices.Contains(units[k], l.Unit) {
			units[k] = append(units[k], l.Unit)
		}
		if l.Floor != "" {
			k := complete(l).HouseholdKey()
			floors[k] = append(floors[k], i)
		}
	}

	var out []Warning
	for j, d := range added {
		i := before + j
		l := d.Location
		if l.Household == "" || l.Building == "" {
			continue
		}
		b := building{l.Community, l.Building}
		w := Warning{ID: d.ID, Building: l.Building, Household: l.Household}
		placed := complete(l)
		if l.Unit == "" && hasUnits[b] {
			u := w
			u.Code = WarnUnitMissing
			switch named := units[numberKey(l)]; {
			case placed.Unit != "":
				u.Placed, u.Unit = PlacedJoined, placed.Unit
			case len(named) > 1:
				u.Placed, u.Units = PlacedAmbiguous, slices.SortedFunc(slices.Values(named), ComparePlace)
			default:
				u.Placed = PlacedAlone
			}
			out = append(out, u)
		}
		given := floors[placed.HouseholdKey()]
		if l.Floor == "" {
			if hasFloors[b] {
				f := w
				f.Code = WarnFloorMissing
				if len(given) > 0 {
					f.Floor = all[given[0]].Location.Floor
				}
				out = append(out, f)
			}
			continue
		}
		// The first device before this one whose floor differs: one warning
		// a pair, on the later.
		if k := slices.IndexFunc(given, func(o int) bool { return o < i && all[o].Location.Floor != l.Floor }); k >= 0 {
			o := all[given[k]]
			f := w
			f.Code, f.Floor, f.Other, f.OtherFloor = WarnFloorDiffers, l.Floor, o.ID, o.Location.Floor
			out = append(out, f)
		}
	}
	return out
}
