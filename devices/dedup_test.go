package devices

import "testing"

func TestSeqWindow(t *testing.T) {
	type step struct {
		seq  uint64
		ts   int64
		want Verdict
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, 10, SeqNew}, {2, 20, SeqNew}, {3, 30, SeqNew}}},
		{"redelivery of the latest", []step{{1, 10, SeqNew}, {2, 20, SeqNew}, {2, 20, SeqDuplicate}}},
		{"redelivery of an older one", []step{{1, 10, SeqNew}, {2, 20, SeqNew}, {3, 30, SeqNew}, {1, 10, SeqDuplicate}}},
		{"out of order, within the window", []step{{5, 50, SeqNew}, {3, 30, SeqNew}, {4, 40, SeqNew}, {3, 30, SeqDuplicate}, {4, 40, SeqDuplicate}}},
		{"gaps are fine", []step{{1, 10, SeqNew}, {100, 1000, SeqNew}, {50, 500, SeqNew}, {50, 500, SeqDuplicate}}},
		{"far behind the window and old: kept", []step{{1, 10, SeqNew}, {1000, 10000, SeqNew}, {1, 10, SeqLate}}},
		{"far behind the window, unseen: kept", []step{{1000, 10000, SeqNew}, {700, 7000, SeqLate}}},
		{"counter restart with newer ts", []step{{500, 5000, SeqNew}, {1, 6000, SeqRestart}, {2, 6001, SeqNew}, {1, 6000, SeqDuplicate}}},
		{"restart into the window", []step{{3, 30, SeqNew}, {1, 10, SeqNew}, {2, 20, SeqNew}, {1, 40, SeqRestart}, {2, 50, SeqNew}}},
		{"just inside and just outside", []step{{WindowSize, 1000, SeqNew}, {1, 1, SeqNew}, {WindowSize + 1, 1001, SeqNew}, {1, 1, SeqLate}, {2, 2, SeqNew}, {2, 2, SeqDuplicate}}},
		{"word boundaries", []step{{64, 64, SeqNew}, {65, 65, SeqNew}, {1, 1, SeqNew}, {128, 128, SeqNew}, {64, 64, SeqDuplicate}, {65, 65, SeqDuplicate}, {63, 63, SeqNew}, {1, 1, SeqDuplicate}, {300, 300, SeqNew}, {1, 1, SeqLate}}},
		{"big jump clears", []step{{1, 1, SeqNew}, {1 << 40, 2, SeqNew}, {1<<40 - 1, 2, SeqNew}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var w SeqWindow
			for i, s := range c.steps {
				if got := w.Accept(s.seq, s.ts); got != s.want {
					t.Fatalf("step %d: Accept(%d, %d) = %v, want %v (window max %d, maxTS %d)", i, s.seq, s.ts, got, s.want, w.Max, w.MaxTS)
				}
			}
		})
	}
}

// TestSeqWindowAgainstSet checks the window against an exact set of seen
// numbers over a long shuffled-but-bounded stream: every message once, then
// every message again, nothing else.
func TestSeqWindowAgainstSet(t *testing.T) {
	var w SeqWindow
	const n = 5000
	order := make([]uint64, 0, n)
	for base := uint64(1); base <= n; base += 100 {
		// deliver each block of 100 backwards: reordering well inside the window
		for s := base + 99; s >= base; s-- {
			order = append(order, s)
		}
	}
	for _, s := range order {
		if v := w.Accept(s, int64(s)); v != SeqNew {
			t.Fatalf("first delivery of %d: %v", s, v)
		}
	}
	for _, s := range order[len(order)-WindowSize/2:] {
		if v := w.Accept(s, int64(s)); v != SeqDuplicate {
			t.Fatalf("redelivery of %d: %v", s, v)
		}
	}
}
