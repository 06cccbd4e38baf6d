package hub

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// gatedSource is a memSource whose FindDevice waits until the test opens
// the gate, and tells when it was called.
type gatedSource struct {
	*memSource
	called chan struct{}
	gate   chan struct{}
}

func (s gatedSource) FindDevice(ctx context.Context, id string) (*devices.Device, error) {
	s.called <- struct{}{}
	<-s.gate
	return s.memSource.FindDevice(ctx, id)
}

// TestRecheckConcurrentMessagesOfANewDevice: a device registered through
// another instance, whose messages reach this one before the doorbell
// does, several at once: one reads its record from the store, the others
// wait for that read, and none is refused. A message of an ID the store
// does not know is refused, and the store is not read again for it
// within recheckEvery.
func TestRecheckConcurrentMessagesOfANewDevice(t *testing.T) {
	idx, err := LoadIndex(context.Background(), newMemSource())
	if err != nil {
		t.Fatal(err)
	}
	src := gatedSource{newMemSource(&devices.Device{ID: "gas-new", Kind: devices.KindGas,
		Location: devices.Location{Community: "阳光社区"}}), make(chan struct{}, 100), make(chan struct{})}
	r := newRecheck(src)
	now := time.Now()
	const n = 8
	found := make(chan bool, n)
	var wg sync.WaitGroup
	wg.Go(func() { _, _, ok := r.lookup(idx, "gas-new", now); found <- ok })
	<-src.called // the first is reading the store
	for range n - 1 {
		wg.Go(func() { _, _, ok := r.lookup(idx, "gas-new", now); found <- ok })
	}
	// The others wait for that read, or come after it and find the
	// device in the index: none reads the store again.
	close(src.gate)
	wg.Wait()
	close(found)
	for ok := range found {
		if !ok {
			t.Fatal("a message of the new device was refused while its record was being read")
		}
	}
	if extra := len(src.called); extra != 0 {
		t.Errorf("the store was read %d more times for one new device", extra)
	}

	// An ID the store does not know: refused, read once per recheckEvery.
	if _, _, ok := r.lookup(idx, "stranger", now); ok {
		t.Fatal("an unknown device was found")
	}
	<-src.called
	if _, _, ok := r.lookup(idx, "stranger", now.Add(time.Second)); ok || len(src.called) != 0 {
		t.Errorf("an unknown device a second later: found %v, store read %d times more", ok, len(src.called))
	}
}
