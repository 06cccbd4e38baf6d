package consoletest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
)

// Alerts is an in-memory console.AlertService. Its life cycle is a
// simplified copy of the alerts domain's, with the domain's role table
// (alerts.Permitted), order of checks and messages: the request is checked
// first (role, dispatch target, outcome, note), then the alert is found,
// then its state must allow the action. Errors carry the codes the real
// service uses: EFORBIDDEN, EINVALID, ENOTFOUND, ECONFLICT. It sets no
// timers and sends no acknowledgements.
type Alerts struct {
	mu       sync.Mutex
	alerts   map[int64]*alerts.Alert
	nextID   int64
	requests []alerts.TransitionRequest
	// Fail, if set, is returned by every method: a broken store.
	Fail error
	// Now is the clock of transitions and of Add; nil means time.Now.
	Now func() time.Time
}

var _ console.AlertService = (*Alerts)(nil)

// NewAlerts returns a service with no alerts.
func NewAlerts() *Alerts { return &Alerts{alerts: make(map[int64]*alerts.Alert)} }

func (s *Alerts) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func cloneAlert(a *alerts.Alert, timeline bool) *alerts.Alert {
	c := *a
	c.Device = *clone(&a.Device)
	c.Timeline = nil
	if timeline {
		c.Timeline = slices.Clone(a.Timeline)
	}
	return &c
}

// Add stores a, for test setup, and returns a copy with the fields it fills
// in: the next ID, state new if none, opened now if not set, one occurrence,
// version 1 and an "opened" timeline entry.
func (s *Alerts) Add(a *alerts.Alert) *alerts.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := cloneAlert(a, true)
	s.nextID++
	c.ID = s.nextID
	c.State = cmp.Or(c.State, alerts.StateNew)
	if c.OpenedAt.IsZero() {
		c.OpenedAt = s.now()
	}
	if c.LastOccurrence.IsZero() {
		c.LastOccurrence = c.OpenedAt
	}
	c.Occurrences = max(c.Occurrences, 1)
	c.DeviceID = cmp.Or(c.DeviceID, c.Device.ID)
	c.UpdatedAt, c.Version = c.OpenedAt, 1
	if len(c.Timeline) == 0 {
		c.Timeline = []alerts.TimelineEntry{{At: c.OpenedAt, Actor: alerts.Actor{Name: c.DeviceID, Role: "device"}, Action: alerts.TimelineOpened}}
	}
	s.alerts[c.ID] = c
	return cloneAlert(c, true)
}

// Requests returns the transition requests received so far, refused ones
// included.
func (s *Alerts) Requests() []alerts.TransitionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func alertNotFound(id int64) error {
	return devices.Errorf(devices.ENOTFOUND, "alert %d not found", id)
}

