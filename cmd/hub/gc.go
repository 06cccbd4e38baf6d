package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcHeadroom is the least garbage the collector lets accumulate between
// collections. Go's default (GOGC=100) collects when the heap has grown by
// its live size; a hub with a small live heap (≈ 10 MiB with a thousand
// devices) then collected a dozen times a second under a full ingest load
// (≈ 3 KB of garbage per message, 7–8 % of its CPU in the collector).
// With a floor the goal is live + max(live, gcHeadroom): the same as the
// default once the live heap passes gcHeadroom (a million devices), and
// at most gcHeadroom more heap below it.
const gcHeadroom = 32 << 20

// startGCHeadroom keeps the collector's goal at live + max(live, headroom)
// by setting the GC percentage after every collection, unless GOGC is set
// (the operator's choice stands; GOMEMLIMIT applies either way). stop puts
// the default back and ends the adjustments.
func startGCHeadroom(headroom uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || headroom == 0 {
		return func() {}
	}
	t := &gcTuner{headroom: headroom, percent: 100,
		live: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			debug.SetGCPercent(100)
		}
	}
}

type gcTuner struct {
	headroom uint64
	mu       sync.Mutex // adjust (at the start, then on the runtime's cleanup goroutine) against stop
	stopped  bool
	percent  int
	live     []metrics.Sample
}

// gcSentinel is garbage from the moment it is made: its cleanup runs
// after the next collection. (It holds a pointer so the runtime does not
// place it with other tiny objects, whose cleanups may never run.)
type gcSentinel struct{ _ *int }

// arm has adjust run after the next collection, and arm again.
func (t *gcTuner) arm() {
	runtime.AddCleanup(new(gcSentinel), func(t *gcTuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust sets the percentage for the live heap the last collection found,
// when it differs by more than a tenth from the one in force. It reports
// false once stopped.
func (t *gcTuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.live)
	if t.live[0].Value.Kind() != metrics.KindUint64 {
		return true
	}
	p := gcPercent(t.live[0].Value.Uint64(), t.headroom)
	if p*10 < t.percent*9 || p*10 > t.percent*11 {
		t.percent = p
		debug.SetGCPercent(p)
	}
	return true
}

// gcPercent is the GOGC that makes the goal live + max(live, headroom).
func gcPercent(live, headroom uint64) int {
	if live == 0 || live >= headroom {
		return 100
	}
	return int(min(headroom*100/live, 1000)) // a live heap of a few MiB at most
}
