package alerts

import (
	"slices"

	"github.com/shouwang-hub/shouwang/devices"
)

// OpenSet is what the hub keeps in memory about one device's alerts, so
// the telemetry hot path touches the store only when a reading may
// matter: its open alerts (at most one per family) and its low-battery
// latch. The zero value is a device with nothing open.
//
// An OpenSet is a value: Fold returns a new one and never changes the
// slices of the one it was called on, so copies may be shared.
type OpenSet struct {
	Alerts []OpenAlert
	// LowBattery is the ID of the device's latched low_battery alert (its
	// latest, not cleared, in any state); 0 when not latched.
	LowBattery int64
}

// OpenAlert is the little the prefilter needs about one open alert.
type OpenAlert struct {
	ID       int64
	Kind     Kind
	Severity Severity
	Cleared  bool
}

// Family returns the open alert of a kind family.
func (o OpenSet) Family(family string) (OpenAlert, bool) {
	for _, a := range o.Alerts {
		if a.Kind.Family() == family {
			return a, true
		}
	}
	return OpenAlert{}, false
}

// Empty reports whether the set says nothing: no open alert, no latch.
func (o OpenSet) Empty() bool { return len(o.Alerts) == 0 && o.LowBattery == 0 }

// Fold returns the set updated with one changed alert (as the change feed
// or a Result carries it). Changes must be folded in commit order. Tests
// are ignored, and so is an older alert of a family than the open one.
func (o OpenSet) Fold(a *Alert) OpenSet {
	if a == nil || a.Test {
		return o
	}
	family := a.Kind.Family()
	i := slices.IndexFunc(o.Alerts, func(x OpenAlert) bool { return x.Kind.Family() == family })
	switch {
	case a.State.Open():
		list := slices.Clone(o.Alerts)
		entry := OpenAlert{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Cleared: a.Cleared}
		if i >= 0 {
			list[i] = entry
		} else {
			list = append(list, entry)
		}
		o.Alerts = list
	case i >= 0 && o.Alerts[i].ID == a.ID:
		o.Alerts = slices.Delete(slices.Clone(o.Alerts), i, i+1)
		if len(o.Alerts) == 0 {
			o.Alerts = nil
		}
	}
	if a.Kind == KindLowBattery && a.ID >= o.LowBattery {
		o.LowBattery = 0
		if !a.Cleared {
			o.LowBattery = a.ID
		}
	}
	return o
}

// Summarize builds the sets of every device from the store's open alerts
// (Store.OpenAlertsAll) and each device's latest uncleared low_battery
// alert. Devices with nothing to say are left out.
func Summarize(alerts []*Alert) map[string]OpenSet {
	sorted := slices.Clone(alerts)
	slices.SortFunc(sorted, func(a, b *Alert) int { return cmpInt64(a.ID, b.ID) })
	sets := make(map[string]OpenSet)
	for _, a := range sorted {
		if set := sets[a.DeviceID].Fold(a); set.Empty() {
			delete(sets, a.DeviceID)
		} else {
			sets[a.DeviceID] = set
		}
	}
	return sets
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TelemetryMatters is the in-memory prefilter of the ingest hot path: it
// reports whether message m from device d, whose alerts open describes,
// may change an alert, so HandleMessage is worth a store transaction. It
// never says false for a message that would change something; it may say
// true for one that changes nothing. Events always matter.
func (s *Service) TelemetryMatters(d *devices.Device, m *devices.Message, open OpenSet) bool {
	if d == nil || m == nil {
		return false
	}
	if m.Event != nil {
		return true
	}
	if off, ok := open.Family(string(KindOffline)); ok && !off.Cleared && (m.Status == nil || m.Status.Online) {
		return true
	}
	dr := s.rules.For(d)
	batteryMatters := func(v float64) bool {
		if v <= dr.Battery.Low {
			return open.LowBattery == 0
		}
		return v >= dr.Battery.Replaced && open.LowBattery != 0
	}
	switch {
	case m.Status != nil:
		// A last will changes no alert: supervision judges it after the
		// device's grace time (Supervisor.Will).
		return m.Status.Battery != nil && batteryMatters(*m.Status.Battery)
	case m.Telemetry == nil:
		return false
	}
	f := m.Telemetry.Fields
	if v, ok := f["battery"]; ok && batteryMatters(v) {
		return true
	}
	if v, ok := f["lel"]; ok && d.Kind == devices.KindGas {
		g := dr.Gas
		if v >= g.Low {
			return true
		}
		if gas, ok := open.Family("gas"); ok && !gas.Cleared && v < g.Low-g.Hysteresis {
			return true
		}
	}
	if d.Kind == devices.KindAir && len(dr.Air) > 0 {
		present, allClear := false, true
		for name, l := range dr.Air {
			v, ok := f[name]
			if !ok {
				continue
			}
			if v > l.Limit {
				return true
			}
			present = true
			allClear = allClear && v < l.Limit-l.Hysteresis
		}
		if air, ok := open.Family(string(KindAirQuality)); ok && !air.Cleared && present && allClear {
			return true
		}
	}
	return false
}
