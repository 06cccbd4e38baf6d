package hub

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// runCommitter runs c until its input is closed and returns the sizes of
// the batches it committed.
func runCommitter(t *testing.T, linger time.Duration, lingerBelow, maxBatch int, feed func(in chan<- pending[int])) []int {
	t.Helper()
	var mu sync.Mutex
	var sizes []int
	c := newCommitter("test", 100, maxBatch, func(_ context.Context, items []int) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(items))
		return nil
	}, func(int, time.Duration, error) {}, slog.New(slog.DiscardHandler))
	c.linger, c.lingerBelow = linger, lingerBelow
	go c.run(context.Background())
	feed(c.in)
	close(c.in)
	<-c.done
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(sizes)
}

func TestCommitterLingersForAFullBatch(t *testing.T) {
	var acked sync.WaitGroup
	ack := func() { acked.Done() }
	// Items sent one by one while the committer lingers (an hour) go into
	// one batch, which is committed as soon as it is full.
	sizes := runCommitter(t, time.Hour, 64, 5, func(in chan<- pending[int]) {
		acked.Add(7)
		for i := range 5 {
			in <- pending[int]{i, ack}
		}
		for i := range 2 {
			in <- pending[int]{i, ack}
		}
	})
	acked.Wait()
	if !slices.Equal(sizes, []int{5, 2}) {
		t.Errorf("batches %v, want [5 2]: a full batch at once, the rest when the input closed", sizes)
	}
}

func TestCommitterWithoutLingerCommitsWhatIsQueued(t *testing.T) {
	done := make(chan struct{}, 1)
	sizes := runCommitter(t, 0, 0, 5, func(in chan<- pending[int]) {
		for i := range 3 {
			in <- pending[int]{i, func() { done <- struct{}{} }}
			<-done // each is committed alone before the next is sent
		}
	})
	if !slices.Equal(sizes, []int{1, 1, 1}) {
		t.Errorf("batches %v, want [1 1 1]", sizes)
	}
}

// TestStoreGateOneBackgroundWriterAtATime: background writers pass the
// gate one at a time (the store would hand its writer to any of them, an
// event commit among them, at random), none while an event commit waits,
// and each in turn once it has gone.
func TestStoreGateOneBackgroundWriterAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newStoreGate()
		release := make(chan struct{})
		var running, finished atomic.Int32
		fn := func() error {
			if running.Add(1) > 1 {
				t.Error("two background writers past the gate at once")
			}
			<-release
			running.Add(-1)
			finished.Add(1)
			return nil
		}
		for range 3 {
			go func() {
				if err := g.background(t.Context(), fn); err != nil {
					t.Error(err)
				}
			}()
		}
		synctest.Wait()
		if running.Load() != 1 {
			t.Fatalf("%d background writers running; want 1", running.Load())
		}
		g.urgentStart() // an event commit starts waiting
		release <- struct{}{}
		synctest.Wait()
		if running.Load() != 0 {
			t.Fatal("a background writer started while an event commit waits")
		}
		g.urgentDone()
		for want := int32(2); want <= 3; want++ {
			synctest.Wait()
			if running.Load() != 1 {
				t.Fatalf("%d background writers running after the event; want 1", running.Load())
			}
			release <- struct{}{}
		}
		synctest.Wait()
		if finished.Load() != 3 {
			t.Errorf("%d background writers finished; want 3", finished.Load())
		}
		// A writer waiting for the gate gives up with its context.
		ctx, cancel := context.WithCancel(t.Context())
		g.urgentStart()
		errc := make(chan error, 1)
		go func() { errc <- g.background(ctx, fn) }()
		synctest.Wait()
		cancel()
		if err := <-errc; err == nil {
			t.Error("background returned nil with its context cancelled while an event waited")
		}
		g.urgentDone()
	})
}
