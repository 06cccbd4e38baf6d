package alertstest

import (
	"context"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// ListAlerts implements alerts.Store: most urgent first (open before the
// rest, then severity, then the oldest, then ID).
func (s *Store) ListAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, int, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, shouwang.Errorf(shouwang.EINVALID, "offset and limit must not be negative")
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*alerts.Alert
	for _, a := range s.alerts {
		if matches(a, f) {
			list = append(list, a)
		}
	}
	slices.SortFunc(list, urgentFirst)
	total := len(list)
	list = list[min(f.Offset, total):min(f.Offset+limit, total)]
	out := make([]*alerts.Alert, len(list))
	for i, a := range list {
		out[i] = cloneAlert(a)
	}
	return out, total, nil
}

func matches(a *alerts.Alert, f alerts.Filter) bool {
	switch {
	case len(f.States) > 0 && !slices.Contains(f.States, a.State),
		f.Severity != "" && a.Severity != f.Severity,
		f.Kind != "" && a.Kind != f.Kind,
		f.Community != "" && a.Device.Location.Community != f.Community,
		f.DeviceID != "" && a.DeviceID != f.DeviceID,
		f.Test != nil && a.Test != *f.Test,
		!f.From.IsZero() && a.OpenedAt.Before(f.From),
		!f.To.IsZero() && !a.OpenedAt.Before(f.To),
		f.Scope != nil && !f.Scope.Allows(a),
		f.FollowUpPending && !a.FollowUp.Pending():
		return false
	}
	return true
}

// PeriodAlerts implements alerts.Store: the alerts opened in [from, to),
// tests excluded, by ID.
func (s *Store) PeriodAlerts(ctx context.Context, from, to time.Time) ([]*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.selectAlerts(func(a *alerts.Alert) bool {
		return !a.Test && !a.OpenedAt.Before(from) && a.OpenedAt.Before(to)
	}), nil
}

// FindPhoto implements alerts.Store.
func (s *Store) FindPhoto(ctx context.Context, alertID, photoID int64) (*alerts.Photo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.photos[photoID]
	if !ok || p.AlertID != alertID {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d has no photo %d", alertID, photoID).With("photo.not_found")
	}
	c := *p
	return &c, nil
}

func urgentFirst(a, b *alerts.Alert) int {
	if ao, bo := a.State.Open(), b.State.Open(); ao != bo {
		if ao {
			return -1
		}
		return 1
	}
	if c := b.Severity.Rank() - a.Severity.Rank(); c != 0 {
		return c
	}
	if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
		return c
	}
	return cmpID(a.ID, b.ID)
}

// OpenAlertsAll implements alerts.Store: every open alert, oldest first.
func (s *Store) OpenAlertsAll(ctx context.Context) ([]*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.selectAlerts(func(a *alerts.Alert) bool { return a.State.Open() }), nil
}

// UnclearedLatest returns, for each device, its latest alert of kind if
// that alert is not cleared, by device ID (as the SQL store offers it for
// the hub's low-battery latch).
func (s *Store) UnclearedLatest(ctx context.Context, kind alerts.Kind) ([]*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest := make(map[string]*alerts.Alert)
	for _, a := range s.alerts {
		if a.Kind == kind && (latest[a.DeviceID] == nil || later(a, latest[a.DeviceID])) {
			latest[a.DeviceID] = a
		}
	}
	var out []*alerts.Alert
	for _, a := range latest {
		if !a.Cleared {
			out = append(out, cloneAlert(a))
		}
	}
	slices.SortFunc(out, func(a, b *alerts.Alert) int {
		if a.DeviceID < b.DeviceID {
			return -1
		} else if a.DeviceID > b.DeviceID {
			return 1
		}
		return 0
	})
	return out, nil
}

