package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// AlertService is what the console needs from the hub's alerting. Errors are
// *shouwang.Error: ENOTFOUND, ECONFLICT, EINVALID, EFORBIDDEN.
type AlertService interface {
	// ListAlerts returns matching alerts without timelines, most urgent
	// first, and the total that match before f.Offset and f.Limit.
	ListAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, int, error)
	// FindAlert returns one alert with its timeline.
	FindAlert(ctx context.Context, id int64) (*alerts.Alert, error)
	// Transition applies a person's action and returns the alert after it.
	// It checks the actor's role against the action itself.
	Transition(ctx context.Context, req alerts.TransitionRequest) (*alerts.Alert, error)
	// AnswerStats returns the answer-time figures over alerts opened in
	// [from, to), tests excluded.
	AnswerStats(ctx context.Context, from, to time.Time) (alerts.AnswerStats, error)
	// PeriodAlerts returns every alert opened in [from, to), tests
	// excluded, without timelines: the closed loop's figures and reports.
	PeriodAlerts(ctx context.Context, from, to time.Time) ([]*alerts.Alert, error)
}

// Bounds on alert queries and transitions.
const (
	defaultStatsRange = 24 * time.Hour
	maxStatsRange     = 366 * 24 * time.Hour
)

// Answer-time targets of alarm centres: 97.5 % of alerts accepted within
// 60 s and 99 % within 180 s.
const (
	targetWithin60s  = 0.975
	targetWithin180s = 0.99
)

func (s *Server) alertRoutes() {
	s.mux.Handle("GET /api/v1/alerts", s.require(nil, s.listAlerts))
	s.mux.Handle("GET /api/v1/alerts/stats", s.require(deskRoles, s.alertStats))
	s.mux.Handle("GET /api/v1/alerts/{id}", s.require(nil, s.getAlert))
	for _, a := range alerts.Actions {
		s.mux.Handle("POST /api/v1/alerts/{id}/"+string(a), s.require(nil, s.transition(a)))
	}
}

type alertList struct {
	Alerts []*alerts.Alert `json:"alerts"`
	Total  int             `json:"total"`
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := parseAlertFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Scope = scopeOf(sessionFrom(r.Context()).user)
	as, total, err := s.cfg.Alerts.ListAlerts(r.Context(), f)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list alerts: %w", err))
		return
	}
	if as == nil {
		as = []*alerts.Alert{}
	}
	writeJSON(w, http.StatusOK, alertList{Alerts: as, Total: total})
}

// parseAlertFilter reads an alert listing's query parameters. The default
// listing shows every state and leaves commissioning tests out.
func parseAlertFilter(r *http.Request) (alerts.Filter, error) {
	q := r.URL.Query()
	f := alerts.Filter{
		Severity:  alerts.Severity(q.Get("severity")),
		Kind:      alerts.Kind(q.Get("kind")),
		Community: q.Get("community"),
		DeviceID:  q.Get("device"),
	}
	for _, v := range q["state"] {
		for st := range strings.SplitSeq(v, ",") {
			switch st = strings.TrimSpace(st); {
			case st == "":
			case st == "open":
				f.States = appendNew(f.States, alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched)
			case slices.Contains(alertStates, alerts.State(st)):
				f.States = appendNew(f.States, alerts.State(st))
			default:
				return f, shouwang.Errorf(shouwang.EINVALID, "state %q: not an alert state; use %s or open", st, joinStrings(alertStates))
			}
		}
	}
	if f.Severity != "" && f.Severity.Rank() == 0 {
		return f, shouwang.Errorf(shouwang.EINVALID, "severity %q: not a severity; use critical, major or minor", f.Severity)
	}
	if f.Kind != "" && !slices.Contains(alerts.Kinds, f.Kind) {
		return f, shouwang.Errorf(shouwang.EINVALID, "kind %q: not an alert kind; use %s", f.Kind, joinStrings(alerts.Kinds))
	}
	switch v := q.Get("followup"); v {
	case "":
	case "pending":
		f.FollowUpPending = true
	default:
		return f, shouwang.Errorf(shouwang.EINVALID, "followup %q: the only filter is pending", v)
	}
	switch v := q.Get("test"); v {
	case "", "false":
		f.Test = new(false)
	case "true":
		f.Test = new(true)
	case "all":
	default:
		return f, shouwang.Errorf(shouwang.EINVALID, "test %q: must be true (tests only), false (no tests, the default) or all", v)
	}
	var err error
	if f.From, err = timeParam(q.Get("from"), "from", time.Time{}); err != nil {
		return f, err
	}
	if f.To, err = timeParam(q.Get("to"), "to", time.Time{}); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, shouwang.Errorf(shouwang.EINVALID, "from: must be before to")
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 1<<31-1); err != nil {
		return f, err
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 0, maxPageSize); err != nil {
		return f, err
	}
	return f, nil
}

