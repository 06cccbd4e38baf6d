package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The building view: a building as units × floors, each household
// coloured by the state of its devices, from the registry and the open
// alerts — no map tiles, nothing outside the hub. The page says the states
// (codes) in its language.

// Household states, worst first.
const (
	StateAlarm   = "alarm"   // an open alarm: SOS, smoke, gas, CO, no sign of life
	StateFault   = "fault"   // an open fault, tamper, low battery or air quality alert
	StateOffline = "offline" // a device offline (its status, an offline alert, an outage)
	StateOK      = "ok"
)

var stateRank = map[string]int{StateAlarm: 3, StateFault: 2, StateOffline: 1, StateOK: 0}

// alertState is the household state an open alert of kind stands for.
func alertState(k alerts.Kind) string {
	switch k {
	case alerts.KindSOS, alerts.KindSmoke, alerts.KindGasLow, alerts.KindGasHigh, alerts.KindCO, alerts.KindNoActivity:
		return StateAlarm
	case alerts.KindFault, alerts.KindTamper, alerts.KindLowBattery, alerts.KindAirQuality:
		return StateFault
	case alerts.KindOffline:
		return StateOffline
	}
	return StateOK
}

// Place is a building the registry knows, with how many devices it has
// (hub.DeviceIndex.Places).
type Place struct {
	Community string `json:"community"`
	Grid      string `json:"grid,omitempty"`
	Building  string `json:"building"`
	Devices   int    `json:"devices"`
}

// BuildingSummary is one building of a community at a glance: its
// households by state.
type BuildingSummary struct {
	Community  string         `json:"community"`
	Building   string         `json:"building"`
	Grid       string         `json:"grid,omitempty"`
	Households int            `json:"households"`
	Devices    int            `json:"devices"`
	States     map[string]int `json:"states"` // households by state
	// Incidents are the building's open incidents (alerts of kind
	// building_alarm or outage).
	Incidents []int64 `json:"incidents,omitempty"`
}

// HouseholdCell is one household in a building view.
type HouseholdCell struct {
	Unit       string       `json:"unit"`
	Floor      string       `json:"floor"`
	Household  string       `json:"household"`
	State      string       `json:"state"`
	Resident   string       `json:"resident,omitempty"`
	LivesAlone bool         `json:"lives_alone,omitempty"`
	Devices    []CellDevice `json:"devices"`
	Alerts     []CellAlert  `json:"alerts,omitempty"`
	// Incomplete are the household's devices registered without the unit
	// or floor its other devices have: counted in this one cell, and
	// named so the installer completes them.
	Incomplete []string `json:"incomplete,omitempty"`
}

// CellDevice is a device of a household, with its own state.
type CellDevice struct {
	ID    string       `json:"id"`
	Kind  devices.Kind `json:"kind"`
	State string       `json:"state"`
}

// CellAlert is an open alert of a household.
type CellAlert struct {
	ID       int64           `json:"id"`
	Kind     alerts.Kind     `json:"kind"`
	Severity alerts.Severity `json:"severity"`
	State    alerts.State    `json:"state"`
	Incident int64           `json:"incident_id,omitempty"`
}

// BuildingView is one building as units × floors: Units left to right,
// Floors top to bottom, and every household.
type BuildingView struct {
	Community  string          `json:"community"`
	Building   string          `json:"building"`
	Units      []string        `json:"units"`
	Floors     []string        `json:"floors"`
	Households []HouseholdCell `json:"households"`
	States     map[string]int  `json:"states"`
	Incidents  []*alerts.Alert `json:"incidents,omitempty"` // its open incidents
	// Elsewhere are the building's devices in no household (a stairwell,
	// a gateway), with their states.
	Elsewhere []CellDevice `json:"elsewhere,omitempty"`
}

