package hub

import (
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// vendorHeard is what a committed vendor message tells supervision and the
// check-in book: the device was heard from, or it (or its bridge) went
// offline, and whether it showed a sign of life.
type vendorHeard struct {
	id       string
	online   *bool  // its availability, when the message stated it
	activity string // devices.Outcome.Activity
	at       time.Time
	arrival  uint64
	retained bool
}

// vendorHeard passes on, after their commit, what vendor messages said of
// their devices' presence: a status offline is a last will (a bridge's
// takes every device behind it), anything else is the device heard from.
func (in *Ingest) vendorHeard(hs []vendorHeard) {
	a := in.cfg.Alerting
	for _, h := range hs {
		slot, d, ok := in.cfg.Index.lookup(h.id)
		if !ok {
			continue
		}
		switch {
		case h.online != nil && !*h.online && d.Kind == devices.KindGateway:
			var behind []string
			if in.cfg.Routes != nil {
				behind = in.cfg.Routes.devicesBehind(d.ID)
			}
			a.gatewayDown(d.ID, behind, h.at, h.arrival, h.retained)
		case h.online != nil && !*h.online:
			a.willAt(slot, d, h.at, h.arrival, h.retained)
		default:
			a.seenAt(slot, d, h.at, h.arrival)
		}
		if h.activity != "" {
			a.activity(d, h.at, h.activity)
		}
	}
}
