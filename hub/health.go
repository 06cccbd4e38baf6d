package hub

import (
	"context"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// healthTracker gathers what messages say about their devices (last seen,
// battery, signal) so the registry is written once per device per flush,
// not once per message.
type healthTracker struct {
	mu      sync.Mutex
	pending map[string]healthNote
}

// healthNote is a pending update held by value: seen runs for every
// telemetry message, so it allocates nothing once a device has a note.
type healthNote struct {
	lastSeen              time.Time
	battery, signal       float64
	hasBattery, hasSignal bool
}

func newHealthTracker() *healthTracker {
	return &healthTracker{pending: make(map[string]healthNote)}
}

// seen notes a stored message. A message from a device means it is online.
func (h *healthTracker) seen(m *devices.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.pending[m.DeviceID]
	if m.Received.After(n.lastSeen) {
		n.lastSeen = m.Received
	}
	if m.Telemetry != nil {
		if v, ok := m.Telemetry.Fields["battery"]; ok {
			n.battery, n.hasBattery = v, true
		}
		if v, ok := m.Telemetry.Fields["signal"]; ok {
			n.signal, n.hasSignal = v, true
		}
	}
	h.pending[m.DeviceID] = n
}

// take returns and forgets the pending updates.
func (h *healthTracker) take() []devices.HealthUpdate {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]devices.HealthUpdate, 0, len(h.pending))
	for id, n := range h.pending {
		online := true
		u := devices.HealthUpdate{ID: id, LastSeen: n.lastSeen, Online: &online}
		if n.hasBattery {
			u.Battery = &n.battery
		}
		if n.hasSignal {
			u.Signal = &n.signal
		}
		out = append(out, u)
	}
	clear(h.pending)
	return out
}

// restore puts back updates whose flush failed, unless newer ones came.
func (h *healthTracker) restore(us []devices.HealthUpdate) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range us {
		if _, ok := h.pending[u.ID]; ok {
			continue
		}
		n := healthNote{lastSeen: u.LastSeen}
		if u.Battery != nil {
			n.battery, n.hasBattery = *u.Battery, true
		}
		if u.Signal != nil {
			n.signal, n.hasSignal = *u.Signal, true
		}
		h.pending[u.ID] = n
	}
}

// Device health is written healthFlushChunk devices to a transaction, so an
// event commit waits for at most one such chunk; a failing flush is retried
// at growing intervals up to healthFlushMaxWait.
const (
	healthFlushChunk   = 128
	healthFlushMaxWait = time.Minute
)

// flushHealthEvery writes device health every HealthFlushEvery; after a
// failure it waits twice as long each time, up to healthFlushMaxWait.
func (in *Ingest) flushHealthEvery(ctx context.Context) {
	wait := in.cfg.HealthFlushEvery
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if in.flushHealth(ctx) {
			wait = in.cfg.HealthFlushEvery
		} else {
			wait = min(2*wait, max(healthFlushMaxWait, in.cfg.HealthFlushEvery))
		}
		t.Reset(wait)
	}
}

// flushHealth writes the pending health updates, healthFlushChunk devices
// to a transaction, each behind any event commit (storeGate). What fails
// is kept for the next flush. It reports whether everything was written.
func (in *Ingest) flushHealth(ctx context.Context) bool {
	updates := in.health.take()
	for i := 0; i < len(updates); i += healthFlushChunk {
		chunk := updates[i:min(i+healthFlushChunk, len(updates))]
		err := in.gate.background(ctx, func() error { return in.cfg.Store.UpdateHealth(ctx, chunk) })
		if err != nil {
			in.health.restore(updates[i:])
			if ctx.Err() == nil {
				in.limited.Warn("health-flush", "flush device health; keeping it for the next flush", "devices", len(updates)-i, "err", err)
			}
			return false
		}
	}
	return true
}
