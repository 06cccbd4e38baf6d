package hub

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// Deliveries still arriving while Close runs are refused, never raced: a
// WaitGroup's Add may not run concurrently with its Wait from zero, which
// -race reports (it did, from Main.Close against an MQTT handler, in the
// suite).
func TestDeliverDuringClose(t *testing.T) {
	for range 20 {
		in, _ := newTestIngest(t, &fakeSpool{}, &fakeStore{})
		var stop atomic.Bool
		var wg sync.WaitGroup
		started := make(chan struct{})
		wg.Go(func() {
			close(started)
			for !stop.Load() {
				// Refused at once (not a device topic of the hub's): the
				// count of deliveries in flight keeps going back to zero.
				in.Deliver(Delivery{Topic: "shouwang/v1/nobody/telemetry", Payload: []byte(`{}`)}, func() {})
			}
		})
		<-started
		in.Close(context.Background())
		stop.Store(true)
		wg.Wait()
	}
}
