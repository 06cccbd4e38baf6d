package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The street's closed loop at the console: what a grid worker may see, the
// grid workers a dispatch can send, photos kept with an alert, and the
// loop's figures per community and grid (report.go writes the monthly
// report).

// PhotoService keeps the photos taken where alerts are handled.
type PhotoService interface {
	// AddPhoto checks data is a photo (by its bytes), keeps it with the
	// alert and records it on the timeline, by actor within scope.
	AddPhoto(ctx context.Context, alertID int64, data []byte, by alerts.Actor, scope *alerts.Scope) (*alerts.Photo, error)
	// OpenPhoto returns a photo of an alert within scope and its bytes.
	OpenPhoto(ctx context.Context, alertID, photoID int64, scope *alerts.Scope) (*alerts.Photo, io.ReadSeekCloser, error)
}

// maxPhotoBody bounds a photo upload's body: a phone's photo of a few MB.
const maxPhotoBody = 8 << 20

// Who sees the loop's figures and who dispatches: the duty room.
var (
	dutyRoom   = []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleAdmin}
	photoRoles = []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleAdmin, accounts.RoleGridWorker}
)

func (s *Server) loopRoutes() {
	s.mux.Handle("POST /api/v1/alerts/{id}/photos", s.require(photoRoles, s.addPhoto))
	s.mux.Handle("GET /api/v1/alerts/{id}/photos/{photo}", s.require(nil, s.getPhoto))
	s.mux.Handle("GET /api/v1/gridworkers", s.require(dutyRoom, s.listGridWorkers))
	s.mux.Handle("GET /api/v1/alerts/figures", s.require(dutyRoom, s.loopFigures))
	s.mux.Handle("GET /api/v1/reports/monthly", s.require(dutyRoom, s.monthlyReport))
}

// deskRoles are every role but a grid worker's: the street office's
// screens (device lists, answer-time figures) that a grid worker's phone
// does not show.
var deskRoles = []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleInstaller, accounts.RoleAdmin}

// findDevice returns a device as u may see it: a grid worker only the
// devices of their grids (others are not found).
func (s *Server) findDevice(r *http.Request, id string) (*devices.Device, error) {
	d, err := s.cfg.Registry.FindDevice(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if sc := scopeOf(sessionFrom(r.Context()).user); sc != nil && !slices.Contains(sc.Grids, d.Location.GridRef()) {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "device %q not found", id)
	}
	return d, nil
}

// scopeOf is what u may see of alerts: a grid worker their grids' alerts
// and those sent to them; anyone else everything (nil).
func scopeOf(u *accounts.User) *alerts.Scope {
	if u == nil || u.Role != accounts.RoleGridWorker {
		return nil
	}
	return &alerts.Scope{User: u.Username, Grids: slices.Clone(u.Grids)}
}

// checkWorker refuses a dispatch to anyone but an enabled grid worker.
func (s *Server) checkWorker(r *http.Request, name string) error {
	u, _, err := s.cfg.Accounts.UserByName(r.Context(), name)
	if shouwang.ErrorCode(err) == shouwang.ENOTFOUND || err == nil && (u.Role != accounts.RoleGridWorker || u.Disabled) {
		return shouwang.Errorf(shouwang.EINVALID, "worker %q: not a grid worker's account", name).With("task.no_worker", "worker", name)
	}
	return err
}

// GridWorker is a grid worker a dispatch can send, as
// GET /api/v1/gridworkers lists them.
type GridWorker struct {
	Username string `json:"username"`
	accounts.Profile
}

// listGridWorkers lists the enabled grid workers, those of the grid named
// by ?community= and ?grid= first.
func (s *Server) listGridWorkers(w http.ResponseWriter, r *http.Request) {
	us, err := s.cfg.Accounts.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list grid workers: %w", err))
		return
	}
	q := r.URL.Query()
	community, grid := q.Get("community"), q.Get("grid")
	out := []GridWorker{}
	for _, u := range us {
		if u.Role == accounts.RoleGridWorker && !u.Disabled {
			out = append(out, GridWorker{Username: u.Username, Profile: u.Profile})
		}
	}
	here := func(g GridWorker) bool {
		return slices.ContainsFunc(g.Grids, func(ref devices.GridRef) bool { return ref.Community == community && ref.Grid == grid })
	}
	slices.SortStableFunc(out, func(a, b GridWorker) int {
		switch ha, hb := here(a), here(b); {
		case ha && !hb:
			return -1
		case hb && !ha:
			return 1
		}
		return strings.Compare(a.Username, b.Username)
	})
	writeJSON(w, http.StatusOK, map[string]any{"grid_workers": out})
}

