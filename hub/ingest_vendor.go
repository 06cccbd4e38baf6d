package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// The vendor commit path (see vendor.go for how vendor messages are routed
// and decoded).

// commitVendor commits a batch of vendor messages in one transaction (see
// the top of vendor.go), then appends their readings to the spool. The
// readings of a message are written at the time it was first committed, so
// writing them again after a redelivery or a retried batch overwrites the
// same InfluxDB points instead of adding new ones.
func (in *Ingest) commitVendor(ctx context.Context, batch []*vendorMsg) error {
	var (
		lines   [][]byte
		work    map[string]devices.VendorState
		arrived map[string]uint64
		heard   []vendorHeard
		events  int
		late    []string // devices whose stated conditions came after a newer state
	)
	// Handlers run concurrently, so messages of one device may reach the
	// queue out of order: apply them in the order they arrived.
	slices.SortStableFunc(batch, func(a, b *vendorMsg) int { return cmp.Compare(a.arrival, b.arrival) })
	err := in.cfg.Alerting.Update(ctx, func(atx *AlertTx) error {
		tx := atx.Store()
		vtx, ok := tx.(VendorTx)
		if !ok {
			return errors.New("vendor messages: the store has no vendor state")
		}
		lines, events, heard, late = lines[:0], 0, heard[:0], late[:0]
		work = make(map[string]devices.VendorState, len(batch))
		arrived = make(map[string]uint64, len(batch))
		var missing []string
		for _, m := range batch {
			if st, ok := in.vstates[m.id]; ok && !in.cfg.Shared {
				work[m.id] = st
			} else if !slices.Contains(missing, m.id) {
				missing = append(missing, m.id)
			}
		}
		loaded, err := vtx.VendorStates(ctx, missing)
		if err != nil {
			return err
		}
		for id, st := range loaded {
			work[id] = st
		}
		var evs, statuses, readings []*devices.Message
		var updates []devices.HealthUpdate
		for _, m := range batch {
			d, ok := in.cfg.Index.Get(m.id)
			if !ok {
				continue // deleted since it was routed
			}
			st := work[m.id]
			var out devices.Outcome
			at := m.recv
			// older: the message's state is older than one applied, so
			// its readings are not the device's latest either.
			older := false
			if first, ok := st.Committed(m.digest); ok && m.dup && m.recv.Sub(time.UnixMilli(first)) < redeliveryWindow {
				// The broker delivers a committed message again (the
				// hub stopped before acknowledging it): its events are
				// stored; its readings are written again at the same
				// time, which overwrites the same points.
				at = time.UnixMilli(first)
				out.Readings = m.obs.Readings
				older = true
			} else if first, ok := st.Committed(m.digest); ok && in.cfg.Shared && m.recv.Sub(time.UnixMilli(first)).Abs() < vendorCopyWindow {
				// Another instance's copy of the same publish, which it
				// committed: its events and readings are in already.
				continue
			} else {
				obs := &m.obs
				if m.arrival != 0 && m.arrival < in.varrival[m.id] {
					// Older than a state already applied (it lost a race
					// between handlers into an earlier batch): its
					// readings and presses count, its conditions do not.
					obs = m.obs.Occurrences()
					older = true
					if m.obs.States() {
						late = append(late, m.id)
					}
				}
				out = st.Apply(obs, m.recv, m.retained)
				st.Remember(m.digest, m.recv.UnixMilli())
				if m.obs.States() {
					// Only a state makes an earlier one older: a
					// message of readings may come on another lane
					// (Shelly Gas's concentration) before an alarm
					// numbered ahead of it.
					arrived[m.id] = max(arrived[m.id], m.arrival)
				}
			}
			for i := range out.Events {
				st.Seq++
				evs = append(evs, &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelEvent,
					Seq: st.Seq, TS: at, Received: at, Event: &out.Events[i]})
			}
			h := devices.HealthUpdate{ID: m.id, LastSeen: m.recv}
			if out.Online != nil {
				online := *out.Online
				h.Online = &online
				statuses = append(statuses, &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelStatus,
					TS: at, Received: at, Status: &devices.Status{Online: online}})
			} else if d.Kind != devices.KindGateway {
				online := true // it is heard from
				h.Online = &online
			}
			if len(out.Readings) > 0 {
				// Readings carry no number of their own: their seq is
				// the time of the message's first commit (Unix ms).
				tm := &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelTelemetry,
					Seq: uint64(at.UnixMilli()), TS: at, Received: at, Telemetry: &devices.Telemetry{Fields: out.Readings}}
				lines = append(lines, in.cfg.Format.Reading(tm, d.Location))
				readings = append(readings, tm)
				if v, ok := out.Readings["battery"]; ok && !older {
					h.Battery = &v // the device's page shows the latest
				}
			}
			work[m.id] = st
			updates = append(updates, h)
			heard = append(heard, vendorHeard{id: m.id, online: out.Online, activity: out.Activity, at: m.recv, arrival: m.arrival, retained: m.retained})
		}
		inserted, err := tx.RecordEvents(ctx, evs)
		if err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		for i, m := range evs {
			if !inserted[i] {
				continue
			}
			events++
			if err := atx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.UpdateHealth(ctx, updates); err != nil {
			return fmt.Errorf("update health: %w", err)
		}
		for _, m := range append(statuses, readings...) {
			if err := atx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		return vtx.SaveVendorStates(ctx, work, in.cfg.Now())
	})
	if err != nil {
		return err
	}
	for id, st := range work {
		in.vstates[id] = st
	}
	for id, a := range arrived {
		in.varrival[id] = max(in.varrival[id], a)
	}
	in.vendorHeard(heard)
	if len(late) > 0 {
		in.cfg.Metrics.countVendorLate(len(late))
		in.limited.Warn("vendor-late", "vendor state arrived after a newer one of the device and was taken as older: its readings and presses count, its conditions not",
			"devices", late)
	}
	if len(lines) > 0 {
		if err := in.cfg.Spool.Append(ctx, lines, nil); err != nil {
			return fmt.Errorf("append vendor readings to spool: %w", err)
		}
	}
	in.cfg.Metrics.countStored(devices.ChannelEvent, events)
	in.cfg.Metrics.countStored(devices.ChannelTelemetry, len(lines))
	return nil
}
