package bench

import (
	"math"
	"runtime"
	"sync"
	"testing"
)

// The percentiles are the upper bounds of the buckets the ranks fall in;
// an unbounded last bucket gives its lower bound.
func TestSummariseHistogram(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.010, 0.100, math.Inf(1)}
	counts := []uint64{500, 480, 15, 4, 1} // 1,000 waits
	s := summariseHistogram(counts, buckets)
	if s.N != 1000 || s.P50 != 1 || s.P99 != 10 || s.P999 != 100 || s.Max != 100 {
		t.Errorf("summary %+v; want n 1000, p50 1 ms, p99 10 ms, p99.9 100 ms, max 100 ms", s)
	}
	if s := summariseHistogram([]uint64{0, 0, 0, 0, 0}, buckets); s != (SchedSummary{}) {
		t.Errorf("empty: %+v", s)
	}
}

// A measurement counts the waits of goroutines scheduled after its start
// (the runtime samples about one scheduling in eight).
func TestSchedWaitCountsThisProcess(t *testing.T) {
	w := StartSchedWait()
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(runtime.Gosched)
	}
	wg.Wait()
	if s := w.Summary(); s.N < 10 {
		t.Errorf("%d waits counted after 1,000 goroutines ran and yielded", s.N)
	}
}
