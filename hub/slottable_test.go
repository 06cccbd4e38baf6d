package hub

import (
	"fmt"
	"testing"
)

// TestSlotTable: every ID inserted is found at its slot through several
// doublings, IDs never inserted are not, and the table stays at most three
// quarters full.
func TestSlotTable(t *testing.T) {
	for _, hint := range []int{0, 1, 1000, 5000} {
		tab := newSlotTable(hint)
		var recs []indexRec
		for i := range 5000 {
			recs = append(recs, indexRec{id: fmt.Sprintf("dev-%d", i)})
			tab.insert(int32(i), recs)
			if tab.n*4 > len(tab.buckets)*3 {
				t.Fatalf("hint %d: %d keys in %d buckets", hint, tab.n, len(tab.buckets))
			}
		}
		for i := range recs {
			if slot, ok := tab.find(recs[i].id, recs); !ok || slot != int32(i) {
				t.Fatalf("hint %d: find(%s) = %d, %v; want %d", hint, recs[i].id, slot, ok, i)
			}
		}
		for _, id := range []string{"", "dev-5000", "dev-01", "DEV-1"} {
			if slot, ok := tab.find(id, recs); ok {
				t.Errorf("hint %d: find(%q) = %d; never inserted", hint, id, slot)
			}
		}
	}
	if n := len(newSlotTable(1_000_000).buckets); n != 1<<21 {
		t.Errorf("a table for a million IDs has %d buckets, want 2^21", n)
	}
}
