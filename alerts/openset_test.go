package alerts_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestOpenSetFold(t *testing.T) {
	var s alerts.OpenSet
	if !s.Empty() {
		t.Fatal("zero set not empty")
	}
	gasLow := &alerts.Alert{ID: 1, DeviceID: "g", Kind: alerts.KindGasLow, Severity: alerts.SeverityMajor, State: alerts.StateNew}
	s = s.Fold(gasLow)
	shared := s
	raised := *gasLow
	raised.Kind, raised.Severity, raised.Cleared = alerts.KindGasHigh, alerts.SeverityCritical, true
	s = s.Fold(&raised)
	if got, ok := s.Family("gas"); !ok || got != (alerts.OpenAlert{ID: 1, Kind: alerts.KindGasHigh, Severity: alerts.SeverityCritical, Cleared: true}) {
		t.Fatalf("after raise: %+v", s)
	}
	if got, _ := shared.Family("gas"); got.Kind != alerts.KindGasLow {
		t.Fatal("Fold changed a copy of the set")
	}
	// An older alert of the family, closed meanwhile, leaves the open one.
	s = s.Fold(&alerts.Alert{ID: 0, DeviceID: "g", Kind: alerts.KindGasLow, State: alerts.StateClosed})
	if _, ok := s.Family("gas"); !ok {
		t.Fatal("an older alert's change dropped the open one")
	}
	// Tests are ignored.
	s = s.Fold(&alerts.Alert{ID: 9, DeviceID: "g", Kind: alerts.KindSOS, State: alerts.StateClosed, Test: true})
	// Low battery latches, whatever the state, until cleared.
	bat := &alerts.Alert{ID: 2, DeviceID: "g", Kind: alerts.KindLowBattery, Severity: alerts.SeverityMinor, State: alerts.StateNew}
	s = s.Fold(bat)
	bat.State = alerts.StateResolved
	s = s.Fold(bat)
	if s.LowBattery != 2 {
		t.Fatalf("latch %d after resolving, want 2", s.LowBattery)
	}
	if _, ok := s.Family("low_battery"); ok {
		t.Fatal("resolved alert still open")
	}
	bat.Cleared = true
	s = s.Fold(bat)
	if s.LowBattery != 0 {
		t.Fatal("cleared latch kept")
	}
	raised.State = alerts.StateResolved
	s = s.Fold(&raised)
	if !s.Empty() {
		t.Fatalf("set not empty at the end: %+v", s)
	}
	sum := alerts.Summarize([]*alerts.Alert{
		{ID: 5, DeviceID: "a", Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew},
		{ID: 3, DeviceID: "b", Kind: alerts.KindLowBattery, State: alerts.StateClosed},
		{ID: 4, DeviceID: "c", Kind: alerts.KindLowBattery, State: alerts.StateClosed, Cleared: true},
	})
	want := map[string]alerts.OpenSet{
		"a": {Alerts: []alerts.OpenAlert{{ID: 5, Kind: alerts.KindSOS, Severity: alerts.SeverityCritical}}},
		"b": {LowBattery: 3},
	}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("Summarize = %+v, want %+v", sum, want)
	}
}