var alertStates = []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched, alerts.StateResolved, alerts.StateClosed}

func appendNew[T comparable](s []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}

func joinStrings[T ~string](vs []T) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = string(v)
	}
	return strings.Join(ss, ", ")
}

// alertID reads the {id} path parameter.
func alertID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, shouwang.Errorf(shouwang.EINVALID, "alert id %q: must be a positive whole number", v).With("alert.bad_id")
	}
	return id, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAlert(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": a})
}

// visibleAlert finds the alert of the request's {id}, if the user may see
// it (one out of a grid worker's grids is not found).
func (s *Server) visibleAlert(r *http.Request) (*alerts.Alert, error) {
	id, err := alertID(r)
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Alerts.FindAlert(r.Context(), id)
	if err == nil && !scopeOf(sessionFrom(r.Context()).user).Allows(a) {
		err = shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", id).With("alert.not_found", "id", strconv.FormatInt(id, 10))
	}
	if err != nil {
		return nil, fmt.Errorf("find alert: %w", err)
	}
	return a, nil
}

// The optional JSON bodies of transitions. Each action accepts only its own
// fields, so a misplaced one ("outcome" on accept) is refused, not ignored.
type (
	noteBody struct {
		Note string `json:"note"`
	}
	dispatchBody struct {
		To     string `json:"to"`
		Worker string `json:"worker"` // a grid worker's user name: send them on foot
		Note   string `json:"note"`
	}
	resolveBody struct {
		Outcome alerts.Outcome `json:"outcome"`
		Note    string         `json:"note"`
	}
	followUpBody struct {
		alerts.FollowUpReport
		Note string `json:"note"`
	}
	closeBody struct {
		Rating int    `json:"rating"` // 1 (poor) to 5 (excellent); 0 or left out: none
		Note   string `json:"note"`   // the review's comment
	}
)

// transition returns the handler of one action on an alert. The actor is
// the logged-in user. A role the domain never lets take the action
// (installers, operators closing) is refused here, before anything is read;
// the domain checks it again inside the transaction, with everything else
// that makes the action legal.
func (s *Server) transition(action alerts.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := sessionFrom(r.Context()).user
		if !alerts.Permitted(string(u.Role), action) {
			s.writeError(w, r, shouwang.Errorf(shouwang.EFORBIDDEN, "role %s may not %s alerts", u.Role, action).
				With("alert.forbidden", "role", string(u.Role), "action", string(action)))
			return
		}
		id, err := alertID(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req := alerts.TransitionRequest{AlertID: id, Action: action, Actor: alerts.Actor{Name: u.Username, Role: string(u.Role)}, Scope: scopeOf(u)}
		switch action {
		case alerts.ActionDispatch:
			var b dispatchBody
			err = decodeOptionalJSON(w, r, &b)
			req.Note, req.DispatchTo, req.Worker = b.Note, strings.TrimSpace(b.To), strings.TrimSpace(b.Worker)
			if err == nil && req.Worker != "" {
				err = s.checkWorker(r, req.Worker)
			}
		case alerts.ActionResolve:
			var b resolveBody
			err = decodeOptionalJSON(w, r, &b)
			req.Note, req.Outcome = b.Note, b.Outcome
		case alerts.ActionFollowUp:
			var b followUpBody
			err = decodeOptionalJSON(w, r, &b)
			req.Note, req.FollowUp = b.Note, &b.FollowUpReport
		case alerts.ActionClose:
			var b closeBody
			err = decodeOptionalJSON(w, r, &b)
			req.Note, req.Rating = b.Note, b.Rating
		default:
			var b noteBody
			err = decodeOptionalJSON(w, r, &b)
			req.Note = b.Note
		}
		if err == nil && action == alerts.ActionDispatch && req.DispatchTo == "" && req.Worker == "" {
			// Checked here too so that the message names the body's field.
			err = shouwang.Errorf(shouwang.EINVALID, "to: required: name who was sent (the grid worker, 119, 120, the gas company…)").With("alert.need_dispatch_to")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		a, err := s.cfg.Alerts.Transition(r.Context(), req)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%s alert %d: %w", action, id, err))
			return
		}
		s.log.Info("alert "+string(action), "id", id, "by", u.Username, "state", a.State)
		writeJSON(w, http.StatusOK, map[string]any{"alert": a})
	}
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an empty
// body leaves v as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); err == io.EOF {
		return nil
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return decodeJSON(w, r, v)
}

