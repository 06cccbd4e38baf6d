package hub

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
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

// telemetryItem is a telemetry message on its way to the commit, with its
// device's slot in the index, so the commit finds the device without
// looking its ID up again.
type telemetryItem struct {
	m    *devices.Message
	slot int32
}

// commitTelemetry de-duplicates a batch against the windows, makes the new
// messages into the spool's records (Format) and appends them and the windows to the spool in
// one transaction. The windows change in memory only once that commit holds.
func (in *Ingest) commitTelemetry(ctx context.Context, batch []telemetryItem) error {
	if in.changed == nil {
		in.changed = make(map[string]devices.SeqWindow, len(batch))
	}
	changed := in.changed
	clear(changed)
	lines := make([][]byte, 0, len(batch))
	var relevant, foldable, activity []*devices.Message
	var folded []alerts.FoldedReading // foldable's, in step
	var dups, restarts, late int
	for _, it := range batch {
		m := it.m
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
		d, ok := in.cfg.Index.at(it.slot)
		if !ok || d.ID != m.DeviceID { // a slot from a recheck, or a device removed since
			d, ok = in.cfg.Index.Get(m.DeviceID)
		}
		if !ok {
			continue // deleted since it was routed; nothing to file it under
		}
		lines = append(lines, in.cfg.Format.Reading(m, d.Location))
		in.health.seen(m)
		switch fr, folds, matters := in.cfg.Alerting.classify(d, m); {
		case folds:
			foldable, folded = append(foldable, m), append(folded, fr)
		case matters:
			relevant = append(relevant, m)
		}
		if devices.ActivityKind(d.Kind) { // a door or motion sensor: a sign of life, for check-ins
			activity = append(activity, m)
		}
	}
	relevant, foldable, folded = keepOrder(relevant, foldable, folded)
	moreM, moreF, err := in.applyTelemetryAlerts(ctx, relevant)
	if err != nil {
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
	// In the spool now: the folded readings count.
	in.cfg.Alerting.foldReadings(foldable, folded)
	in.cfg.Alerting.foldReadings(moreM, moreF)
	in.cfg.Metrics.countStored(devices.ChannelTelemetry, len(lines))
	in.cfg.Metrics.countDuplicates(devices.ChannelTelemetry, dups)
	in.cfg.Metrics.countSeqRestartsLate(restarts, late)
	return nil
}

// keepOrder keeps each device's readings in the order they came: a device
// with a reading that changes its alerts in this batch has every reading
// applied one by one (folding one that came before such a change would
// write it after), so its foldable readings join relevant. The others are
// returned grouped by device, each device's in order.
func keepOrder(relevant, foldable []*devices.Message, folded []alerts.FoldedReading) ([]*devices.Message, []*devices.Message, []alerts.FoldedReading) {
	if len(foldable) == 0 {
		return relevant, foldable, folded
	}
	if len(relevant) > 0 {
		changing := make(map[string]bool, len(relevant))
		for _, m := range relevant {
			changing[m.DeviceID] = true
		}
		var moved bool
		keepM, keepF := foldable[:0:0], folded[:0:0]
		for i, m := range foldable {
			if changing[m.DeviceID] {
				relevant, moved = append(relevant, m), true
			} else {
				keepM, keepF = append(keepM, m), append(keepF, folded[i])
			}
		}
		if moved {
			// Back in arrival order: Received, then seq, per device.
			slices.SortStableFunc(relevant, func(a, b *devices.Message) int {
				return cmp.Or(strings.Compare(a.DeviceID, b.DeviceID), a.Received.Compare(b.Received), cmp.Compare(a.Seq, b.Seq))
			})
		}
		foldable, folded = keepM, keepF
	}
	idx := make([]int, len(foldable))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(foldable[a].DeviceID, foldable[b].DeviceID) })
	ms, fs := make([]*devices.Message, len(idx)), make([]alerts.FoldedReading, len(idx))
	for i, k := range idx {
		ms[i], fs[i] = foldable[k], folded[k]
	}
	return relevant, ms, fs
}

// applyTelemetryAlerts applies the few readings that may matter to alerts
// before the batch goes to the spool, in short transactions each behind any
// event commit (Alerting.ApplyReadings). Each is recorded as a trigger, so
// when the spool append fails and the batch is retried, a reading is not
// applied twice. It returns the readings that turned out only to add
// occurrences to an alert opened or changed by an earlier one, to be folded
// once the batch is in the spool.
func (in *Ingest) applyTelemetryAlerts(ctx context.Context, relevant []*devices.Message) ([]*devices.Message, []alerts.FoldedReading, error) {
	if len(relevant) == 0 {
		return nil, nil, nil
	}
	ms, rs, err := in.cfg.Alerting.ApplyReadings(ctx, relevant)
	if err != nil {
		return nil, nil, fmt.Errorf("apply telemetry to alerts: %w", err)
	}
	return ms, rs, nil
}
