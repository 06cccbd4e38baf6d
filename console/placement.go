package console

import (
	"context"
	"fmt"
	"slices"

	"github.com/shouwang-hub/shouwang/devices"
)

// buildingDevices returns every device registered in one building of a
// community (in the whole community if building is ""), every page.
func (s *Server) buildingDevices(ctx context.Context, community, building string) ([]*devices.Device, error) {
	var ds []*devices.Device
	for offset := 0; ; {
		page, total, err := s.cfg.Registry.ListDevices(ctx, devices.Filter{Community: community, Building: building, Offset: offset, Limit: 1000})
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		ds = append(ds, slices.DeleteFunc(page, func(d *devices.Device) bool {
			return d.Location.Community != community || building != "" && d.Location.Building != building
		})...)
		offset += len(page)
		if len(page) == 0 || offset >= total {
			return ds, nil
		}
	}
}

// placementWarnings says where devices just written were placed when their
// registration left the household in doubt (devices.PlacementWarnings),
// judged among their buildings' registered devices. lines, if given, are
// the CSV lines of ds. The devices are registered whatever it finds, so a
// failed look-up is logged and answered with no warnings, never an error:
// the write's answer (passwords) must not be lost.
func (s *Server) placementWarnings(ctx context.Context, ds []*devices.Device, lines []int) []devices.Warning {
	type building struct{ community, name string }
	var order []building
	byBuilding := map[building][]int{}
	for i, d := range ds {
		l := d.Location
		if l.Household == "" || l.Building == "" {
			continue
		}
		b := building{l.Community, l.Building}
		if byBuilding[b] == nil {
			order = append(order, b)
		}
		byBuilding[b] = append(byBuilding[b], i)
	}
	var out []devices.Warning
	for _, b := range order {
		registered, err := s.buildingDevices(ctx, b.community, b.name)
		if err != nil {
			s.log.Warn("placement warnings not checked", "building", b.name, "err", err)
			continue
		}
		added := make([]*devices.Device, len(byBuilding[b]))
		for k, i := range byBuilding[b] {
			added[k] = ds[i]
		}
		ws := devices.PlacementWarnings(registered, added)
		if lines != nil {
			at := make(map[string]int, len(added))
			for _, i := range byBuilding[b] {
				at[ds[i].ID] = lines[i]
			}
			for k := range ws {
				ws[k].Line = at[ws[k].ID]
			}
		}
		out = append(out, ws...)
	}
	if lines != nil {
		slices.SortStableFunc(out, func(a, b devices.Warning) int { return a.Line - b.Line })
	}
	return out
}

// warnedDevices counts the devices ws is about.
func warnedDevices(ws []devices.Warning) int {
	seen := map[string]bool{}
	for _, w := range ws {
		seen[w.ID] = true
	}
	return len(seen)
}