// StatsResponse is the answer-time report of GET /api/v1/alerts/stats,
// shared with hubctl. Shares are of every alert opened in the period (null
// when none was); each median is over the alerts that reached its step only
// — Accepted, Dispatched and Resolved of them — and null when none did.
type StatsResponse struct {
	From                  time.Time `json:"from"`
	To                    time.Time `json:"to"`
	Alerts                int       `json:"alerts"`
	Accepted              int       `json:"accepted"`
	Dispatched            int       `json:"dispatched"`
	Resolved              int       `json:"resolved"`
	Within60s             int       `json:"accepted_within_60s"`
	Within180s            int       `json:"accepted_within_180s"`
	ShareWithin60s        *float64  `json:"share_within_60s"`
	ShareWithin180s       *float64  `json:"share_within_180s"`
	MedianAcceptSeconds   *float64  `json:"median_accept_seconds"`
	MedianDispatchSeconds *float64  `json:"median_dispatch_seconds"`
	MedianResolveSeconds  *float64  `json:"median_resolve_seconds"`
	TargetWithin60s       float64   `json:"target_within_60s"`
	TargetWithin180s      float64   `json:"target_within_180s"`
	// MeetsTarget says both targets were met; null with no alerts.
	MeetsTarget *bool `json:"meets_target"`
}

func (s *Server) alertStats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := timeRange(q, s.cfg.Now(), defaultStatsRange, maxStatsRange, "366 days")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.cfg.Alerts.AnswerStats(r.Context(), from, to)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("answer stats: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, newStatsResponse(st, from, to))
}

func newStatsResponse(st alerts.AnswerStats, from, to time.Time) StatsResponse {
	resp := StatsResponse{
		From: from, To: to,
		Alerts: st.Alerts, Accepted: st.Accepted, Dispatched: st.Dispatched, Resolved: st.Resolved,
		Within60s: st.Within60s, Within180s: st.Within180s,
		TargetWithin60s: targetWithin60s, TargetWithin180s: targetWithin180s,
	}
	if st.Alerts > 0 {
		s60 := float64(st.Within60s) / float64(st.Alerts)
		s180 := float64(st.Within180s) / float64(st.Alerts)
		meets := s60 >= targetWithin60s && s180 >= targetWithin180s
		resp.ShareWithin60s, resp.ShareWithin180s, resp.MeetsTarget = &s60, &s180, &meets
	}
	if st.Accepted > 0 {
		resp.MedianAcceptSeconds = seconds(st.MedianAccept)
	}
	if st.Dispatched > 0 {
		resp.MedianDispatchSeconds = seconds(st.MedianDispatch)
	}
	if st.Resolved > 0 {
		resp.MedianResolveSeconds = seconds(st.MedianResolve)
	}
	return resp
}

// seconds renders d in seconds to the millisecond.
func seconds(d time.Duration) *float64 {
	v := math.Round(d.Seconds()*1000) / 1000
	return &v
}
