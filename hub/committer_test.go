package hub

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
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
