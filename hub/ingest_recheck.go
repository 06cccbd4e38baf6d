package hub

import (
	"context"
	"sync"
	"time"
)

// recheck looks a device that the index does not know up in the store
// before its message is refused, with several instances: a device
// registered through another instance reaches this one's index only when
// that instance's doorbell (NOTIFY) has been heard, and its first messages
// may come sooner. What the store does not know either is remembered for
// recheckEvery, so unknown devices cost one store read per interval, not
// one per message.
type recheck struct {
	src IndexSource

	mu      sync.Mutex
	checked map[string]time.Time
}

const (
	recheckEvery = 5 * time.Second
	recheckKeep  = 4096 // unknown IDs remembered at most
)

func newRecheck(src IndexSource) *recheck {
	return &recheck{src: src, checked: map[string]time.Time{}}
}

// lookup returns the index's entry of id after reading it from the store,
// if the store has it.
func (r *recheck) lookup(idx *DeviceIndex, id string, now time.Time) (int32, IndexedDevice, bool) {
	r.mu.Lock()
	at, seen := r.checked[id]
	if seen && now.Sub(at) < recheckEvery {
		r.mu.Unlock()
		return -1, IndexedDevice{}, false
	}
	if len(r.checked) >= recheckKeep {
		clear(r.checked)
	}
	r.checked[id] = now
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := idx.Refresh(ctx, r.src, id); err != nil {
		return -1, IndexedDevice{}, false
	}
	return idx.lookup(id)
}
