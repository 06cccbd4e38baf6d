package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// mainStore adapts the SQL store to the hub's view of a transaction: the
// hub sees its IngestTx interface, the store hands out its concrete *Tx.
type mainStore struct{ *sqlstore.Store }

// Tx runs fn in one store transaction.
func (s mainStore) Tx(ctx context.Context, fn func(hub.IngestTx) error) error {
	return s.Store.Tx(ctx, func(tx *sqlstore.Tx) error { return fn(tx) })
}

// ClaimNotifications claims due notifications for c (hub.NotificationClaimer).
func (s mainStore) ClaimNotifications(ctx context.Context, now time.Time, hold time.Duration, limit int, c hub.NotificationClaim) ([]*alerts.Notification, error) {
	return s.Store.ClaimNotifications(ctx, now, hold, limit, sqlstore.NotificationClaim(c))
}

// liveSource feeds the console's live feed from the hub's alert change
// feed and the store.
type liveSource struct {
	feed  *hub.Feed
	store alerts.Store
}

func (l liveSource) Subscribe(n int) (console.LiveSubscription, int64) { return l.feed.Subscribe(n) }

// Snapshot returns the open alerts; the console adds its own devices
// summary.
func (l liveSource) Snapshot(ctx context.Context) ([]*alerts.Alert, any, error) {
	open, err := l.store.OpenAlertsAll(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("open alerts: %w", err)
	}
	return open, nil, nil
}

func (l liveSource) ChangesSince(ctx context.Context, seq int64, limit int) ([]alerts.Change, int64, error) {
	return l.store.ChangesSince(ctx, seq, limit)
}

// silentDevices lists the devices with an open, uncleared offline alert,
// longest silent first, for the console's overview. When each was last
// heard from comes from the registry: the alert's snapshot of the device
// carries no health.
func silentDevices(store alerts.Store, reg devices.Registry) func(ctx context.Context) ([]console.SilentDevice, error) {
	return func(ctx context.Context) ([]console.SilentDevice, error) {
		open, _, err := store.ListAlerts(ctx, alerts.Filter{
			States: []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched},
			Kind:   alerts.KindOffline, Limit: 200,
		})
		if err != nil {
			return nil, err
		}
		out := make([]console.SilentDevice, 0, len(open))
		for _, a := range open {
			if a.Cleared {
				continue
			}
			sd := console.SilentDevice{ID: a.DeviceID, Kind: a.Device.Kind, Location: a.Device.Location, AlertID: a.ID}
			d, err := reg.FindDevice(ctx, a.DeviceID)
			switch {
			case err == nil:
				sd.LastSeen = d.Health.LastSeen
			case shouwang.ErrorCode(err) != shouwang.ENOTFOUND: // a device deleted since stays listed, as never seen
				return nil, fmt.Errorf("silent device %s: %w", a.DeviceID, err)
			}
			out = append(out, sd)
		}
		return out, nil
	}
}
