package influx

import (
	"context"
	"fmt"
	"github.com/shouwang-hub/shouwang/internal/testenv"
	"sync"
	"testing"
	"time"
)

// memSpool is an in-memory Spool for tests. It records every Remove so tests
// can check that the spool was drained in order and not while InfluxDB was
// down.
type memSpool struct {
	mu       sync.Mutex
	nextID   int64
	entries  []memEntry
	removed  []int64 // throughID of each Remove, in call order
	nRemoved int64   // lines removed
	peekErr  error
	appended chan struct{}
}

type memEntry struct {
	id   int64
	line []byte
}

func newMemSpool() *memSpool { return &memSpool{nextID: 1, appended: make(chan struct{}, 1)} }

func (s *memSpool) Append(lines ...[]byte) {
	s.mu.Lock()
	for _, l := range lines {
		s.entries = append(s.entries, memEntry{id: s.nextID, line: l})
		s.nextID++
	}
	s.mu.Unlock()
	select {
	case s.appended <- struct{}{}:
	default:
	}
}

func (s *memSpool) Peek(ctx context.Context, max int) (int64, [][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peekErr != nil {
		return 0, nil, s.peekErr
	}
	n := min(max, len(s.entries))
	if n == 0 {
		return 0, nil, nil
	}
	lines := make([][]byte, n)
	for i := range n {
		lines[i] = s.entries[i].line
	}
	return s.entries[n-1].id, lines, nil
}

func (s *memSpool) Remove(ctx context.Context, throughID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.entries) && s.entries[n].id <= throughID {
		n++
	}
	s.entries = s.entries[n:]
	s.removed = append(s.removed, throughID)
	s.nRemoved += int64(n)
	return nil
}

func (s *memSpool) Appended() <-chan struct{} { return s.appended }

func (s *memSpool) Depth() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.entries))
}

func (s *memSpool) setPeekErr(err error) {
	s.mu.Lock()
	s.peekErr = err
	s.mu.Unlock()
}

// removals returns the number of lines removed so far and the throughIDs of
// the Remove calls.
func (s *memSpool) removals() (int64, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nRemoved, append([]int64(nil), s.removed...)
}

// checkInOrder fails t unless the Remove calls went strictly forward.
func (s *memSpool) checkInOrder(t *testing.T) {
	t.Helper()
	_, ids := s.removals()
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("spool removed through %d after %d: not in order (all: %v)", ids[i], ids[i-1], ids)
		}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, within, what, cond)
}

// runWriter runs w.Run in the background until the test ends and returns a
// function that stops it and waits for Run to return.
func runWriter(t *testing.T, w *Writer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return within 30s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func numberedLines(from, n int) [][]byte {
	lines := make([][]byte, n)
	for i := range n {
		seq := from + i
		lines[i] = fmt.Appendf(nil, "m,device=d v=%d,seq=%di %d", seq, seq, int64(seq)*int64(time.Millisecond))
	}
	return lines
}
