package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// Feed publishes alert changes, in the order of their sequence numbers,
// to subscribers such as the console's live feed. It tails the store's
// change table rather than trusting the order in which goroutines finish
// their commits, so no subscriber sees change n+1 before change n.
type Feed struct {
	store  alerts.Store
	spool  Spool
	format RecordFormat
	logger *slog.Logger
	kick   chan struct{}

	mu   sync.Mutex
	last int64
	subs map[*subscriber]struct{}
}

// subscriber is the feed's side of a Subscription, guarded by the feed's
// mutex.
type subscriber struct {
	c      chan alerts.Change
	lagged bool
}

// Subscription receives changes on C. A subscriber that falls more than
// the buffer behind is dropped: C is closed and Lagged reports true, and it
// resynchronises from the store.
type Subscription struct {
	C    <-chan alerts.Change
	sub  *subscriber
	feed *Feed
}

// Changes returns C. With it a *Subscription is a console.LiveSubscription.
func (s *Subscription) Changes() <-chan alerts.Change { return s.C }

// Lagged reports whether the feed dropped this subscription for falling
// behind.
func (s *Subscription) Lagged() bool { return s.feed.lagged(s.sub) }

// Close ends the subscription.
func (s *Subscription) Close() { s.feed.unsubscribe(s.sub) }

func newFeed(store alerts.Store, last int64, spool Spool, format RecordFormat, logger *slog.Logger) *Feed {
	return &Feed{store: store, spool: spool, format: format, logger: logger, kick: make(chan struct{}, 1), last: last,
		subs: make(map[*subscriber]struct{})}
}

// Subscribe returns a subscription to changes after the current sequence
// number, which it also returns.
func (f *Feed) Subscribe(buffer int) (*Subscription, int64) {
	sub := &subscriber{c: make(chan alerts.Change, buffer)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[sub] = struct{}{}
	return &Subscription{C: sub.c, sub: sub, feed: f}, f.last
}

func (f *Feed) lagged(sub *subscriber) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sub.lagged
}

func (f *Feed) unsubscribe(sub *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[sub]; ok {
		delete(f.subs, sub)
		close(sub.c)
	}
}

// Last returns the sequence number of the last change published.
func (f *Feed) Last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *Feed) wake() { wake(f.kick) }

func (f *Feed) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			f.closeAll()
			return
		case <-f.kick:
		}
		for {
			f.mu.Lock()
			last := f.last
			f.mu.Unlock()
			changes, _, err := f.store.ChangesSince(ctx, last, 500)
			if err != nil {
				if ctx.Err() == nil {
					f.logger.Error("read alert changes", "err", err)
				}
				break
			}
			if len(changes) == 0 {
				break
			}
			f.publish(changes)
			f.export(ctx, changes)
		}
	}
}

func (f *Feed) publish(changes []alerts.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range changes {
		for s := range f.subs {
			select {
			case s.c <- c:
			default:
				s.lagged = true
				delete(f.subs, s)
				close(s.c)
			}
		}
		f.last = c.Seq
	}
}

// export writes the changes to InfluxDB through the spool for dashboards.
// The store's alert tables are the record; this is a copy for charts.
func (f *Feed) export(ctx context.Context, changes []alerts.Change) {
	if f.spool == nil {
		return
	}
	lines := make([][]byte, 0, len(changes))
	for _, c := range changes {
		lines = append(lines, f.format.AlertChange(c))
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.spool.Append(actx, lines, nil); err != nil {
		f.logger.Warn("export alert changes to the spool", "changes", len(changes), "err", err)
	}
}

func (f *Feed) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		delete(f.subs, s)
		close(s.c)
	}
}
