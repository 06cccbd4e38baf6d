package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 32 << 20, 100},
		{8 << 20, 32 << 20, 400},
		{10 << 20, 32 << 20, 320},
		{32 << 20, 32 << 20, 100},
		{200 << 20, 32 << 20, 100},
		{1 << 20, 32 << 20, 1000},
	} {
		if got := gcPercent(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live>>20, c.headroom>>20, got, c.want)
		}
	}
}

// TestGCHeadroom: with a live heap far below the headroom, the percentage
// in force after a collection is the one that leaves the headroom, and stop
// puts Go's default back.
func TestGCHeadroom(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Fatalf("GOGC is set (%q): the headroom is off by design then", os.Getenv("GOGC"))
	}
	current := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	const headroom = 1 << 30 // far above this test binary's live heap
	stop := startGCHeadroom(headroom)
	runtime.GC()
	if p := current(); p <= 100 {
		// The cleanup runs on the runtime's goroutine after the collection.
		for range 100 {
			runtime.GC()
			runtime.Gosched()
			if p = current(); p > 100 {
				break
			}
		}
		if p <= 100 {
			t.Fatalf("GC percent %d after collections with a small live heap, want above 100", p)
		}
	}
	stop()
	if p := current(); p != 100 {
		t.Fatalf("GC percent %d after stop, want 100", p)
	}
}