// listBuildings answers GET /api/v1/buildings: without ?community=, the
// places the registry knows (every community's buildings and their device
// counts); with it, that community's buildings with their households by
// state.
func (s *Server) listBuildings(w http.ResponseWriter, r *http.Request) {
	community := r.URL.Query().Get("community")
	if community == "" {
		if s.cfg.Places == nil {
			s.writeError(w, r, shouwang.Errorf(shouwang.EINTERNAL, "the hub lists no places"))
			return
		}
		places := s.cfg.Places()
		if sc := scopeOf(sessionFrom(r.Context()).user); sc != nil {
			places = slices.DeleteFunc(slices.Clone(places), func(p Place) bool {
				return !slices.Contains(sc.Grids, devices.Location{Community: p.Community, Grid: p.Grid}.GridRef())
			})
		}
		writeJSON(w, http.StatusOK, map[string]any{"places": places})
		return
	}
	hs, err := s.households(r, community, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	byBuilding := map[string]*BuildingSummary{}
	for _, h := range hs.cells {
		b := byBuilding[h.building]
		if b == nil {
			b = &BuildingSummary{Community: community, Building: h.building, Grid: h.grid, States: map[string]int{}}
			byBuilding[h.building] = b
		}
		b.Households++
		b.Devices += len(h.Devices)
		b.States[h.State]++
	}
	for _, inc := range hs.incidents {
		if b := byBuilding[inc.Incident.Building]; b != nil {
			b.Incidents = append(b.Incidents, inc.ID)
		}
	}
	out := make([]*BuildingSummary, 0, len(byBuilding))
	for _, b := range byBuilding {
		out = append(out, b)
	}
	// Households registered without a building go last (the page says so).
	slices.SortFunc(out, func(a, b *BuildingSummary) int {
		if (a.Building == "") != (b.Building == "") {
			return cmp.Compare(len(b.Building), len(a.Building)) // the named one first
		}
		return devices.ComparePlace(a.Building, b.Building)
	})
	writeJSON(w, http.StatusOK, map[string]any{"community": community, "buildings": out})
}

// buildingView answers GET /api/v1/buildings/view?community=&building=.
func (s *Server) buildingView(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	community, building := q.Get("community"), q.Get("building")
	if community == "" || building == "" {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "community and building are required"))
		return
	}
	hs, err := s.households(r, community, building)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := BuildingView{Community: community, Building: building, States: map[string]int{}, Households: []HouseholdCell{}, Elsewhere: hs.elsewhere}
	for _, h := range hs.cells {
		v.Households = append(v.Households, h.HouseholdCell)
		v.States[h.State]++
		if !slices.Contains(v.Units, h.Unit) {
			v.Units = append(v.Units, h.Unit)
		}
		if !slices.Contains(v.Floors, h.Floor) {
			v.Floors = append(v.Floors, h.Floor)
		}
	}
	if len(v.Households) == 0 && len(v.Elsewhere) == 0 {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "building %q of %q not found", building, community))
		return
	}
	slices.SortFunc(v.Units, devices.ComparePlace)
	slices.SortFunc(v.Floors, func(a, b string) int { return devices.ComparePlace(b, a) }) // top floor first
	slices.SortFunc(v.Households, func(a, b HouseholdCell) int {
		return cmp.Or(devices.ComparePlace(b.Floor, a.Floor), devices.ComparePlace(a.Unit, b.Unit), devices.ComparePlace(a.Household, b.Household))
	})
	v.Incidents = hs.incidents
	writeJSON(w, http.StatusOK, v)
}

// cell is a household with where it is.
type cell struct {
	HouseholdCell
	building, grid string
	registered     []devices.Location // each device's own location, in Devices' order
}

type householdSet struct {
	cells     []*cell
	elsewhere []CellDevice
	incidents []*alerts.Alert
}

