package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeHub is a progress source: the readings the test says the hub took.
type fakeHub struct {
	taken atomic.Int64
	fail  atomic.Bool
	calls atomic.Int64
}

func (h *fakeHub) progress(context.Context) (int64, error) {
	h.calls.Add(1)
	if h.fail.Load() {
		return 0, errors.New("hub gone")
	}
	return h.taken.Load(), nil
}

// TestBacklogGateHoldsTheLimit: the gate lets through no more than the
// limit beyond what the hub took (counted from the gate's start), lets
// more through as the hub's progress is polled, and stops the publishers
// once the progress cannot be read.
func TestBacklogGateHoldsTheLimit(t *testing.T) {
	ctx := context.Background()
	hub := &fakeHub{}
	hub.taken.Store(5000) // the quiet phase's, before this gate
	g, err := newBacklogGate(ctx, 100, hub.progress)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 { // 96 of 100
		if !g.acquire(ctx, 16) {
			t.Fatalf("acquire %d refused with %d published, none taken, limit 100", i, g.published.Load())
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if g.acquire(done, 16) {
		t.Fatalf("acquire let 112 through with none taken; limit 100")
	}
	if got := g.published.Load(); got != 96 {
		t.Fatalf("published %d after a refused acquire; want 96", got)
	}
	if g.acquire(done, 4) != true {
		t.Fatal("acquire of 4 refused at 96 of 100")
	}
	// The hub takes 50: a waiting publisher goes on after the next poll.
	got := make(chan bool)
	go func() { got <- g.acquire(ctx, 16) }()
	hub.taken.Add(50)
	if !g.poll(ctx) {
		t.Fatal("poll failed")
	}
	if !<-got {
		t.Fatal("acquire refused after the hub took 50")
	}
	st, err := g.stats()
	if err != nil || st.MaxHeld != 50 || st.Polls != 1 || st.Waits < 1 || st.Limit != 100 {
		t.Errorf("stats %+v, %v; want max held 50 (100 published, 50 taken), 1 poll, a wait, limit 100", st, err)
	}
	// Published 116, taken 50: room for 34 more, not 35.
	if !g.acquire(done, 34) || g.acquire(done, 1) {
		t.Errorf("published %d with 50 taken; want exactly 150 let through", g.published.Load())
	}
	// The hub's progress cannot be read: a waiting publisher stops.
	go func() { got <- g.acquire(ctx, 16) }()
	hub.fail.Store(true)
	if g.poll(ctx) {
		t.Error("poll of a failing hub reported success")
	}
	if <-got {
		t.Error("acquire went on with the hub's progress unreadable")
	}
	if _, err := g.stats(); err == nil || !strings.Contains(err.Error(), "hub gone") {
		t.Errorf("stats error %v; want the progress's", err)
	}
}

// TestBacklogGateRunsPublishers: publishers held to the gate with a hub
// that takes readings as the test polls publish everything, the backlog
// never above the limit at any poll.
func TestBacklogGateRunsPublishers(t *testing.T) {
	ctx := context.Background()
	hub := &fakeHub{}
	g, err := newBacklogGate(ctx, 64, hub.progress)
	if err != nil {
		t.Fatal(err)
	}
	const pubs, each = 4, 640
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var wg sync.WaitGroup
		for range pubs {
			wg.Go(func() {
				for range each / 16 {
					if !g.acquire(ctx, 16) {
						t.Error("acquire refused")
						return
					}
				}
			})
		}
		wg.Wait()
	}()
	for {
		select {
		case <-finished:
			if got := g.published.Load(); got != pubs*each {
				t.Errorf("published %d; want %d", got, pubs*each)
			}
			st, _ := g.stats()
			if st.MaxHeld > 64 {
				t.Errorf("max held %d; limit 64", st.MaxHeld)
			}
			return
		default:
		}
		// The hub takes everything published so far, up to 40 a poll.
		hub.taken.Store(min(g.published.Load(), hub.taken.Load()+40))
		if held := g.published.Load() - hub.taken.Load(); held > 64 {
			t.Fatalf("%d published and not taken; limit 64", held)
		}
		g.poll(ctx)
	}
}

// TestStormBacklogFlag: -backlog is parsed for storm, and a bound too
// small for a publisher's step is refused naming the flag.
func TestStormBacklogFlag(t *testing.T) {
	saved := stormOpts
	t.Cleanup(func() { stormOpts = saved })
	fs := flag.NewFlagSet("bench storm", flag.ContinueOnError)
	stormFlags(fs, "storm")
	if err := fs.Parse([]string{"-backlog", "5000"}); err != nil || stormOpts.Backlog != 5000 || stormOpts.validate() != nil {
		t.Errorf("-backlog 5000: %v, Backlog %d, validate %v", err, stormOpts.Backlog, stormOpts.validate())
	}
	stormOpts = saved
	if stormOpts.Backlog != 0 {
		t.Errorf("default Backlog %d; want 0 (flat out or -rate, as before)", stormOpts.Backlog)
	}
	for _, bad := range []string{"-1", "15"} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), []string{"storm", "-backlog", bad}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-backlog") {
			t.Errorf("-backlog %s: exit %d, %q; want 2 naming -backlog", bad, code, errs.String())
		}
		stormOpts = saved
	}
}