// addPhoto keeps a photo sent as the request body (image/jpeg or
// image/png; the hub decides by the bytes) with the alert.
func (s *Server) addPhoto(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Photos == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "photos are not kept by this hub").With("photo.off"))
		return
	}
	id, err := alertID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPhotoBody))
	if err != nil {
		s.writeError(w, r, shouwang.Errorf(eTooLarge, "photo larger than %d MB", maxPhotoBody>>20).With("photo.too_large", "max_mb", strconv.Itoa(maxPhotoBody>>20)))
		return
	}
	u := sessionFrom(r.Context()).user
	p, err := s.cfg.Photos.AddPhoto(r.Context(), id, data, alerts.Actor{Name: u.Username, Role: string(u.Role)}, scopeOf(u))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("add photo to alert %d: %w", id, err))
		return
	}
	s.log.Info("photo added", "alert", id, "photo", p.ID, "by", u.Username, "type", p.ContentType, "size", p.Size)
	writeJSON(w, http.StatusCreated, map[string]any{"photo": p})
}

// getPhoto serves a photo's bytes, as its own type and never as anything
// a browser would run.
func (s *Server) getPhoto(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Photos == nil {
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "photos are not kept by this hub").With("photo.off"))
		return
	}
	id, err := alertID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pid, err := strconv.ParseInt(r.PathValue("photo"), 10, 64)
	if err != nil || pid <= 0 {
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "photo id %q: must be a positive whole number", r.PathValue("photo")).With("photo.not_found"))
		return
	}
	p, f, err := s.cfg.Photos.OpenPhoto(r.Context(), id, pid, scopeOf(sessionFrom(r.Context()).user))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", p.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+p.SHA256+`"`)
	http.ServeContent(w, r, "", p.At, f)
}

// FiguresRow is one community's (Grid "") or grid's closed-loop figures
// over a period, with the shares and medians worked out: null where there
// was nothing to count.
type FiguresRow struct {
	alerts.Figures
	ShareWithin60s       *float64 `json:"share_within_60s"`
	ShareWithin180s      *float64 `json:"share_within_180s"`
	MedianAcceptSeconds  *float64 `json:"median_accept_seconds"`
	MedianArriveSeconds  *float64 `json:"median_arrive_seconds"`
	ShareFollowUpsOnTime *float64 `json:"share_followups_on_time"`
	FalseAlarmRate       *float64 `json:"false_alarm_rate"`
	MeanRating           *float64 `json:"mean_rating"`
}

func figuresRow(f alerts.Figures) FiguresRow {
	share := func(n, total int) *float64 {
		if v, ok := alerts.Share(n, total); ok {
			return &v
		}
		return nil
	}
	row := FiguresRow{
		Figures:              f,
		ShareWithin60s:       share(f.Within60s, f.Alerts),
		ShareWithin180s:      share(f.Within180s, f.Alerts),
		ShareFollowUpsOnTime: share(f.FollowUpsOnTime, f.FollowUpsDue),
		FalseAlarmRate:       share(f.FalseAlarms, f.Resolved),
	}
	if f.Accepted > 0 {
		row.MedianAcceptSeconds = seconds(f.MedianAccept)
	}
	if f.Arrived > 0 {
		row.MedianArriveSeconds = seconds(f.MedianArrive)
	}
	if f.Rated > 0 {
		v := float64(f.RatingSum) / float64(f.Rated)
		row.MeanRating = &v
	}
	return row
}

// FiguresResponse is GET /api/v1/alerts/figures: the loop's figures per
// community and grid over [from, to).
type FiguresResponse struct {
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Figures []FiguresRow `json:"figures"`
}

// loopFigures answers the closed loop's figures per community (and grid)
// over ?from= to ?to= (the last 24 hours by default), for the overview.
func (s *Server) loopFigures(w http.ResponseWriter, r *http.Request) {
	from, to, err := timeRange(r.URL.Query(), s.cfg.Now(), defaultStatsRange, maxStatsRange, "366 days")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, err := s.figures(r.Context(), from, to, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, FiguresResponse{From: from, To: to, Figures: rows})
}

// figures computes the rows over [from, to), of one community or of all.
func (s *Server) figures(ctx context.Context, from, to time.Time, community string) ([]FiguresRow, error) {
	list, err := s.cfg.Alerts.PeriodAlerts(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	if community != "" {
		list = slices.DeleteFunc(list, func(a *alerts.Alert) bool { return a.Device.Location.Community != community })
	}
	fs := alerts.ComputeFigures(list, true)
	rows := make([]FiguresRow, len(fs))
	for i, f := range fs {
		rows[i] = figuresRow(f)
	}
	return rows, nil
}
