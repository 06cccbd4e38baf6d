package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// What alerting tells supervision about devices going and coming, besides
// their messages (alerting.go, supervision.go).

// loadOffline marks the devices the hub had found offline before it
// started — the unreturned members of open outages — so their return
// clears them.
func (a *Alerting) loadOffline(ctx context.Context) error {
	ms, err := a.cfg.Store.OpenMemberships(ctx)
	if err != nil {
		return fmt.Errorf("alerting: load open outages: %w", err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.DeviceID
	}
	a.super.offlineBefore(ids)
	return nil
}

// willAt tells supervision a device sent its last will (a status
// offline), with the message's arrival number and whether it is the
// broker's retained copy.
func (a *Alerting) willAt(slot int32, d IndexedDevice, at time.Time, arrival uint64, retained bool) {
	a.super.willAt(slot, d, at, arrival, retained)
}

// gatewayDown tells supervision a bridge went offline itself, with the
// devices behind it.
func (a *Alerting) gatewayDown(gateway string, ids []string, at time.Time, arrival uint64, retained bool) {
	a.super.gatewayDown(gateway, ids, at, arrival, retained)
}

// SetHearing says whether the hub hears devices: false while any of its
// MQTT sessions for device traffic is disconnected. Supervision judges no
// silence meanwhile, and gives every device a full reporting time when the
// hub hears again, so a broker restart raises nothing.
func (a *Alerting) SetHearing(ok bool) { a.super.hearing(ok) }

// setCheckins joins the check-in book to alerting: presses the alerts
// service records, and the no_activity alerts it opens and clears, are
// passed on to it after each commit.
func (a *Alerting) setCheckins(c *Checkins) { a.checkins.Store(c) }

// noteCheckins passes a commit's results on to the check-in book, if any.
func (a *Alerting) noteCheckins(results []alerts.Result) {
	if c := a.checkins.Load(); c != nil {
		c.committed(results)
	}
}

// readingsActivity passes the readings of door and motion sensors, once
// committed, on to the check-in book.
func (a *Alerting) readingsActivity(ms []*devices.Message) {
	c := a.checkins.Load()
	if c == nil {
		return
	}
	for _, m := range ms {
		c.reading(m.DeviceID, m.Kind, m.Telemetry.Fields, m.Time())
	}
}

// activity passes a vendor device's sign of life on to the check-in book.
func (a *Alerting) activity(d IndexedDevice, at time.Time, how string) {
	if c := a.checkins.Load(); c != nil {
		c.activity(d.ID, at, how)
	}
}

// openNoActivity returns the open no_activity alerts (the check-in book's
// start).
func (a *Alerting) openNoActivity(ctx context.Context) ([]*alerts.Alert, error) {
	var out []*alerts.Alert
	f := alerts.Filter{Kind: alerts.KindNoActivity, States: []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched},
		Test: new(false), Limit: 1000}
	for {
		page, total, err := a.cfg.Store.ListAlerts(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("open no_activity alerts: %w", err)
		}
		out = append(out, page...)
		f.Offset += len(page)
		if len(page) == 0 || f.Offset >= total {
			return out, nil
		}
	}
}
