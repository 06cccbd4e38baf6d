package hub

import (
	"sync"

	"github.com/shouwang-hub/shouwang/devices"
)

// healthTracker gathers what messages say about their devices (last seen,
// battery, signal) so the registry is written once per device per flush,
// not once per message.
type healthTracker struct {
	mu      sync.Mutex
	pending map[string]devices.HealthUpdate
}

func newHealthTracker() *healthTracker {
	return &healthTracker{pending: make(map[string]devices.HealthUpdate)}
}

// seen notes a stored message. A message from a device means it is online.
func (h *healthTracker) seen(m *devices.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.pending[m.DeviceID]
	u.ID = m.DeviceID
	if m.Received.After(u.LastSeen) {
		u.LastSeen = m.Received
	}
	online := true
	u.Online = &online
	if m.Telemetry != nil {
		if v, ok := m.Telemetry.Fields["battery"]; ok {
			u.Battery = &v
		}
		if v, ok := m.Telemetry.Fields["signal"]; ok {
			u.Signal = &v
		}
	}
	h.pending[m.DeviceID] = u
}

// take returns and forgets the pending updates.
func (h *healthTracker) take() []devices.HealthUpdate {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]devices.HealthUpdate, 0, len(h.pending))
	for _, u := range h.pending {
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
		if _, ok := h.pending[u.ID]; !ok {
			h.pending[u.ID] = u
		}
	}
}
