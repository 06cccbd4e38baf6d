package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// pending is one message waiting to be made durable, with the function that
// acknowledges it to the broker once it is.
type pending[T any] struct {
	item T
	ack  func()
}

// committer batches items from many handler goroutines into one durable
// commit (group commit): it takes whatever has queued up while the last
// commit ran, commits it in one transaction and only then acknowledges every
// message in it. A failed commit is retried with back-off and nothing is
// acknowledged, so a full disk slows ingest down but loses nothing. While
// a batch is being retried the committer reports itself failing (readiness
// says so), and its log lines are limited to one per commitLogEvery.
type committer[T any] struct {
	name     string
	in       chan pending[T]
	maxBatch int
	// linger, when positive, is how long a commit waits for more when it
	// found fewer than lingerBelow items queued: at a moderate, steady rate
	// that turns many tiny transactions (each with its fsync) into a few
	// larger ones. Under heavy load batches are large and nothing waits.
	linger      time.Duration
	lingerBelow int
	commit      func(ctx context.Context, batch []T) error
	observe     func(size int, took time.Duration, err error)
	logger      *limitedLogger
	plain       *slog.Logger // for what happens once, at shutdown
	done        chan struct{}

	// failing is set while a batch is being retried.
	failing atomic.Pointer[commitFailure]
}

// commitFailure describes a commit path that cannot commit.
type commitFailure struct {
	Path     string
	Since    time.Time
	Attempts int
	Err      string
}

func (f commitFailure) String() string {
	return fmt.Sprintf("%s commits failing since %s (%d attempts, nothing acknowledged): %s",
		f.Path, f.Since.Format(time.RFC3339), f.Attempts, f.Err)
}

// commitLogEvery bounds the committer's log: a failing commit is retried
// every few seconds, and a disk that stays full must not flood the log.
const commitLogEvery = 30 * time.Second

func newCommitter[T any](name string, queue, maxBatch int, commit func(context.Context, []T) error,
	observe func(int, time.Duration, error), logger *slog.Logger) *committer[T] {
	return &committer[T]{
		name: name, in: make(chan pending[T], queue), maxBatch: maxBatch,
		commit: commit, observe: observe, done: make(chan struct{}),
		logger: newLimitedLogger(logger, commitLogEvery, time.Now), plain: logger,
	}
}

// lingering makes a commit that finds fewer than below items queued wait
// up to d for more (see linger).
func (c *committer[T]) lingering(d time.Duration, below int) *committer[T] {
	c.linger, c.lingerBelow = d, below
	return c
}

// put queues an item, or gives up when quit is closed first (shutting down
// with the queue full: the broker redelivers).
func (c *committer[T]) put(item T, ack func(), quit <-chan struct{}) {
	select {
	case c.in <- pending[T]{item, ack}:
	case <-quit:
	}
}

// close says no more items will be put; run commits what is queued and
// returns, closing drained.
func (c *committer[T]) close() { close(c.in) }

// drained is closed once run has returned.
func (c *committer[T]) drained() <-chan struct{} { return c.done }

// failure returns the failure in progress, if any.
func (c *committer[T]) failure() (commitFailure, bool) {
	if f := c.failing.Load(); f != nil {
		return *f, true
	}
	return commitFailure{}, false
}

