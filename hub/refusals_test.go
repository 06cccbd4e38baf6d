package hub

import (
	"fmt"
	"testing"
	"time"
)

// TestRefusalBudget: each device keeps a burst of refusals, then one per
// refusalEvery, whatever other devices do; the buckets stay bounded.
func TestRefusalBudget(t *testing.T) {
	var b refusalBudget
	t0 := time.Unix(1_700_000_000, 0)
	for i := range refusalBurst {
		if !b.allow("d1", t0) {
			t.Fatalf("refusal %d of the burst was not kept", i+1)
		}
	}
	if b.allow("d1", t0) {
		t.Fatal("a refusal past the burst was kept")
	}
	if !b.allow("d2", t0) {
		t.Fatal("another device's refusal was held back by d1's burst")
	}
	if b.allow("d1", t0.Add(refusalEvery-time.Millisecond)) {
		t.Fatal("a refusal kept before refusalEvery passed")
	}
	if !b.allow("d1", t0.Add(2*refusalEvery)) {
		t.Fatal("no refusal kept after refusalEvery")
	}
	for i := range 20_000 {
		b.allow(fmt.Sprintf("x%d", i), t0)
	}
	if n := len(b.buckets); n > 10_000 {
		t.Errorf("%d buckets: not bounded", n)
	}
}