// ListAlerts implements console.AlertService: open alerts first, then the
// most severe, then the oldest.
func (s *Alerts) ListAlerts(_ context.Context, f alerts.Filter) ([]*alerts.Alert, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return nil, 0, s.Fail
	}
	var all []*alerts.Alert
	for _, a := range s.alerts {
		if alertMatches(a, f) {
			all = append(all, cloneAlert(a, false))
		}
	}
	slices.SortFunc(all, func(a, b *alerts.Alert) int {
		open := func(a *alerts.Alert) int {
			if a.State.Open() {
				return 0
			}
			return 1
		}
		return cmp.Or(cmp.Compare(open(a), open(b)), cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
			a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	total := len(all)
	all = all[min(f.Offset, total):]
	if limit := cmp.Or(f.Limit, 100); len(all) > limit {
		all = all[:limit]
	}
	return all, total, nil
}

func alertMatches(a *alerts.Alert, f alerts.Filter) bool {
	switch {
	case len(f.States) > 0 && !slices.Contains(f.States, a.State),
		f.Severity != "" && a.Severity != f.Severity,
		f.Kind != "" && a.Kind != f.Kind,
		f.Community != "" && a.Device.Location.Community != f.Community,
		f.DeviceID != "" && a.DeviceID != f.DeviceID,
		f.Test != nil && a.Test != *f.Test,
		!f.From.IsZero() && a.OpenedAt.Before(f.From),
		!f.To.IsZero() && !a.OpenedAt.Before(f.To):
		return false
	}
	return true
}

// FindAlert implements console.AlertService.
func (s *Alerts) FindAlert(_ context.Context, id int64) (*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return nil, s.Fail
	}
	a, ok := s.alerts[id]
	if !ok {
		return nil, alertNotFound(id)
	}
	return cloneAlert(a, true), nil
}

// Transition implements console.AlertService.
func (s *Alerts) Transition(_ context.Context, req alerts.TransitionRequest) (*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if s.Fail != nil {
		return nil, s.Fail
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	stored, ok := s.alerts[req.AlertID]
	if !ok {
		return nil, alertNotFound(req.AlertID)
	}
	if !slices.Contains(allowedFrom[req.Action], stored.State) {
		return nil, stateConflict(stored, req.Action)
	}
	a := cloneAlert(stored, true)
	apply(a, req, s.now())
	a.Version++
	s.alerts[a.ID] = a
	return cloneAlert(a, true), nil
}

// checkRequest is the domain's check of what does not depend on the alert.
func checkRequest(req alerts.TransitionRequest) error {
	if !alerts.Permitted(req.Actor.Role, req.Action) {
		return devices.Errorf(devices.EFORBIDDEN, "%s %q may not %s alerts", req.Actor.Role, req.Actor.Name, req.Action)
	}
	switch req.Action {
	case alerts.ActionDispatch:
		if strings.TrimSpace(req.DispatchTo) == "" {
			return devices.Errorf(devices.EINVALID, "dispatch_to: required: name who was sent (the grid worker, 119, 120, the gas company…)")
		}
	case alerts.ActionResolve:
		if !slices.Contains(alerts.ResolveOutcomes, req.Outcome) {
			return devices.Errorf(devices.EINVALID, "outcome %q: must be one of genuine, false_alarm, referred, duplicate", req.Outcome)
		}
	case alerts.ActionNote:
		if strings.TrimSpace(req.Note) == "" {
			return devices.Errorf(devices.EINVALID, "note: required: write what happened")
		}
	}
	return nil
}

// allowedFrom lists the states each action may be taken in.
var allowedFrom = map[alerts.Action][]alerts.State{
	alerts.ActionAccept:   {alerts.StateNew},
	alerts.ActionDispatch: {alerts.StateAccepted, alerts.StateDispatched},
	alerts.ActionResolve:  {alerts.StateAccepted, alerts.StateDispatched},
	alerts.ActionClose:    {alerts.StateResolved},
	alerts.ActionNote:     {alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched, alerts.StateResolved, alerts.StateClosed},
}

var pastTense = map[alerts.Action]string{
	alerts.ActionAccept: "accepted", alerts.ActionDispatch: "dispatched", alerts.ActionResolve: "resolved",
	alerts.ActionClose: "closed", alerts.ActionNote: "noted",
}

func stateConflict(a *alerts.Alert, action alerts.Action) error {
	if action == alerts.ActionAccept && (a.State == alerts.StateAccepted || a.State == alerts.StateDispatched) {
		return devices.Errorf(devices.ECONFLICT, "alert %d was already accepted by %s", a.ID, a.Assignee)
	}
	return devices.Errorf(devices.ECONFLICT, "alert %d is %s; it cannot be %s", a.ID, a.State, pastTense[action])
}

// apply makes the change of a permitted, valid transition.
func apply(a *alerts.Alert, req alerts.TransitionRequest, now time.Time) {
	entry := alerts.TimelineEntry{At: now, Actor: req.Actor, Note: req.Note}
	switch req.Action {
	case alerts.ActionAccept:
		a.State, a.Assignee, a.AcceptedAt = alerts.StateAccepted, req.Actor.Name, now
		entry.Action = alerts.TimelineAccepted
	case alerts.ActionDispatch:
		to := strings.TrimSpace(req.DispatchTo)
		a.State, a.DispatchedTo, a.DispatchedAt = alerts.StateDispatched, to, now
		entry.Action, entry.Data = alerts.TimelineDispatched, map[string]string{"to": to}
	case alerts.ActionResolve:
		a.State, a.Outcome, a.ResolvedAt = alerts.StateResolved, req.Outcome, now
		entry.Action, entry.Data = alerts.TimelineResolved, map[string]string{"outcome": string(req.Outcome)}
	case alerts.ActionClose:
		a.State, a.ClosedAt = alerts.StateClosed, now
		entry.Action = alerts.TimelineClosed
	case alerts.ActionNote:
		entry.Action = alerts.TimelineNote
	}
	a.UpdatedAt = now
	a.Timeline = append(a.Timeline, entry)
}

// AnswerStats implements console.AlertService over the alerts opened in
// [from, to), tests excluded.
func (s *Alerts) AnswerStats(_ context.Context, from, to time.Time) (alerts.AnswerStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := alerts.AnswerStats{From: from, To: to}
	if s.Fail != nil {
		return st, s.Fail
	}
	var accept, dispatch, resolve []time.Duration
	for _, a := range s.alerts {
		if a.Test || a.OpenedAt.Before(from) || !a.OpenedAt.Before(to) {
			continue
		}
		st.Alerts++
		if !a.AcceptedAt.IsZero() {
			d := a.AcceptedAt.Sub(a.OpenedAt)
			accept = append(accept, d)
			if d <= time.Minute {
				st.Within60s++
			}
			if d <= 3*time.Minute {
				st.Within180s++
			}
		}
		if !a.DispatchedAt.IsZero() {
			dispatch = append(dispatch, a.DispatchedAt.Sub(a.OpenedAt))
		}
		if !a.ResolvedAt.IsZero() {
			resolve = append(resolve, a.ResolvedAt.Sub(a.OpenedAt))
		}
	}
	st.Accepted = len(accept)
	st.MedianAccept, st.MedianDispatch, st.MedianResolve = median(accept), median(dispatch), median(resolve)
	return st, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}
