package hub

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// readingsTxBudget bounds one transaction of telemetry readings applied to
// alerts. An alarm storm's batch may hold the first reading of hundreds of
// leaks, each opening an alert and joining its building's incident (about
// a millisecond of work each on a quiet machine, several on a busy one);
// in one transaction they held the store's one writer — and every SOS and
// smoke alarm waiting for it — for up to a second (issue 15: presses 0.1–
// 0.9 s late reaching the console in the storm's first two seconds, all
// released together when that transaction committed). Cut into
// transactions of about this long, each behind any event commit (the
// gate), an event waits for one of them at most — and since an event
// waiting cuts the one running short after its current building's
// devices, often for less.
var readingsTxBudget = 10 * time.Millisecond // a variable for tests

// ApplyReadings applies a telemetry batch's readings that may matter
// (classify) to alerts, each device's readings in order in one
// transaction (AlertTx.HandleReadings), the devices in as many
// transactions as readingsTxBudget makes them, each behind any event
// commit. It returns, as HandleReadings does, the readings that turned out
// only to add occurrences to an alert opened or changed by an earlier one,
// to be folded once the batch is in the spool. On an error the
// transactions already committed stay: each reading was recorded as a
// trigger, so the batch's retry does not apply it twice.
func (a *Alerting) ApplyReadings(ctx context.Context, relevant []*devices.Message) (folded []*devices.Message, readings []alerts.FoldedReading, err error) {
	groups := a.byBuilding(byDevice(relevant))
	for len(groups) > 0 {
		var (
			n  int
			ms []*devices.Message
			rs []alerts.FoldedReading
		)
		err := a.gate.background(ctx, func() error {
			return a.Update(ctx, func(tx *AlertTx) error {
				n, ms, rs = 0, nil, nil // a retried transaction starts again
				start := time.Now()
				for n < len(groups) {
					m, r, err := tx.HandleReadings(ctx, groups[n])
					if err != nil {
						return err
					}
					ms, rs = append(ms, m...), append(rs, r...)
					// An event waiting for the store goes next, once
					// this building's devices are in (its incident one
					// change).
					if n++; time.Since(start) >= readingsTxBudget ||
						n < len(groups) && a.gate.urgentWaiting() && a.building(groups[n]) != a.building(groups[n-1]) {
						break
					}
				}
				return nil
			})
		})
		if err != nil {
			return nil, nil, err
		}
		folded, readings = append(folded, ms...), append(readings, rs...)
		groups = groups[n:]
	}
	return folded, readings, nil
}

// byBuilding orders device groups by building (stable: in their order
// within one), so that one transaction holds a building's alarms together
// and its building_alarm incident is one change on the feed rather than
// one in every transaction (a change per incident per commit). An alarm
// storm's first second: 972–1,015 changes in one transaction (4 runs),
// 1,071–1,445 cut without this order (6 runs), 1,033–1,099 with it (3).
func (a *Alerting) byBuilding(groups [][]*devices.Message) [][]*devices.Message {
	keys := make(map[string]string, len(groups))
	for _, g := range groups {
		keys[g[0].DeviceID] = a.building(g)
	}
	slices.SortStableFunc(groups, func(x, y []*devices.Message) int {
		return strings.Compare(keys[x[0].DeviceID], keys[y[0].DeviceID])
	})
	return groups
}

// building is the building of a device group's device ("" if none).
func (a *Alerting) building(g []*devices.Message) string {
	if d, ok := a.cfg.Index.Get(g[0].DeviceID); ok && d.Location != nil {
		return alerts.BuildingScope(*d.Location)
	}
	return ""
}

// byDevice groups ms by device, each device's messages in their order,
// the devices in the order of their first message.
func byDevice(ms []*devices.Message) [][]*devices.Message {
	at := map[string]int{}
	var groups [][]*devices.Message
	for _, m := range ms {
		i, ok := at[m.DeviceID]
		if !ok {
			i = len(groups)
			at[m.DeviceID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], m)
	}
	return groups
}
