package consoletest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
)

// Live is an in-memory console.LiveSource: a log of alert changes whose
// oldest entries can be pruned, the open alerts they leave, and
// subscribers that are dropped (lagged) when their buffer is full, as the
// hub's change feed drops them.
type Live struct {
	mu      sync.Mutex
	log     []alerts.Change
	seq     int64
	open    map[int64]*alerts.Alert
	devices any
	subs    map[*liveSub]struct{}

	// Fail, if set, is returned by Snapshot and ChangesSince.
	Fail error
	// OnSnapshot, if set, is called at the start of every Snapshot, without
	// the lock held: a test may block it to publish changes meanwhile.
	OnSnapshot func()
}

var _ console.LiveSource = (*Live)(nil)

// NewLive returns a source with no changes and devices summary devs.
func NewLive(devs any) *Live {
	return &Live{open: make(map[int64]*alerts.Alert), devices: devs, subs: make(map[*liveSub]struct{})}
}

// record appends a change for a copy of a, with the next seq, and updates
// the open set. l.mu is held.
func (l *Live) record(a *alerts.Alert) alerts.Change {
	l.seq++
	c := alerts.Change{Seq: l.seq, At: time.Now().UTC(), Alert: liveCopy(a)}
	l.log = append(l.log, c)
	if a.State.Open() {
		l.open[a.ID] = liveCopy(a)
	} else {
		delete(l.open, a.ID)
	}
	return c
}

// Publish records a change of a and delivers it to every subscriber,
// dropping those whose buffer is full. It returns the change.
func (l *Live) Publish(a *alerts.Alert) alerts.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.record(a)
	for s := range l.subs {
		select {
		case s.c <- c:
		default:
			s.lagged = true
			l.drop(s)
		}
	}
	return c
}

// Lag drops every subscriber as lagging and then records changes of as
// that no subscriber receives, in one step: what a subscriber misses when
// the hub's feed drops it. It returns the last seq.
func (l *Live) Lag(as ...*alerts.Alert) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs {
		s.lagged = true
		l.drop(s)
	}
	for _, a := range as {
		l.record(a)
	}
	return l.seq
}

// End closes every subscription without lag: the feed stopped.
func (l *Live) End() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range l.subs {
		l.drop(s)
	}
}

// Prune forgets the changes with Seq below keepFrom.
func (l *Live) Prune(keepFrom int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.log, keepFrom, func(c alerts.Change, seq int64) int { return cmp.Compare(c.Seq, seq) })
	l.log = slices.Delete(l.log, 0, i)
}

// Seq returns the last seq recorded.
func (l *Live) Seq() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// Subscribers returns the number of live subscriptions.
func (l *Live) Subscribers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs)
}

func (l *Live) drop(s *liveSub) {
	delete(l.subs, s)
	close(s.c)
}

// Subscribe implements console.LiveSource.
func (l *Live) Subscribe(buffer int) (console.LiveSubscription, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &liveSub{l: l, c: make(chan alerts.Change, buffer)}
	l.subs[s] = struct{}{}
	return s, l.seq
}

// Snapshot implements console.LiveSource: the open alerts by ID.
func (l *Live) Snapshot(ctx context.Context) ([]*alerts.Alert, any, error) {
	if l.OnSnapshot != nil {
		l.OnSnapshot()
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return nil, nil, l.Fail
	}
	open := make([]*alerts.Alert, 0, len(l.open))
	for _, a := range l.open {
		open = append(open, liveCopy(a))
	}
	slices.SortFunc(open, func(a, b *alerts.Alert) int { return cmp.Compare(a.ID, b.ID) })
	return open, l.devices, nil
}

// ChangesSince implements console.LiveSource, as the SQL store does: the
// changes after seq, at most limit, and the lowest seq kept (0 if none).
func (l *Live) ChangesSince(_ context.Context, seq int64, limit int) ([]alerts.Change, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return nil, 0, l.Fail
	}
	var oldest int64
	if len(l.log) > 0 {
		oldest = l.log[0].Seq
	}
	i, _ := slices.BinarySearchFunc(l.log, seq+1, func(c alerts.Change, want int64) int { return cmp.Compare(c.Seq, want) })
	var out []alerts.Change
	for _, c := range l.log[i:min(i+limit, len(l.log))] {
		out = append(out, alerts.Change{Seq: c.Seq, At: c.At, Alert: liveCopy(c.Alert)})
	}
	return out, oldest, nil
}

// liveSub is one subscription to a Live.
type liveSub struct {
	l      *Live
	c      chan alerts.Change
	lagged bool
}

func (s *liveSub) Changes() <-chan alerts.Change { return s.c }

func (s *liveSub) Lagged() bool {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.lagged
}

func (s *liveSub) Close() {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if _, ok := s.l.subs[s]; ok {
		s.l.drop(s)
	}
}

// liveCopy copies a without its timeline, so the caller may keep changing
// its own.
func liveCopy(a *alerts.Alert) *alerts.Alert {
	c := *a
	c.Device = *clone(&a.Device)
	c.Timeline = nil
	return &c
}
