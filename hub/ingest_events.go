package hub

import (
	"context"
	"fmt"

	"github.com/shouwang-hub/shouwang/devices"
)

// The event and status commit path: the urgent one. Events and status
// changes are stored with the alerts they open or change in one
// transaction of the main store, ahead of telemetry's writes there
// (storeGate), before they are acknowledged.

// commitStore makes events and status changes durable in the main store,
// with the alerts they open or change, in one transaction.
func (in *Ingest) commitStore(ctx context.Context, batch []*devices.Message) error {
	var events, statuses []*devices.Message
	var updates []devices.HealthUpdate
	for _, m := range batch {
		switch m.Channel {
		case devices.ChannelEvent:
			events = append(events, m)
			// An event is rare and urgent: the console should show the
			// device as just heard from at once, not at the next flush.
			online := true
			updates = append(updates, devices.HealthUpdate{ID: m.DeviceID, LastSeen: m.Received, Online: &online})
		case devices.ChannelStatus:
			statuses = append(statuses, m)
			online := m.Status.Online
			updates = append(updates, devices.HealthUpdate{
				ID: m.DeviceID, LastSeen: m.Received, Online: &online,
				Battery: m.Status.Battery, Signal: m.Status.Signal,
			})
		}
	}
	var dups int
	in.gate.urgentStart()
	defer in.gate.urgentDone()
	err := in.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
		dups = 0
		inserted, err := tx.Store().RecordEvents(ctx, events)
		if err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		for i, m := range events {
			if inserted[i] {
				err = tx.HandleMessage(ctx, m)
			} else {
				// A redelivery: its acknowledgement is sent again.
				dups++
				err = tx.HandleDuplicate(ctx, m)
			}
			if err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			if err := tx.Store().UpdateHealth(ctx, updates); err != nil {
				return fmt.Errorf("update status: %w", err)
			}
		}
		for _, m := range statuses {
			if err := tx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	in.cfg.Metrics.countStored(devices.ChannelEvent, len(events)-dups)
	in.cfg.Metrics.countDuplicates(devices.ChannelEvent, dups)
	in.cfg.Metrics.countStored(devices.ChannelStatus, len(statuses))
	return nil
}
