package hub

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The door's handlers for incidents and check-ins (see door.go).

// Offline applies supervision's verdict on a group of devices of one scope
// (an outage, or an offline alert each) and returns the devices an outage
// took.
func (t *AlertTx) Offline(ctx context.Context, g alerts.OfflineGroup, now time.Time) ([]string, error) {
	r, err := t.svc.Offline(ctx, t.tx, g, now)
	if err != nil {
		return nil, err
	}
	t.results = append(t.results, alerts.Result{Changed: r.Changed})
	return r.Taken, nil
}

// NoActivity applies the check-in verdict that a household showed no sign
// of life in its window, on d, the household's device named for it.
func (t *AlertTx) NoActivity(ctx context.Context, d *devices.Device, od alerts.Overdue, now time.Time) (*alerts.Alert, error) {
	al, err := t.svc.NoActivity(ctx, t.tx, d, od, now)
	t.changed(al)
	return al, err
}

// Activity applies a sign of life the hub noticed in a reading (a door, a
// motion sensor) of d.
func (t *AlertTx) Activity(ctx context.Context, d *devices.Device, at time.Time, how string) error {
	res, err := t.svc.Activity(ctx, t.tx, d, at, how)
	if err != nil {
		return err
	}
	t.results = append(t.results, res)
	return nil
}
