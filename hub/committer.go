package hub

import (
	"context"
	"log/slog"
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
// acknowledged, so a full disk slows ingest down but loses nothing.
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
	logger      *slog.Logger
	done        chan struct{}
}

func newCommitter[T any](name string, queue, maxBatch int, commit func(context.Context, []T) error,
	observe func(int, time.Duration, error), logger *slog.Logger) *committer[T] {
	return &committer[T]{
		name: name, in: make(chan pending[T], queue), maxBatch: maxBatch,
		commit: commit, observe: observe, logger: logger, done: make(chan struct{}),
	}
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
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := c.commit(ctx, items)
		c.observe(len(items), time.Since(start), err)
		if err == nil {
			if attempt > 1 {
				c.logger.Info("commit recovered", "path", c.name, "attempts", attempt)
			}
			return true
		}
		if ctx.Err() != nil {
			c.logger.Warn("commit abandoned at shutdown; the broker will redeliver", "path", c.name, "messages", len(items))
			return false
		}
		if attempt == 1 || attempt%20 == 0 {
			c.logger.Error("commit failed; retrying, nothing acknowledged", "path", c.name, "messages", len(items), "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
