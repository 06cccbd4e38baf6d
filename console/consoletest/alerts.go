package consoletest

import (
	"context"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/console"
)

// Alerts is a console.AlertService over the real alerts domain and its
// in-memory store (alertstest), so console tests see exactly the life
// cycle, role checks and messages the hub has, without a database. Device
// acknowledgements are discarded.
type Alerts struct {
	mu       sync.Mutex
	store    *alertstest.Store
	svc      *alerts.Service
	requests []alerts.TransitionRequest
	// Fail, if set, is returned by every method: a broken store.
	Fail error
	// Now is the clock of transitions and of Add; nil means time.Now.
	Now func() time.Time
}

var _ console.AlertService = (*Alerts)(nil)

// NewAlerts returns a service with no alerts.
func NewAlerts() *Alerts {
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil {
		panic(err) // the default rules always validate
	}
	return &Alerts{store: alertstest.New(), svc: svc}
}

func (s *Alerts) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Alerts) fail() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Fail
}

// Add stores a, for test setup, and returns it as stored: the next ID,
// state new if none, opened now if not set, one occurrence, version 1 and
// an "opened" timeline entry.
func (s *Alerts) Add(a *alerts.Alert) *alerts.Alert {
	now := s.now()
	c := *a
	if c.State == "" {
		c.State = alerts.StateNew
	}
	if c.OpenedAt.IsZero() {
		c.OpenedAt = now
	}
	if c.LastOccurrence.IsZero() {
		c.LastOccurrence = c.OpenedAt
	}
	if c.Occurrences == 0 {
		c.Occurrences = 1
	}
	if c.DeviceID == "" {
		c.DeviceID = c.Device.ID
	}
	c.UpdatedAt, c.Version, c.Timeline = now, 0, nil
	ctx := context.Background()
	err := s.store.InTx(ctx, func(tx alerts.Tx) error {
		if err := tx.CreateAlert(ctx, &c); err != nil {
			return err
		}
		return tx.AddTimeline(ctx, c.ID, alerts.TimelineEntry{At: c.OpenedAt, Actor: alerts.System, Action: alerts.TimelineOpened})
	})
	if err != nil {
		panic("consoletest: add alert: " + err.Error())
	}
	got, err := s.store.FindAlert(ctx, c.ID)
	if err != nil {
		panic("consoletest: add alert: " + err.Error())
	}
	return got
}

// Requests returns every transition request received, in order.
func (s *Alerts) Requests() []alerts.TransitionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]alerts.TransitionRequest(nil), s.requests...)
}

// ListAlerts lists alerts from the in-memory store.
func (s *Alerts) ListAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, int, error) {
	if err := s.fail(); err != nil {
		return nil, 0, err
	}
	return s.store.ListAlerts(ctx, f)
}

// FindAlert returns one alert with its timeline.
func (s *Alerts) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.store.FindAlert(ctx, id)
}

// Transition runs req through the alerts domain in one in-memory
// transaction.
func (s *Alerts) Transition(ctx context.Context, req alerts.TransitionRequest) (*alerts.Alert, error) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if err := s.fail(); err != nil {
		return nil, err
	}
	var out *alerts.Alert
	err := s.store.InTx(ctx, func(tx alerts.Tx) error {
		a, _, err := s.svc.Transition(ctx, tx, req, s.now())
		out = a
		return err
	})
	return out, err
}

// AnswerStats computes the figures from the in-memory store.
func (s *Alerts) AnswerStats(ctx context.Context, from, to time.Time) (alerts.AnswerStats, error) {
	if err := s.fail(); err != nil {
		return alerts.AnswerStats{}, err
	}
	return s.store.AnswerStats(ctx, from, to)
}

// PeriodAlerts implements console.AlertService.
func (s *Alerts) PeriodAlerts(ctx context.Context, from, to time.Time) ([]*alerts.Alert, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.store.PeriodAlerts(ctx, from, to)
}
