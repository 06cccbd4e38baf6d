package hub

import (
	"hash/maphash"
	"math/bits"
)

// slotTable finds a device's slot in the index by its ID. It is a hash
// table with open addressing and linear probing over a power-of-two array
// of int32, at most three quarters full: 5 to 11 bytes a device. A Go
// map[string]int32 takes 24 bytes a bucket and, at a million keys, has
// just split into two buckets a key — about 50 bytes a device, the largest
// part of the index. The keys are the IDs the index already holds
// (indexRec.id), so the table stores only slots. Nothing is ever deleted:
// a removed device keeps its slot, which keeps probing simple.
type slotTable struct {
	seed    maphash.Seed
	buckets []int32 // slot+1; 0 is an empty bucket
	n       int
}

func newSlotTable(hint int) slotTable {
	return slotTable{seed: maphash.MakeSeed(), buckets: make([]int32, tableSize(hint))}
}

// tableSize is the smallest power of two that holds n keys at most three
// quarters full.
func tableSize(n int) int {
	want := max(n+n/3+1, 8)
	return 1 << bits.Len(uint(want-1))
}

// find returns the slot of id; recs are the index's records by slot.
func (t *slotTable) find(id string, recs []indexRec) (int32, bool) {
	mask := uint64(len(t.buckets) - 1)
	for i := maphash.String(t.seed, id) & mask; ; i = (i + 1) & mask {
		b := t.buckets[i]
		if b == 0 {
			return 0, false
		}
		if recs[b-1].id == id {
			return b - 1, true
		}
	}
}

// insert adds slot, whose ID (recs[slot].id) the table does not hold yet.
func (t *slotTable) insert(slot int32, recs []indexRec) {
	if (t.n+1)*4 > len(t.buckets)*3 {
		t.grow(recs)
	}
	t.place(slot, recs[slot].id)
	t.n++
}

func (t *slotTable) place(slot int32, id string) {
	mask := uint64(len(t.buckets) - 1)
	i := maphash.String(t.seed, id) & mask
	for t.buckets[i] != 0 {
		i = (i + 1) & mask
	}
	t.buckets[i] = slot + 1
}

// grow doubles the table.
func (t *slotTable) grow(recs []indexRec) {
	old := t.buckets
	t.buckets = make([]int32, 2*len(old))
	for _, b := range old {
		if b != 0 {
			t.place(b-1, recs[b-1].id)
		}
	}
}
