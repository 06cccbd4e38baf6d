package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
)

// The storm's closed loop (-backlog N): the publisher keeps at most N
// readings published and not yet taken by the hub, so the storm runs as
// fast as the hub sustains while the broker holds at most N for it. Flat
// out the publisher outruns the hub and the broker's backlog grows without
// bound (mosquitto then rewrites it whole at every autosave, serving
// nothing meanwhile, presses included); -rate avoids that only below the
// hub's rate, which a guess must find and a busy machine moves.
//
// The hub's progress is its count of valid telemetry received
// (shouwang_ingest_received_total{channel="telemetry"}), scraped from
// /metrics every backlogPoll: it counts a reading as the hub's handler
// takes it from its MQTT client, which is what the broker's backlog for
// the hub is made of, and it needs nothing from the hub a production hub
// does not serve. At the storm's rate a scrape comes every few hundred
// readings (its CPU counts in the hub's figures, which is why the poll is
// not faster).

// backlogPoll is how often the hub's progress is read.
const backlogPoll = 20 * time.Millisecond

// BacklogStats is what the closed loop saw in one phase.
type BacklogStats struct {
	Limit      int64   `json:"limit"`
	MaxHeld    int64   `json:"max_held"` // most readings published and not yet taken, at a poll
	Polls      int     `json:"polls"`
	PollMillis float64 `json:"poll_ms_mean"` // a scrape of /metrics, mean
	Waits      int64   `json:"waits"`        // times a publisher waited for the hub
}

// backlogGate lets publishers publish while fewer than limit readings are
// published and not yet taken by the hub (progress, cumulative; only its
// growth since the gate was made counts).
type backlogGate struct {
	limit    int64
	progress func(context.Context) (int64, error)

	published atomic.Int64 // readings let through
	waits     atomic.Int64

	mu      sync.Mutex
	base    int64         // progress when the gate was made
	taken   int64         // progress since, at the last poll
	changed chan struct{} // closed at each poll (and on an error)
	err     error
	maxHeld int64
	polls   int
	polled  time.Duration
}

func newBacklogGate(ctx context.Context, limit int64, progress func(context.Context) (int64, error)) (*backlogGate, error) {
	base, err := progress(ctx)
	if err != nil {
		return nil, fmt.Errorf("backlog: the hub's progress: %w", err)
	}
	return &backlogGate{limit: limit, progress: progress, base: base, changed: make(chan struct{})}, nil
}

// acquire takes room for n readings (n at most the limit), waiting while
// the hub has not taken enough; false if ctx ends or the hub's progress
// cannot be read.
func (g *backlogGate) acquire(ctx context.Context, n int64) bool {
	waited := false
	for {
		g.mu.Lock()
		taken, changed, err := g.taken, g.changed, g.err
		g.mu.Unlock()
		if err != nil {
			return false
		}
		p := g.published.Load()
		if p+n-taken <= g.limit {
			if g.published.CompareAndSwap(p, p+n) {
				return true
			}
			continue
		}
		if !waited {
			waited = true
			g.waits.Add(1)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// run polls the hub's progress every `every` until ctx ends.
func (g *backlogGate) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !g.poll(ctx) {
			return
		}
	}
}

// poll reads the hub's progress once and wakes the waiting publishers;
// false once the progress cannot be read (the publishers then stop).
func (g *backlogGate) poll(ctx context.Context) bool {
	start := time.Now()
	v, err := g.progress(ctx)
	took := time.Since(start)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		g.err = fmt.Errorf("backlog: the hub's progress: %w", err)
	} else {
		g.taken = v - g.base
		g.maxHeld = max(g.maxHeld, g.published.Load()-g.taken)
		g.polls++
		g.polled += took
	}
	close(g.changed)
	g.changed = make(chan struct{})
	return err == nil
}

// stats returns what the gate saw, and its error if the progress could
// not be read.
func (g *backlogGate) stats() (*BacklogStats, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := &BacklogStats{Limit: g.limit, MaxHeld: g.maxHeld, Polls: g.polls, Waits: g.waits.Load()}
	if g.polls > 0 {
		s.PollMillis = float64(g.polled.Microseconds()) / 1000 / float64(g.polls)
	}
	return s, g.err
}

// hubTelemetryTaken reads the hub's count of telemetry readings received.
func hubTelemetryTaken(api *bench.API) func(context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		m, err := api.Metrics(ctx)
		if err != nil {
			return 0, err
		}
		return int64(m.Sum("shouwang_ingest_received_total", `channel="telemetry"`)), nil
	}
}