// DueTimers implements alerts.Store.
func (s *Store) DueTimers(ctx context.Context, now time.Time, limit int) ([]alerts.Timer, error) {
	if limit < 0 {
		return nil, shouwang.Errorf(shouwang.EINVALID, "limit must not be negative")
	} else if limit == 0 {
		limit = DefaultListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []alerts.Timer
	for _, t := range s.sortedTimers() {
		if t.Due.After(now) || len(due) == limit {
			break
		}
		due = append(due, t)
	}
	return due, nil
}

// NextTimer implements alerts.Store.
func (s *Store) NextTimer(ctx context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.sortedTimers()
	if len(ts) == 0 {
		return time.Time{}, false, nil
	}
	return ts[0].Due, true, nil
}

func (s *Store) sortedTimers() []alerts.Timer {
	ts := make([]alerts.Timer, 0, len(s.timers))
	for _, t := range s.timers {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b alerts.Timer) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		if c := cmpID(a.AlertID, b.AlertID); c != 0 {
			return c
		}
		if a.Kind < b.Kind {
			return -1
		} else if a.Kind > b.Kind {
			return 1
		}
		return 0
	})
	return ts
}

// DueNotifications implements alerts.Store.
func (s *Store) DueNotifications(ctx context.Context, now time.Time, limit int) ([]*alerts.Notification, error) {
	if limit < 0 {
		return nil, shouwang.Errorf(shouwang.EINVALID, "limit must not be negative")
	} else if limit == 0 {
		limit = DefaultListLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*alerts.Notification
	for _, n := range s.sortedNotifications() {
		if n.NextAttempt.After(now) || len(due) == limit {
			break
		}
		due = append(due, n)
	}
	return due, nil
}

// NextNotification implements alerts.Store.
func (s *Store) NextNotification(ctx context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.sortedNotifications()
	if len(ns) == 0 {
		return time.Time{}, false, nil
	}
	return ns[0].NextAttempt, true, nil
}

func (s *Store) sortedNotifications() []*alerts.Notification {
	ns := make([]*alerts.Notification, 0, len(s.notifs))
	for _, n := range s.notifs {
		ns = append(ns, cloneNotification(n))
	}
	slices.SortFunc(ns, func(a, b *alerts.Notification) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmpID(a.ID, b.ID)
	})
	return ns
}

// ChangesSince implements alerts.Store: entries with Seq > seq, and the
// lowest Seq kept (0 while the feed is empty).
func (s *Store) ChangesSince(ctx context.Context, seq int64, limit int) ([]alerts.Change, int64, error) {
	if limit < 0 {
		return nil, 0, shouwang.Errorf(shouwang.EINVALID, "limit must not be negative")
	} else if limit == 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest int64
	if len(s.changes) > 0 {
		oldest = s.changes[0].Seq
	}
	i, _ := slices.BinarySearchFunc(s.changes, seq+1, func(c alerts.Change, want int64) int { return cmpID(c.Seq, want) })
	var out []alerts.Change
	for _, c := range s.changes[i:min(i+limit, len(s.changes))] {
		out = append(out, alerts.Change{Seq: c.Seq, At: c.At, Alert: cloneAlert(c.Alert)})
	}
	return out, oldest, nil
}

// LastChangeSeq implements alerts.Store.
func (s *Store) LastChangeSeq(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq, nil
}

// AnswerStats implements alerts.Store: durations from opening to
// acceptance, dispatch and resolution over alerts opened in [from, to),
// tests excluded; a median over an even count is the mean of the middle
// two.
func (s *Store) AnswerStats(ctx context.Context, from, to time.Time) (alerts.AnswerStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := alerts.AnswerStats{From: from, To: to}
	var accept, dispatch, resolve []time.Duration
	for _, a := range s.alerts {
		if a.Test || a.OpenedAt.Before(from) || !a.OpenedAt.Before(to) {
			continue
		}
		st.Alerts++
		if !a.AcceptedAt.IsZero() {
			d := a.AcceptedAt.Sub(a.OpenedAt)
			accept = append(accept, d)
			st.Accepted++
			if d <= 60*time.Second {
				st.Within60s++
			}
			if d <= 180*time.Second {
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
	st.Dispatched, st.Resolved = len(dispatch), len(resolve)
	st.MedianAccept, st.MedianDispatch, st.MedianResolve = median(accept), median(dispatch), median(resolve)
	return st, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	m := len(ds) / 2
	if len(ds)%2 == 1 {
		return ds[m]
	}
	return ds[m-1] + (ds[m]-ds[m-1])/2
}