func TestTelemetryMatters(t *testing.T) {
	svc, _ := alerts.NewService(alerts.Config{})
	gas := device("gas-1", devices.KindGas, false)
	air := device("air-1", devices.KindAir, false)
	sos := device("sos-1", devices.KindSOSButton, false)
	tel := func(d *devices.Device, f map[string]float64) *devices.Message { return telemetryMsg(d, 1, f, t0) }
	gasOpen := alerts.OpenSet{Alerts: []alerts.OpenAlert{{ID: 1, Kind: alerts.KindGasLow}}}
	gasCleared := alerts.OpenSet{Alerts: []alerts.OpenAlert{{ID: 1, Kind: alerts.KindGasLow, Cleared: true}}}
	airOpen := alerts.OpenSet{Alerts: []alerts.OpenAlert{{ID: 1, Kind: alerts.KindAirQuality}}}
	offline := alerts.OpenSet{Alerts: []alerts.OpenAlert{{ID: 1, Kind: alerts.KindOffline}}}
	latched := alerts.OpenSet{LowBattery: 4}
	battery := func(v float64) *devices.Message {
		m := statusMsg(sos, true, t0)
		m.Status.Battery = &v
		return m
	}
	tests := []struct {
		name string
		d    *devices.Device
		m    *devices.Message
		open alerts.OpenSet
		want bool
	}{
		{"an event", sos, eventMsg(sos, 1, devices.EventSOS, t0), alerts.OpenSet{}, true},
		{"quiet gas", gas, tel(gas, map[string]float64{"lel": 3, "battery": 80}), alerts.OpenSet{}, false},
		{"gas at low", gas, tel(gas, map[string]float64{"lel": 10}), alerts.OpenSet{}, true},
		{"gas above low, open", gas, tel(gas, map[string]float64{"lel": 12}), gasOpen, true},
		{"gas hovering, open", gas, tel(gas, map[string]float64{"lel": 8}), gasOpen, false},
		{"gas below clear, open", gas, tel(gas, map[string]float64{"lel": 7.9}), gasOpen, true},
		{"gas below clear, cleared", gas, tel(gas, map[string]float64{"lel": 3}), gasCleared, false},
		{"lel on another kind", air, tel(air, map[string]float64{"lel": 50}), alerts.OpenSet{}, false},
		{"air fine", air, tel(air, map[string]float64{"pm25": 75, "co2": 400}), alerts.OpenSet{}, false},
		{"air past a limit", air, tel(air, map[string]float64{"pm25": 75.1}), alerts.OpenSet{}, true},
		{"air clear, open", air, tel(air, map[string]float64{"pm25": 64, "co2": 400}), airOpen, true},
		{"air not yet clear, open", air, tel(air, map[string]float64{"pm25": 64, "co2": 1450}), airOpen, false},
		{"air without limited fields, open", air, tel(air, map[string]float64{"temperature": 20}), airOpen, false},
		{"battery low", sos, tel(sos, map[string]float64{"battery": 15}), alerts.OpenSet{}, true},
		{"battery low, latched", sos, tel(sos, map[string]float64{"battery": 5}), latched, false},
		{"battery middling, latched", sos, tel(sos, map[string]float64{"battery": 49}), latched, false},
		{"battery replaced, latched", sos, tel(sos, map[string]float64{"battery": 50}), latched, true},
		{"battery replaced, not latched", sos, tel(sos, map[string]float64{"battery": 100}), alerts.OpenSet{}, false},
		{"anything, offline open", sos, tel(sos, map[string]float64{"signal": -70}), offline, true},
		{"status online, offline open", sos, statusMsg(sos, true, t0), offline, true},
		{"status online", sos, statusMsg(sos, true, t0), alerts.OpenSet{}, false},
		{"last will, life-safety (supervision judges it after the grace)", sos, statusMsg(sos, false, t0), alerts.OpenSet{}, false},
		{"last will, air", air, statusMsg(air, false, t0), alerts.OpenSet{}, false},
		{"status battery low", sos, battery(10), alerts.OpenSet{}, true},
		{"status battery replaced, latched", sos, battery(90), latched, true},
	}
	for _, tt := range tests {
		if got := svc.TelemetryMatters(tt.d, tt.m, tt.open); got != tt.want {
			t.Errorf("%s: TelemetryMatters = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPrefilterNeverHidesAChange drives random readings, statuses and
// actions through the Service and checks, at every message, that when the
// prefilter (fed by folding every change) says a message does not matter,
// applying it changes nothing.
func TestPrefilterNeverHidesAChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	e := newEnv(t, alerts.Config{})
	devs := []*devices.Device{
		device("gas-1", devices.KindGas, false), device("air-1", devices.KindAir, true),
		device("sos-1", devices.KindSOSButton, false), device("smoke-1", devices.KindSmoke, false),
	}
	open := map[string]alerts.OpenSet{}
	fold := func(as ...*alerts.Alert) {
		for _, a := range as {
			open[a.DeviceID] = open[a.DeviceID].Fold(a)
		}
	}
	now := t0
	for i := range 5000 {
		now = now.Add(time.Duration(rng.IntN(30)+1) * time.Second)
		d := devs[rng.IntN(len(devs))]
		var m *devices.Message
		switch r := rng.IntN(10); {
		case r < 6:
			f := map[string]float64{"battery": float64(rng.IntN(101))}
			switch d.Kind {
			case devices.KindGas:
				f["lel"] = float64(rng.IntN(300)) / 10
			case devices.KindAir:
				f["pm25"], f["co2"] = float64(rng.IntN(120)), float64(rng.IntN(2000))
			}
			m = telemetryMsg(d, uint64(i+1), f, now)
		case r < 8:
			m = statusMsg(d, rng.IntN(2) == 0, now)
			if !m.Status.Online && rng.IntN(2) == 0 {
				// Past its grace: supervision finds it offline.
				var a *alerts.Alert
				if err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
					var err error
					a, err = e.svc.DeviceSilent(context.Background(), tx, d, now, now)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if a != nil { // an air monitor is not supervised
					fold(a)
				}
			}
		default:
			// An operator resolves one of the device's open alerts.
			for _, oa := range open[d.ID].Alerts {
				a := e.alert(oa.ID)
				if a.State == alerts.StateNew {
					a = e.mustTransition(a.ID, alerts.ActionAccept, now)
				}
				fold(e.mustTransition(a.ID, alerts.ActionResolve, now))
				break
			}
			continue
		}
		matters := e.svc.TelemetryMatters(d, m, open[d.ID])
		res := e.handle(d, m)
		if !matters && len(res.Changed) > 0 {
			t.Fatalf("step %d: %+v from %s did not matter but changed %+v", i, m.Telemetry, d.ID, *res.Changed[0])
		}
		fold(res.Changed...)
	}
	kinds := map[alerts.Kind]int{}
	for _, a := range e.store.Alerts() {
		kinds[a.Kind]++
	}
	for _, k := range []alerts.Kind{alerts.KindGasLow, alerts.KindGasHigh, alerts.KindAirQuality, alerts.KindLowBattery, alerts.KindOffline} {
		if kinds[k] < 3 {
			t.Errorf("only %d %s alerts: the walk does not exercise the rules (%v)", kinds[k], k, kinds)
		}
	}
	t.Logf("alerts by kind: %v", kinds)
	all, _ := e.store.OpenAlertsAll(context.Background())
	latched, _ := e.store.UnclearedLatest(context.Background(), alerts.KindLowBattery)
	want := alerts.Summarize(append(all, latched...))
	for id, s := range open {
		if s.Empty() {
			delete(open, id)
		}
	}
	if !reflect.DeepEqual(normSets(open), normSets(want)) {
		t.Errorf("folded sets %+v, from the store %+v", open, want)
	}
}
