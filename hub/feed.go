package hub

import (
	"context"
	"log/slog"
	"slices"
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
	// exportKick wakes the exporter (runExport), which copies published
	// changes to the spool behind the publishing; exported, its cursor, is
	// its own.
	exportKick chan struct{}
	exported   int64
	// onChanges, if set, sees every batch of changes in order before the
	// subscribers do (the open-alert view, with several instances).
	onChanges func([]alerts.Change)

	mu   sync.Mutex
	last int64
	subs map[*subscriber]struct{}
	// handed holds the changes published since the exporter last took
	// them, so that it copies them without reading them from the store
	// again. Past maxHanded (the spool held up for long) they are dropped
	// and handedLost set: the exporter then reads that stretch back from
	// the store.
	handed     []alerts.Change
	handedLost bool
	maxHanded  int
}

// maxHanded is how many published changes may wait for the exporter in
// memory before it reads them back from the store instead.
const maxHanded = 10000

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
	return &Feed{store: store, spool: spool, format: format, logger: logger, kick: make(chan struct{}, 1),
		exportKick: make(chan struct{}, 1), exported: last, last: last, subs: make(map[*subscriber]struct{}), maxHanded: maxHanded}
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

// follow sets fn to see every batch of changes in order, before the
// subscribers; call it before run.
func (f *Feed) follow(fn func([]alerts.Change)) { f.onChanges = fn }

// run publishes changes as they are committed until ctx is done. The copy
// to the spool runs beside it (runExport), owned by run: the spool has one
// writer, which a telemetry backlog keeps busy, and an SOS must not wait
// behind the previous change's copy to reach the consoles.
func (f *Feed) run(ctx context.Context) {
	var exporter sync.WaitGroup
	if f.spool != nil {
		exporter.Go(func() { f.runExport(ctx) })
	}
	defer exporter.Wait()
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
			if f.onChanges != nil {
				f.onChanges(changes)
			}
			f.publish(changes)
			wake(f.exportKick)
		}
	}
}

// exportWait bounds the last copy at shutdown, and each copy's wait for
// the spool.
const exportWait = 10 * time.Second

// exportDelay is how long the copy to the spool trails the publishing.
// The consoles have a change first: its copy (a store read, a spool
// transaction, the InfluxDB writer's request and InfluxDB's own work) no
// longer competes for the cores with writing it to hundreds of consoles,
// and the changes of a burst go to the spool in one append. A chart of
// alerts is 0.1 s later; nothing else reads the copy.
const exportDelay = 100 * time.Millisecond

// runExport copies the published changes to the spool, in order, about
// exportDelay after they are published and once more when ctx is done, so
// that what the consoles were shown is copied at a clean stop too.
func (f *Feed) runExport(ctx context.Context) {
	delay := time.NewTimer(exportDelay)
	delay.Stop()
	for {
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), exportWait)
			defer cancel()
			f.exportPublished(last)
			return
		case <-f.exportKick:
		}
		delay.Reset(exportDelay)
		select {
		case <-ctx.Done():
			delay.Stop()
			continue // the last copy above
		case <-delay.C:
		}
		f.exportPublished(ctx)
	}
}

// exportPublished copies the changes published since the last copy: those
// the publishing handed over (appended to a list: it never waits for the
// copy), or, if too many waited, read again from the store. A change whose
// copy fails is logged and skipped, as the store's tables are the record.
func (f *Feed) exportPublished(ctx context.Context) {
	f.mu.Lock()
	handed, lost, upTo := f.handed, f.handedLost, f.last
	f.handed, f.handedLost = nil, false
	f.mu.Unlock()
	if !lost {
		for len(handed) > 0 {
			batch := handed[:min(len(handed), 500)]
			handed = handed[len(batch):]
			f.export(ctx, batch)
			f.exported = batch[len(batch)-1].Seq
		}
		return
	}
	defer func() {
		if f.exported < upTo { // not all read back: the next copy reads on from f.exported
			f.mu.Lock()
			f.handed, f.handedLost = nil, true
			f.mu.Unlock()
		}
	}()
	for f.exported < upTo {
		changes, _, err := f.store.ChangesSince(ctx, f.exported, 500)
		if err != nil {
			if ctx.Err() == nil {
				f.logger.Error("read alert changes to export", "err", err)
			}
			return
		}
		if i := slices.IndexFunc(changes, func(c alerts.Change) bool { return c.Seq > upTo }); i >= 0 {
			changes = changes[:i] // not published yet: the next wake-up's
		}
		if len(changes) == 0 {
			return
		}
		f.export(ctx, changes)
		f.exported = changes[len(changes)-1].Seq
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
	if f.spool != nil && !f.handedLost {
		if len(f.handed)+len(changes) > f.maxHanded {
			f.handed, f.handedLost = nil, true
		} else {
			f.handed = append(f.handed, changes...)
		}
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
	actx, cancel := context.WithTimeout(ctx, exportWait)
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
