package console

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// CheckinService is the hub's check-in book as the console uses it.
type CheckinService interface {
	// List returns the watched households of a community ("" for all),
	// overdue first.
	List(community string) []alerts.HouseholdCheckin
	// SetPlan stores what staff set for a household and applies it.
	SetPlan(ctx context.Context, p alerts.CheckinPlan) error
}

// listCheckins answers GET /api/v1/checkins?community=: every watched
// household's state today (a grid worker's grids only), with counts by
// state.
func (s *Server) listCheckins(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Checkins == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINTERNAL, "check-ins are not running"))
		return
	}
	rows := s.cfg.Checkins.List(r.URL.Query().Get("community"))
	if sc := scopeOf(sessionFrom(r.Context()).user); sc != nil {
		rows = slices.DeleteFunc(rows, func(h alerts.HouseholdCheckin) bool { return !slices.Contains(sc.Grids, h.Location.GridRef()) })
	}
	counts := map[string]int{}
	for _, h := range rows {
		counts[h.State]++
	}
	if rows == nil {
		rows = []alerts.HouseholdCheckin{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"households": rows, "counts": counts})
}

// planBody is what staff set for a household (PUT /api/v1/checkins/plan).
// Nil fields follow the rules; a quiet_until in the past ends the quiet
// period.
type planBody struct {
	Household  string    `json:"household"`
	Watch      *bool     `json:"watch"`
	Start      *string   `json:"start"` // "HH:MM"
	End        *string   `json:"end"`
	QuietUntil time.Time `json:"quiet_until"`
	QuietNote  string    `json:"quiet_note"`
}

// clock reads an optional "HH:MM".
func clock(field string, v *string) (*alerts.Clock, error) {
	if v == nil {
		return nil, nil
	}
	c, err := alerts.ParseClock(*v)
	if err != nil {
		return nil, shouwang.Errorf(shouwang.EINVALID, "%s: %v", field, err)
	}
	return &c, nil
}

func (s *Server) setCheckinPlan(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Checkins == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINTERNAL, "check-ins are not running"))
		return
	}
	var b planBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	start, err := clock("start", b.Start)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	end, err := clock("end", b.End)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := sessionFrom(r.Context()).user
	if sc := scopeOf(u); sc != nil && !slices.ContainsFunc(s.cfg.Checkins.List(""), func(h alerts.HouseholdCheckin) bool {
		return h.Household == b.Household && slices.Contains(sc.Grids, h.Location.GridRef())
	}) {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "household not found"))
		return
	}
	p := alerts.CheckinPlan{Household: b.Household, Watch: b.Watch, Start: start, End: end,
		QuietUntil: b.QuietUntil, QuietNote: b.QuietNote, UpdatedBy: u.Username, UpdatedAt: s.cfg.Now()}
	if !p.QuietUntil.IsZero() && !p.QuietUntil.After(s.cfg.Now()) {
		p.QuietUntil, p.QuietNote = time.Time{}, ""
	}
	if err := s.cfg.Checkins.SetPlan(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"plan": p})
}
