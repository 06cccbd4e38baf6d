package hub

import (
	"cmp"
	"slices"

	"github.com/shouwang-hub/shouwang/devices"
)

// Place is a building the index knows (community, grid and building) and
// how many registered devices it has.
type Place struct {
	Location devices.Location
	Devices  int
}

// Places lists every building with registered devices, by community, then
// building in reading order: the console's building view picks from it
// without reading the registry.
func (x *DeviceIndex) Places() []Place {
	x.mu.RLock()
	counts := make([]int, len(x.places))
	for _, r := range x.recs {
		if r.flags&recRemoved == 0 {
			counts[r.place]++
		}
	}
	out := make([]Place, 0, len(x.places))
	for i, l := range x.places {
		if counts[i] > 0 {
			out = append(out, Place{Location: *l, Devices: counts[i]})
		}
	}
	x.mu.RUnlock()
	slices.SortFunc(out, func(a, b Place) int {
		return cmp.Or(cmp.Compare(a.Location.Community, b.Location.Community),
			devices.ComparePlace(a.Location.Building, b.Location.Building),
			cmp.Compare(a.Location.Grid, b.Location.Grid))
	})
	return out
}
