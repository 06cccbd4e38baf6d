package hub

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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
	if in.cfg.Shared {
		// Another instance may have committed some of these, and handlers
		// race into the queue: apply each device's in its own order.
		slices.SortStableFunc(events, func(a, b *devices.Message) int {
			return cmp.Or(cmp.Compare(a.DeviceID, b.DeviceID), a.TS.Compare(b.TS), cmp.Compare(a.Seq, b.Seq))
		})
	}
	var dups int
	in.gate.urgentStart()
	defer in.gate.urgentDone()
	err := in.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
		dups = 0
		// Before this batch is stored: what was committed earlier, by
		// this instance or another, that is newer than each event.
		newer := make([]devices.EventType, len(events))
		if in.cfg.Shared {
			for i, m := range events {
				t, err := newerCondition(ctx, tx.Store(), m)
				if err != nil {
					return err
				}
				newer[i] = t
			}
		}
		inserted, err := tx.Store().RecordEvents(ctx, events)
		if err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		for i, m := range events {
			switch {
			case !inserted[i]:
				// A redelivery: its acknowledgement is sent again.
				dups++
				err = tx.HandleDuplicate(ctx, m)
			case newer[i] != "" && isClear(m.Event.Type) != isClear(newer[i]):
				err = applyLate(ctx, tx, m, newer[i])
			default:
				err = tx.HandleMessage(ctx, m)
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

// ConditionOrder is a transaction that knows a device's stored events (the
// SQL store's): see newerCondition.
type ConditionOrder interface {
	NewerCondition(ctx context.Context, deviceID string, types []string, ts int64, seq uint64) (string, error)
}

// conditionFamilies pairs each alarm event with its clear.
var conditionFamilies = map[devices.EventType][]string{}

func init() {
	for _, pair := range [][2]devices.EventType{
		{devices.EventSmoke, devices.EventSmokeClear}, {devices.EventGas, devices.EventGasClear},
		{devices.EventCO, devices.EventCOClear}, {devices.EventFault, devices.EventFaultClear},
	} {
		fam := []string{string(pair[0]), string(pair[1])}
		conditionFamilies[pair[0]], conditionFamilies[pair[1]] = fam, fam
	}
}

// clearOf is each alarm's clear.
var clearOf = map[devices.EventType]devices.EventType{
	devices.EventSmoke: devices.EventSmokeClear, devices.EventGas: devices.EventGasClear,
	devices.EventCO: devices.EventCOClear, devices.EventFault: devices.EventFaultClear,
}

func isClear(t devices.EventType) bool { _, alarm := clearOf[t]; return !alarm }

// newerCondition returns the type of the newest stored alarm or clear of
// m's kind that is newer than m (an alarm or its clear), "" if none is.
// With several instances a device's alarm and its clear may be committed
// by different instances in either order.
func newerCondition(ctx context.Context, tx IngestTx, m *devices.Message) (devices.EventType, error) {
	fam, ok := conditionFamilies[m.Event.Type]
	if !ok || m.Event.Test {
		return "", nil
	}
	co, ok := tx.(ConditionOrder)
	if !ok {
		return "", nil
	}
	t, err := co.NewerCondition(ctx, m.DeviceID, fam, m.TS.UnixMilli(), m.Seq)
	return devices.EventType(t), err
}

// applyLate applies an alarm or clear committed after a newer one of the
// other sort (newer): the older must not undo the newer. A late alarm is
// still an occurrence — it opens (or adds to) its alert, which the newer
// clear then clears at once; a late clear changes nothing. Either is
// acknowledged.
func applyLate(ctx context.Context, tx *AlertTx, m *devices.Message, newer devices.EventType) error {
	if isClear(m.Event.Type) {
		return tx.HandleDuplicate(ctx, m)
	}
	if err := tx.HandleMessage(ctx, m); err != nil {
		return err
	}
	clear := *m
	ev := *m.Event
	ev.Type, ev.LEL, ev.Severe = newer, nil, false
	clear.Event = &ev
	return tx.HandleMessage(ctx, &clear)
}
