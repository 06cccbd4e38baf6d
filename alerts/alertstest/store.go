// Package alertstest is an in-memory alerts.Store for unit tests across
// the project. It keeps the contract of the SQL store: transactions are
// all-or-nothing and serialised, every alert write goes on a change feed
// with strictly increasing sequence numbers, times are kept to the
// millisecond in UTC, and errors are *shouwang.Error with ENOTFOUND,
// ECONFLICT or EINVALID where the SQL store returns them.
//
// A transaction applies its writes as it goes and keeps an undo log; an
// error (or a panic) from the function given to InTx rolls them back. One
// lock serialises transactions and reads, so a reader never sees a
// transaction half done — and, as with the SQL store's writer, the
// function given to InTx must not call the Store's own methods.
package alertstest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Listing limits, as the SQL store has them.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
	// DefaultKeepChanges is how many change-feed entries are kept.
	DefaultKeepChanges = 10_000
)

// Store is an in-memory alerts.Store. The zero value is not usable; call
// New.
type Store struct {
	mu          sync.Mutex
	now         func() time.Time
	keepChanges int
	fail        func(op string) error

	alerts    map[int64]*alerts.Alert // without timelines
	timelines map[int64][]alerts.TimelineEntry
	timers    map[timerKey]alerts.Timer
	notifs    map[int64]*alerts.Notification
	triggers  map[triggerKey]bool
	changes   []alerts.Change
	photos    map[int64]*alerts.Photo
	members   map[int64][]alerts.IncidentMember // by incident, in the order they joined
	activity  map[string]alerts.Activity        // by household
	plans     map[string]alerts.CheckinPlan     // by household
	registry  []devices.Location                // the registered devices' locations (SetDevices)

	lastAlert, lastEntry, lastNotif, lastSeq, lastPhoto int64
}

type timerKey struct {
	alert int64
	kind  alerts.TimerKind
}

type triggerKey struct {
	device string
	seq    uint64
	ts     int64
}

// The interfaces Store and its transactions implement.
var (
	_ alerts.Store = (*Store)(nil)
	_ alerts.Tx    = (*Tx)(nil)
)

// New returns an empty store that reads the wall clock where the contract
// says "now" (a timeline entry or a change without a time).
func New() *Store {
	return &Store{
		now:         time.Now,
		keepChanges: DefaultKeepChanges,
		alerts:      make(map[int64]*alerts.Alert),
		timelines:   make(map[int64][]alerts.TimelineEntry),
		timers:      make(map[timerKey]alerts.Timer),
		notifs:      make(map[int64]*alerts.Notification),
		triggers:    make(map[triggerKey]bool),
		photos:      make(map[int64]*alerts.Photo),
		members:     make(map[int64][]alerts.IncidentMember),
		activity:    make(map[string]alerts.Activity),
		plans:       make(map[string]alerts.CheckinPlan),
	}
}

// SetClock replaces the wall clock.
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// SetKeepChanges sets how many change-feed entries are kept (at least 1).
func (s *Store) SetKeepChanges(n int) {
	s.mu.Lock()
	s.keepChanges = max(n, 1)
	s.mu.Unlock()
}

// SetFail installs a hook every Tx method calls first with its name
// ("CreateAlert", "SetTimer", …): a non-nil error fails that call, so
// tests can check that a failed step rolls the whole transaction back.
// nil removes the hook.
func (s *Store) SetFail(fn func(op string) error) {
	s.mu.Lock()
	s.fail = fn
	s.mu.Unlock()
}

// InTx runs fn in one transaction, committing if it returns nil and
// rolling every write back otherwise (also on a panic, which is
// re-raised).
func (s *Store) InTx(ctx context.Context, fn func(alerts.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Tx{s: s, ctx: ctx}
	defer func() {
		tx.done = true
		if p := recover(); p != nil {
			tx.rollback()
			panic(p)
		}
		if err != nil {
			tx.rollback()
			return
		}
		tx.commit()
		s.prune()
	}()
	return fn(tx)
}

// prune drops the oldest change-feed entries beyond keepChanges.
func (s *Store) prune() {
	if n := len(s.changes) - s.keepChanges; n > 0 {
		s.changes = slices.Delete(s.changes, 0, n)
	}
}

// FindAlert implements alerts.Store.
func (s *Store) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findAlert(id)
}

func (s *Store) findAlert(id int64) (*alerts.Alert, error) {
	a, ok := s.alerts[id]
	if !ok {
		return nil, notFound(id)
	}
	c := cloneAlert(a)
	c.Timeline = cloneTimeline(s.timelines[id])
	if c.Incident != nil {
		c.Members = slices.Clone(s.members[id])
	}
	return c, nil
}

func cmpID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// later reports whether a was opened after b (ID breaks ties).
func later(a, b *alerts.Alert) bool {
	if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
		return c > 0
	}
	return a.ID > b.ID
}

// selectAlerts returns clones of matching alerts by ID.
func (s *Store) selectAlerts(keep func(*alerts.Alert) bool) []*alerts.Alert {
	var out []*alerts.Alert
	for _, a := range s.alerts {
		if keep(a) {
			out = append(out, cloneAlert(a))
		}
	}
	slices.SortFunc(out, func(a, b *alerts.Alert) int { return cmpID(a.ID, b.ID) })
	return out
}

// Alerts returns every alert with its timeline, by ID: a test's view of
// the whole store.
func (s *Store) Alerts() []*alerts.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.selectAlerts(func(*alerts.Alert) bool { return true })
	for _, a := range out {
		a.Timeline = cloneTimeline(s.timelines[a.ID])
	}
	return out
}

// Timers returns every pending timer, earliest first.
func (s *Store) Timers() []alerts.Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedTimers()
}

// Notifications returns every pending notification, earliest first.
func (s *Store) Notifications() []*alerts.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedNotifications()
}

func notFound(id int64) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", id).With("alert.not_found", "id", strconv.FormatInt(id, 10))
}

func notificationNotFound(id int64) error {
	return shouwang.Errorf(shouwang.ENOTFOUND, "notification %d not found", id)
}

var errTxDone = fmt.Errorf("alertstest: transaction already committed or rolled back")