// households gathers the households of a community (of one building, if
// building is set): its registered devices, their health, the open alerts
// about them and the open outages they are in, within what the user may see.
func (s *Server) households(r *http.Request, community, building string) (*householdSet, error) {
	ctx := r.Context()
	sc := scopeOf(sessionFrom(ctx).user)
	ds, err := s.buildingDevices(ctx, community, building)
	if err != nil {
		return nil, err
	}
	if sc != nil {
		ds = slices.DeleteFunc(ds, func(d *devices.Device) bool { return !slices.Contains(sc.Grids, d.Location.GridRef()) })
	}
	open, err := s.openAlerts(ctx, community)
	if err != nil {
		return nil, err
	}
	out := &householdSet{}
	byDevice := map[string][]*alerts.Alert{}
	offline := map[string]bool{}
	for _, a := range open {
		if a.Incident != nil {
			if building != "" && a.Incident.Building != building || !sc.Allows(a) {
				continue
			}
			out.incidents = append(out.incidents, a)
			if a.Kind != alerts.KindOutage {
				continue
			}
			full, err := s.cfg.Alerts.FindAlert(ctx, a.ID)
			if err != nil {
				return nil, fmt.Errorf("outage %d: %w", a.ID, err)
			}
			for _, m := range full.Members {
				if m.ReturnedAt.IsZero() {
					offline[m.DeviceID] = true
				}
			}
			continue
		}
		byDevice[a.DeviceID] = append(byDevice[a.DeviceID], a)
	}
	complete := devices.CompleteUnits(ds) // one household, one cell, with or without its unit given
	byKey := map[string]*cell{}
	for _, d := range ds {
		st := deviceState(d, byDevice[d.ID], offline[d.ID])
		cd := CellDevice{ID: d.ID, Kind: d.Kind, State: st}
		l := complete(d.Location)
		k := l.HouseholdKey()
		if k == "" {
			out.elsewhere = append(out.elsewhere, cd)
			continue
		}
		c := byKey[k]
		if c == nil {
			c = &cell{HouseholdCell: HouseholdCell{Unit: l.Unit, Household: l.Household, State: StateOK},
				building: l.Building, grid: l.Grid}
			byKey[k] = c
			out.cells = append(out.cells, c)
		}
		if c.Floor == "" {
			c.Floor = l.Floor
		}
		c.registered = append(c.registered, d.Location)
		if c.Resident == "" {
			c.Resident = d.Resident.Name
		}
		c.LivesAlone = c.LivesAlone || d.Resident.LivesAlone
		c.Devices = append(c.Devices, cd)
		if stateRank[st] > stateRank[c.State] {
			c.State = st
		}
		for _, a := range byDevice[d.ID] {
			c.Alerts = append(c.Alerts, CellAlert{ID: a.ID, Kind: a.Kind, Severity: a.Severity, State: a.State, Incident: a.IncidentID})
		}
	}
	for _, c := range out.cells {
		for i, l := range c.registered {
			if l.Unit == "" && c.Unit != "" || l.Floor == "" && c.Floor != "" {
				c.Incomplete = append(c.Incomplete, c.Devices[i].ID)
			}
		}
	}
	return out, nil
}

// deviceState is a device's state: its worst open alert, else offline when
// its status says so (heard from once, then gone) or an outage holds it.
func deviceState(d *devices.Device, open []*alerts.Alert, inOutage bool) string {
	st := StateOK
	for _, a := range open {
		if s := alertState(a.Kind); stateRank[s] > stateRank[st] && !(s == StateOffline && a.Cleared) {
			st = s
		}
	}
	if st == StateOK && (inOutage || !d.Health.Online && !d.Health.LastSeen.IsZero() && d.Kind != devices.KindGateway) {
		st = StateOffline
	}
	return st
}

// openAlerts returns a community's open alerts (tests left out), every page.
func (s *Server) openAlerts(ctx context.Context, community string) ([]*alerts.Alert, error) {
	f := alerts.Filter{States: []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched},
		Community: community, Test: new(false), Limit: 1000}
	var out []*alerts.Alert
	for {
		page, total, err := s.cfg.Alerts.ListAlerts(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("open alerts: %w", err)
		}
		out = append(out, page...)
		f.Offset += len(page)
		if len(page) == 0 || f.Offset >= total {
			return out, nil
		}
	}
}
