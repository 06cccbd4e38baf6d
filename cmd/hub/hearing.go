package main

import (
	"sync"

	"github.com/shouwang-hub/shouwang/devices"
)

// laneHearing tells alerting whether the hub hears devices: only while
// every lane is connected. A device's heartbeat on the telemetry lane and
// its status on the alarm lane both count, so supervision judges no
// silence while either is away (hub.Alerting.SetHearing).
type laneHearing struct {
	mu    sync.Mutex
	lanes int
	up    map[devices.Lane]bool
	set   func(bool)
	last  bool
}

func newLaneHearing(lanes int, set func(bool)) *laneHearing {
	return &laneHearing{lanes: lanes, up: map[devices.Lane]bool{}, set: set, last: true}
}

// changed records a lane's connection coming or going.
func (h *laneHearing) changed(l devices.Lane, up bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.up[l] = up
	all := 0
	for _, u := range h.up {
		if u {
			all++
		}
	}
	if hear := all == h.lanes; hear != h.last {
		h.last = hear
		h.set(hear)
	}
}
