package alerts

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Folding repeated readings. A gas leak or a smoky room makes its detector
// report above the alarm level again and again; each such reading only adds
// an occurrence to the open alert. Applied one by one, every reading costs
// a store transaction, a timeline entry and a change to every console —
// and a building of detectors in alarm makes the hub slowest exactly when
// it is needed most. So the hub folds them: FoldReading says whether a
// reading would only add an occurrence, the hub keeps the count, the
// latest and the worst value in memory, and ApplyFold writes them at a
// bounded rate as one occurrence entry with a count. A reading that does
// anything else (opens, raises, clears, recurs after a clear, latches or
// clears a low battery, marks an offline device back) is never folded.

// TimelineOccurred's parameters for a folded entry: count (how many
// readings it stands for) and max (the highest of them); field, value and
// seq are the latest's.
const (
	FoldCount = "count"
	FoldMax   = "max"
)

// FoldedReading is one reading that would only add an occurrence to an
// open alert: what a Fold keeps of it.
type FoldedReading struct {
	AlertID int64
	Family  string
	Field   string  // the reading that is over its level ("lel", or an air field)
	Value   float64 // its value
	Seq     uint64
	At      time.Time
}

// Fold is the readings folded into one alert since it was last written.
type Fold struct {
	AlertID     int64
	DeviceID    string
	Family      string
	Field       string
	Count       int
	First, Last time.Time
	Value       float64 // the latest reading's value
	Max         float64 // the highest value folded
	Seq         uint64  // the latest reading's seq
}

// Add folds one more reading in.
func (f *Fold) Add(deviceID string, r FoldedReading) {
	if f.Count == 0 {
		*f = Fold{AlertID: r.AlertID, DeviceID: deviceID, Family: r.Family, First: r.At, Max: r.Value}
	}
	f.Count++
	f.Field, f.Value, f.Seq = r.Field, r.Value, r.Seq
	f.Max = max(f.Max, r.Value)
	if r.At.After(f.Last) {
		f.Last = r.At
	}
}

// Merge adds g's readings, which came after f's (or before, when f is the
// fold that a failed write gives back).
func (f *Fold) Merge(g Fold) {
	if g.Count == 0 {
		return
	}
	if f.Count == 0 {
		*f = g
		return
	}
	f.Count += g.Count
	f.Max = max(f.Max, g.Max)
	if g.First.Before(f.First) {
		f.First = g.First
	}
	if !g.Last.Before(f.Last) {
		f.Last, f.Field, f.Value, f.Seq = g.Last, g.Field, g.Value, g.Seq
	}
}

// FoldReading reports whether telemetry m from device d, whose alerts open
// describes, would do nothing but add an occurrence to one open, uncleared
// alert, and if so what to fold. It answers false for anything else
// (TelemetryMatters decides whether that needs the store).
func (s *Service) FoldReading(d *devices.Device, m *devices.Message, open OpenSet) (FoldedReading, bool) {
	if d == nil || m == nil || m.Telemetry == nil || m.Event != nil || m.Status != nil || len(open.Alerts) == 0 {
		return FoldedReading{}, false
	}
	if off, ok := open.Family(string(KindOffline)); ok && !off.Cleared {
		return FoldedReading{}, false // the reading marks the device back
	}
	dr := s.rules.For(d)
	f := m.Telemetry.Fields
	if v, ok := f["battery"]; ok && (v <= dr.Battery.Low && open.LowBattery == 0 || v >= dr.Battery.Replaced && open.LowBattery != 0) {
		return FoldedReading{}, false
	}
	r := FoldedReading{Seq: m.Seq, At: m.Received}
	switch {
	case d.Kind == devices.KindGas:
		v, ok := f["lel"]
		gas, open := open.Family("gas")
		if !ok || !open || gas.Cleared || v < dr.Gas.Low || v >= dr.Gas.High && gas.Kind != KindGasHigh {
			return FoldedReading{}, false
		}
		r.AlertID, r.Family, r.Field, r.Value = gas.ID, "gas", "lel", v
	case d.Kind == devices.KindAir && len(dr.Air) > 0:
		air, open := open.Family(string(KindAirQuality))
		if !open || air.Cleared {
			return FoldedReading{}, false
		}
		worstRatio := 0.0
		for _, name := range sortedKeys(dr.Air) {
			if v, ok := f[name]; ok && v > dr.Air[name].Limit && v/dr.Air[name].Limit > worstRatio {
				worstRatio, r.Field, r.Value = v/dr.Air[name].Limit, name, v
			}
		}
		if r.Field == "" {
			return FoldedReading{}, false // not over a limit: nothing to count (or a clear)
		}
		r.AlertID, r.Family = air.ID, string(KindAirQuality)
	default:
		return FoldedReading{}, false
	}
	return r, true
}

// ApplyFold writes a fold inside tx: the alert's occurrences grow by its
// count, its last occurrence and worst reading move on, and one occurrence
// entry on its timeline carries the count (with max, and the latest
// value and seq). A fold of an alert that is no longer the device's open
// one of its family (closed meanwhile) changes nothing and returns nil.
func (s *Service) ApplyFold(ctx context.Context, tx Tx, d *devices.Device, f Fold, now time.Time) (*Alert, error) {
	if d == nil || f.Count == 0 {
		return nil, nil
	}
	h := s.newHandling(ctx, tx, d, now)
	a, err := h.openFamily(f.Family)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", d.ID, err)
	}
	if a == nil || a.ID != f.AlertID {
		return nil, nil
	}
	a.Occurrences += f.Count
	if f.Last.After(a.LastOccurrence) {
		a.LastOccurrence = f.Last
	}
	a.Reading = worse(a.Kind, a.Reading, &f.Max)
	h.touch(a)
	data := map[string]string{
		"field": f.Field, "value": fmtF(f.Value), "seq": strconv.FormatUint(f.Seq, 10),
		FoldCount: strconv.Itoa(f.Count), FoldMax: fmtF(f.Max),
	}
	if err := h.log(a, deviceActor(d.ID), TimelineOccurred, "", data); err != nil {
		return nil, fmt.Errorf("device %s: %w", d.ID, err)
	}
	res, err := h.result()
	if err != nil || len(res.Changed) == 0 {
		return nil, err
	}
	return res.Changed[0], nil
}
