package bench

import (
	"math"
	"runtime/metrics"
	"time"
)

// schedLatencies is the runtime's histogram of the time goroutines spent
// runnable before they ran (it samples about one scheduling in eight).
const schedLatencies = "/sched/latencies:seconds"

// SchedWait measures how long this process's goroutines waited to run —
// what a timestamp taken in this process (a press sent, a change read) can
// lag behind the moment it stands for when the process is busy.
type SchedWait struct {
	counts []uint64
}

// StartSchedWait begins a measurement.
func StartSchedWait() *SchedWait {
	h := readSched()
	return &SchedWait{counts: h.Counts}
}

// SchedSummary is the waits since the start: how many, and their
// percentiles (each the upper bound of the runtime's bucket it falls in).
type SchedSummary struct {
	N    uint64  `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

// Summary returns the waits since StartSchedWait.
func (s *SchedWait) Summary() SchedSummary {
	h := readSched()
	diff := make([]uint64, len(h.Counts))
	for i, c := range h.Counts {
		if i < len(s.counts) {
			c -= s.counts[i]
		}
		diff[i] = c
	}
	return summariseHistogram(diff, h.Buckets)
}

// summariseHistogram returns the nearest-rank percentiles of a histogram
// of counts in seconds' buckets (bucket i is [buckets[i], buckets[i+1])).
func summariseHistogram(counts []uint64, buckets []float64) SchedSummary {
	var n uint64
	for _, c := range counts {
		n += c
	}
	out := SchedSummary{N: n}
	if n == 0 {
		return out
	}
	at := func(p float64) float64 {
		rank := uint64(math.Ceil(p / 100 * float64(n)))
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= max(rank, 1) {
				return bucketMillis(buckets, i)
			}
		}
		return bucketMillis(buckets, len(counts)-1)
	}
	out.P50, out.P99, out.P999, out.Max = at(50), at(99), at(99.9), at(100)
	return out
}

// bucketMillis is bucket i's upper bound in ms (its lower one if the upper
// is unbounded).
func bucketMillis(b []float64, i int) float64 {
	v := b[i+1]
	if math.IsInf(v, 1) {
		v = b[i]
	}
	return ms(time.Duration(v * float64(time.Second)))
}

func readSched() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return &metrics.Float64Histogram{}
	}
	return s[0].Value.Float64Histogram()
}
