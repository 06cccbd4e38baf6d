package hub

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backlogAt returns a watch on a clock the test moves, and the clock.
func backlogAt(cfg BacklogConfig) (*BacklogWatch, *testClock, *countingHandler) {
	clock := &testClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	cfg.Now = clock.Now
	logs := &countingHandler{min: slog.LevelInfo}
	return NewBacklogWatch(cfg, slog.New(logs)), clock, logs
}

// TestBacklogWatchFollowsTheBrokersStore: a store count above the
// threshold that keeps growing over the window is a broker falling behind;
// a large count that shrinks (a backlog draining after an outage) or a
// small one that grows is not.
func TestBacklogWatchFollowsTheBrokersStore(t *testing.T) {
	w, clock, logs := backlogAt(BacklogConfig{Every: 10 * time.Second, Window: time.Minute, Threshold: 1000})
	if w.Stored() != -1 || w.Check() != "ok" {
		t.Fatalf("before any count: Stored %d, Check %q", w.Stored(), w.Check())
	}
	step := func(n int64) {
		clock.Set(clock.Now().Add(10 * time.Second))
		w.SetStored(n)
		w.Sample()
	}
	for _, n := range []int64{100, 300, 500, 700, 900, 950, 990} { // growing, but under the threshold
		step(n)
	}
	if w.Behind() {
		t.Errorf("behind with %d stored, under the threshold", w.Stored())
	}
	for n := int64(1200); n <= 3000; n += 300 { // growing past it
		step(n)
	}
	if !w.Behind() || !strings.Contains(w.Check(), "warning: the broker holds 3000 messages") {
		t.Errorf("a growing store past the threshold: Behind %v, Check %q", w.Behind(), w.Check())
	}
	lines := logs.n.Load()
	if lines != 1 {
		t.Errorf("%d log lines while behind, want 1", lines)
	}
	for n := int64(2800); n >= 1000; n -= 300 { // draining
		step(n)
	}
	if w.Behind() || !strings.HasPrefix(w.Check(), "ok; the broker holds") {
		t.Errorf("a draining store: Behind %v, Check %q", w.Behind(), w.Check())
	}
	if logs.n.Load() != lines+1 {
		t.Errorf("no line when the broker caught up")
	}
}

// TestBacklogWatchFollowsResends: with no count from the broker, many
// resends of messages the hub already stored mean the broker lost track.
func TestBacklogWatchFollowsResends(t *testing.T) {
	var received, resent, dups atomic.Int64
	w, clock, _ := backlogAt(BacklogConfig{Window: time.Minute,
		Received: received.Load, Redelivered: resent.Load, Duplicates: dups.Load})
	step := func(got, res int64) {
		clock.Set(clock.Now().Add(10 * time.Second))
		received.Add(got)
		resent.Add(res)
		dups.Add(res)
		w.Sample()
	}
	step(0, 0)
	for range 6 {
		step(10_000, 100) // 1 %: a reconnect's worth
	}
	if w.Behind() {
		t.Errorf("behind at 1 %% resends: %q", w.Check())
	}
	for range 6 {
		step(10_000, 5_000)
	}
	if !w.Behind() || !strings.Contains(w.Check(), "were resends (DUP)") {
		t.Errorf("at 50 %% resends: Behind %v, Check %q", w.Behind(), w.Check())
	}
	if w.Stored() != -1 {
		t.Errorf("Stored %d with no count from the broker, want -1", w.Stored())
	}
}
