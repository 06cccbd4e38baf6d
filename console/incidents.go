package console

import (
	"net/http"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Incidents, the building view and check-ins (see buildings.go,
// checkins.go).

func (s *Server) incidentRoutes() {
	s.mux.Handle("GET /api/v1/alerts/{id}/evacuation", s.require(nil, s.evacuation))
	s.mux.Handle("GET /api/v1/buildings", s.require(nil, s.listBuildings))
	s.mux.Handle("GET /api/v1/buildings/view", s.require(nil, s.buildingView))
	s.mux.Handle("GET /api/v1/checkins", s.require(nil, s.listCheckins))
	s.mux.Handle("PUT /api/v1/checkins/plan", s.require(checkinStaff, s.setCheckinPlan))
}

// checkinStaff may set a household's check-in plan.
var checkinStaff = []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleAdmin, accounts.RoleGridWorker}

// Evacuation is an alert's building's households in the order to reach
// them (alerts.Evacuation).
type Evacuation struct {
	Community  string           `json:"community"`
	Building   string           `json:"building"`
	Households []alerts.Evacuee `json:"households"`
}

// evacuation answers GET /api/v1/alerts/{id}/evacuation: the evacuation
// list of the alert's building (an incident's, or any alert's).
func (s *Server) evacuation(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAlert(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l := a.Device.Location
	out := Evacuation{Community: l.Community, Building: l.Building, Households: []alerts.Evacuee{}}
	if l.Building == "" {
		writeJSON(w, http.StatusOK, out)
		return
	}
	ds, err := s.buildingDevices(r.Context(), l.Community, l.Building)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list := alerts.Evacuation(ds, s.cfg.Evacuation, s.cfg.Now()); list != nil {
		out.Households = list
	}
	writeJSON(w, http.StatusOK, out)
}
