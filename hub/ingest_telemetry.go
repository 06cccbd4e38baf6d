package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// The telemetry commit path: de-duplication against the per-device
// windows, the few readings that may matter applied to alerts, and the
// batch appended to the spool in one transaction before it is
// acknowledged. Telemetry never waits on the main store otherwise.

// A telemetry commit that finds fewer than telemetryLingerBelow messages
// queued waits up to telemetryLinger for more (see committer.linger).
const (
	telemetryLinger      = 10 * time.Millisecond
	telemetryLingerBelow = 64
)

// commitTelemetry de-duplicates a batch against the windows, makes the new
// messages into the spool's records (Format) and appends them and the windows to the spool in
// one transaction. The windows change in memory only once that commit holds.
func (in *Ingest) commitTelemetry(ctx context.Context, batch []*devices.Message) error {
	if in.changed == nil {
		in.changed = make(map[string]devices.SeqWindow, len(batch))
	}
	changed := in.changed
	clear(changed)
	lines := make([][]byte, 0, len(batch))
	var relevant, activity []*devices.Message
	var dups, restarts, late int
	for _, m := range batch {
		w, ok := changed[m.DeviceID]
		if !ok {
			w = in.windows[m.DeviceID]
		}
		switch w.Accept(m.Seq, m.TS.UnixMilli()) {
		case devices.SeqDuplicate:
			dups++
			continue
		case devices.SeqRestart:
			restarts++
		case devices.SeqLate:
			late++
		}
		changed[m.DeviceID] = w
		d, ok := in.cfg.Index.Get(m.DeviceID)
		if !ok {
			continue // deleted since it was routed; nothing to file it under
		}
		lines = append(lines, in.cfg.Format.Reading(m, d.Location))
		in.health.seen(m)
		if in.cfg.Alerting.telemetryMatters(d, m) {
			relevant = append(relevant, m)
		}
		if devices.ActivityKind(d.Kind) { // a door or motion sensor: a sign of life, for check-ins
			activity = append(activity, m)
		}
	}
	if err := in.applyTelemetryAlerts(ctx, relevant); err != nil {
		return err
	}
	if len(changed) > 0 {
		if err := in.cfg.Spool.Append(ctx, lines, changed); err != nil {
			return fmt.Errorf("append to spool: %w", err)
		}
	}
	for id, w := range changed {
		in.windows[id] = w
	}
	in.cfg.Alerting.readingsActivity(activity)
	in.cfg.Metrics.countStored(devices.ChannelTelemetry, len(lines))
	in.cfg.Metrics.countDuplicates(devices.ChannelTelemetry, dups)
	in.cfg.Metrics.countSeqRestartsLate(restarts, late)
	return nil
}

// applyTelemetryAlerts applies the few readings that may matter to alerts
// in one store transaction, before the batch goes to the spool. Each is
// recorded as a trigger, so when the spool append fails and the batch is
// retried, a reading is not applied twice.
func (in *Ingest) applyTelemetryAlerts(ctx context.Context, relevant []*devices.Message) error {
	if len(relevant) == 0 {
		return nil
	}
	// Behind any event commit: SQLite has one writer (see storeGate).
	err := in.gate.background(ctx, func() error {
		return in.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
			for _, m := range relevant {
				if err := tx.HandleReading(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("apply telemetry to alerts: %w", err)
	}
	return nil
}
