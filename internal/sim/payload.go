package sim

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// band is where a healthy sensor's reading wanders, and how far it moves
// between two reports.
type band struct {
	lo, hi, step float64
	decimals     int
}

// bands of the readings of a quiet home. Every band lies inside the
// protocol's range for the field (devices.Spec), so the simulator never sends
// a reading the hub would reject unless a test asks it to.
var bands = map[string]band{
	"battery":     {55, 100, 0, 0},
	"signal":      {-95, -55, 2, 0},
	"temperature": {17, 29, 0.3, 1},
	"smoke":       {0, 0.3, 0.05, 2},
	"lel":         {0, 1.5, 0.2, 1},
	"humidity":    {30, 75, 1.5, 0},
	"pm25":        {5, 75, 4, 0},
	"pm10":        {10, 120, 6, 0},
	"co2":         {420, 1200, 40, 0},
	"tvoc":        {0.05, 0.6, 0.03, 2},
	"co":          {0, 20, 2, 0},
}

// nativeFields are the fields the demo's native devices report: each
// kind's own, less those only vendor models have (a smoke alarm's
// humidity, a gas detector's ppm or CO reading, an air monitor's VOC in
// ppb or formaldehyde).
var nativeFields = map[devices.Kind][]string{
	devices.KindSOSButton: {"battery", "signal"},
	devices.KindSmoke:     {"smoke", "temperature", "battery", "signal"},
	devices.KindGas:       {"lel", "temperature", "battery", "signal"},
	devices.KindCO:        {"co", "temperature", "battery", "signal"},
	devices.KindAir:       {"temperature", "humidity", "pm25", "pm10", "co2", "tvoc", "battery", "signal"},
}

// Alarm readings: what a smoke detector in alarm reports.
const (
	smokeAlarm = 12.5 // %/m, well above a detector's threshold of a few %/m
	// GasAlarmLEL is the reading at which a gas detector raises a gas event,
	// 10 % of the lower explosive limit (a common first alarm level).
	GasAlarmLEL = 10.0
)

// readings is one device's sensor state. Its owner guards it.
type readings struct {
	kind   devices.Kind
	values map[string]float64
	// pinned fields hold a forced value (a smoke alarm, a gas leak) instead
	// of wandering.
	pinned map[string]bool
}

func newReadings(k devices.Kind, rng *rand.Rand) *readings {
	r := &readings{kind: k, values: map[string]float64{}, pinned: map[string]bool{}}
	for _, f := range devices.Spec(k).AllFields() {
		b, ok := bands[f.Name]
		if !ok || !slices.Contains(nativeFields[k], f.Name) {
			continue // a field the demo's devices do not report
		}
		r.values[f.Name] = round(b.lo+rng.Float64()*(b.hi-b.lo), b.decimals)
	}
	return r
}

// next moves every reading one step and returns the fields to report.
func (r *readings) next(rng *rand.Rand) map[string]float64 {
	spec := devices.Spec(r.kind)
	out := make(map[string]float64, len(r.values))
	for _, f := range spec.AllFields() {
		v, ok := r.values[f.Name]
		if !ok {
			continue
		}
		if !r.pinned[f.Name] {
			b := bands[f.Name]
			if f.Name == "battery" {
				// Batteries last years: lose a percent every few hundred
				// reports, and never drop below the band the demo starts in.
				if rng.IntN(500) == 0 && v > b.lo {
					v--
				}
			} else {
				v = round(clamp(v+(rng.Float64()*2-1)*b.step, b.lo, b.hi), b.decimals)
			}
			r.values[f.Name] = v
		}
		out[f.Name] = clamp(v, f.Min, f.Max)
	}
	return out
}

// pin forces a field to v until unpin.
func (r *readings) pin(field string, v float64) {
	if _, ok := r.values[field]; ok {
		r.values[field] = v
		r.pinned[field] = true
	}
}

// unpin lets a field wander again from the quiet end of its band.
func (r *readings) unpin(field string) {
	if r.pinned[field] {
		delete(r.pinned, field)
		r.values[field] = bands[field].lo
	}
}

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Payload builders. Each returns JSON that devices.Decode accepts for the
// device's kind.

func eventPayload(seq uint64, ts time.Time, typ devices.EventType, lel *float64) []byte {
	m := map[string]any{"seq": seq, "ts": ts.UnixMilli(), "type": typ}
	if lel != nil {
		m["lel"] = *lel
	}
	return mustJSON(m)
}

func telemetryPayload(seq uint64, ts time.Time, fields map[string]float64) []byte {
	m := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		m[k] = v
	}
	m["seq"], m["ts"] = seq, ts.UnixMilli()
	return mustJSON(m)
}

func onlinePayload(fw string, battery, signal float64) []byte {
	return mustJSON(map[string]any{"state": "online", "fw": fw, "battery": battery, "signal": signal})
}

var offlinePayload = []byte(`{"state":"offline"}`)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sim: marshal payload: " + err.Error()) // only finite numbers and strings go in
	}
	return b
}