// run commits until c.in is closed and drained. Cancelling ctx abandons the
// batch in hand without acknowledging it: the broker will deliver it again.
func (c *committer[T]) run(ctx context.Context) {
	defer close(c.done)
	batch := make([]pending[T], 0, c.maxBatch)
	items := make([]T, 0, c.maxBatch)
	for {
		first, ok := <-c.in
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	gather:
		for len(batch) < c.maxBatch {
			select {
			case p, ok := <-c.in:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		if c.linger > 0 && len(batch) < c.lingerBelow {
			batch = c.gatherFor(batch)
		}
		items = items[:0]
		for _, p := range batch {
			items = append(items, p.item)
		}
		if !c.commitWithRetry(ctx, items) {
			return
		}
		for _, p := range batch {
			p.ack()
		}
		clear(batch) // let the messages be collected
	}
}

// gatherFor adds items to batch for up to c.linger, until it is full or
// c.in is closed.
func (c *committer[T]) gatherFor(batch []pending[T]) []pending[T] {
	t := time.NewTimer(c.linger)
	defer t.Stop()
	for len(batch) < c.maxBatch {
		select {
		case p, ok := <-c.in:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-t.C:
			return batch
		}
	}
	return batch
}

func (c *committer[T]) commitWithRetry(ctx context.Context, items []T) bool {
	backoff := 50 * time.Millisecond
	var since time.Time
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := c.commit(ctx, items)
		c.observe(len(items), time.Since(start), err)
		if err == nil {
			if attempt > 1 {
				c.failing.Store(nil)
				c.logger.Log(slog.LevelInfo, "recovered", "commit recovered", "path", c.name, "attempts", attempt,
					"failed_for", time.Since(since).Round(time.Millisecond))
			}
			return true
		}
		if ctx.Err() != nil {
			c.plain.Warn("commit abandoned at shutdown; the broker will redeliver", "path", c.name, "messages", len(items))
			return false
		}
		if attempt == 1 {
			since = start
		}
		c.failing.Store(&commitFailure{Path: c.name, Since: since, Attempts: attempt, Err: err.Error()})
		c.logger.Error("failed", "commit failed; retrying, nothing acknowledged", "path", c.name,
			"messages", len(items), "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// storeGate lets the event committer's transactions go before background
// writes to the main store (the device health flush, the few readings that
// may open an alert, and the folded readings' writes — Alerting owns the
// gate and ingest shares it): SQLite has one writer, so such a write would
// otherwise hold up an SOS while it ran. A telemetry writer waits while an
// event commit waits for the store or runs; one already running is not
// interrupted, so each is kept short (healthFlushChunk devices at a time),
// and those of many items commit early when an event commit starts
// waiting (urgentWaiting).
// The spool, where telemetry commits, is a file of its own with its own
// writer, so those commits never meet events at all.
type storeGate struct {
	mu     sync.Mutex
	urgent int           // event commits waiting or running
	clear  chan struct{} // closed while urgent is 0
	// waiting mirrors urgent for the background writers' checks between
	// two items of a transaction (urgentWaiting), without the mutex.
	waiting atomic.Int32
	// slot lets one background writer at a time past the gate. The store
	// hands its one writer connection to a random one of those waiting
	// for it (database/sql), so an event commit queued there beside the
	// readings', the folds' and the health flush's transactions could go
	// after all three; with one, it goes after one at most.
	slot chan struct{}
}

func newStoreGate() *storeGate {
	g := &storeGate{clear: make(chan struct{}), slot: make(chan struct{}, 1)}
	close(g.clear)
	return g
}

// urgentStart marks an event commit as waiting or running; urgentDone ends
// it.
func (g *storeGate) urgentStart() {
	g.mu.Lock()
	if g.urgent == 0 {
		g.clear = make(chan struct{})
	}
	g.urgent++
	g.waiting.Add(1)
	g.mu.Unlock()
}

func (g *storeGate) urgentDone() {
	g.mu.Lock()
	g.waiting.Add(-1)
	if g.urgent--; g.urgent == 0 {
		close(g.clear)
	}
	g.mu.Unlock()
}

// urgentWaiting reports whether an event commit waits for the store (or
// runs). A background transaction asks it between two of its items and
// commits what it has when one does: the event then waits for one item and
// a commit, not for the rest of a batch.
func (g *storeGate) urgentWaiting() bool { return g.waiting.Load() > 0 }

// background runs fn once no event commit waits or runs and no other
// background writer does, or returns ctx's error.
func (g *storeGate) background(ctx context.Context, fn func() error) error {
	for {
		g.mu.Lock()
		clear := g.clear
		g.mu.Unlock()
		select {
		case <-clear:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case g.slot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !g.urgentWaiting() {
			break
		}
		<-g.slot // an event came while this waited for the slot: it goes first
	}
	defer func() { <-g.slot }()
	return fn()
}
