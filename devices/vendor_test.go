package devices

import (
	"slices"
	"testing"
	"time"
)

func evTypes(out Outcome) []EventType {
	var ts []EventType
	for _, e := range out.Events {
		ts = append(ts, e.Type)
	}
	return ts
}

func TestVendorStateEdges(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	obs := func(set map[Condition]bool, press string) *Observation {
		o := &Observation{Press: press}
		for c, on := range set {
			o.Set(c, on)
		}
		return o
	}
	steps := []struct {
		name     string
		o        *Observation
		at       time.Duration
		retained bool
		want     []EventType
	}{
		{"first clear state", obs(map[Condition]bool{CondSmoke: false, CondBatteryLow: false}, ""), 0, false, nil},
		{"onset", obs(map[Condition]bool{CondSmoke: true}, ""), time.Second, false, []EventType{EventSmoke}},
		{"repeat", obs(map[Condition]bool{CondSmoke: true}, ""), 2 * time.Second, false, nil},
		{"silent: smoke not stated", obs(map[Condition]bool{CondBatteryLow: false}, ""), 3 * time.Second, false, nil},
		{"clear", obs(map[Condition]bool{CondSmoke: false}, ""), 4 * time.Second, false, []EventType{EventSmokeClear}},
		{"test with smoke", obs(map[Condition]bool{CondSmoke: true, CondTest: true}, ""), 5 * time.Second, false, []EventType{EventTest}},
		{"test ends", obs(map[Condition]bool{CondSmoke: false, CondTest: false}, ""), 6 * time.Second, false, nil},
		{"test ends but smoke stays", obs(map[Condition]bool{CondSmoke: true, CondTest: true}, ""), 7 * time.Second, false, []EventType{EventTest}},
		{"real now", obs(map[Condition]bool{CondSmoke: true, CondTest: false}, ""), 8 * time.Second, false, []EventType{EventSmoke}},
		{"press", obs(nil, "emergency"), 9 * time.Second, false, []EventType{EventSOS}},
		{"press copy", obs(nil, "emergency"), 10 * time.Second, false, nil},
		{"press later", obs(nil, "emergency"), 20 * time.Second, false, []EventType{EventSOS}},
		{"retained press", obs(nil, "emergency"), 60 * time.Second, true, nil},
		{"fault", obs(map[Condition]bool{CondFault: true, CondBatteryLow: true}, ""), 61 * time.Second, false, []EventType{EventLowBattery, EventFault}},
		{"fault clear", obs(map[Condition]bool{CondFault: false, CondBatteryLow: false}, ""), 62 * time.Second, false, []EventType{EventFaultClear}},
		{"gas straight to its highest grade: one event", obs(map[Condition]bool{CondGas: true, CondGasSevere: true}, ""), 63 * time.Second, false, []EventType{EventGas}},
		{"gas clear", obs(map[Condition]bool{CondGas: false, CondGasSevere: false}, ""), 64 * time.Second, false, []EventType{EventGasClear}},
		{"gas mild", obs(map[Condition]bool{CondGas: true, CondGasSevere: false}, ""), 65 * time.Second, false, []EventType{EventGas}},
		{"then heavy: raised", obs(map[Condition]bool{CondGas: true, CondGasSevere: true}, ""), 66 * time.Second, false, []EventType{EventGas}},
	}
	var s VendorState
	for _, st := range steps {
		got := evTypes(s.Apply(st.o, t0.Add(st.at), st.retained))
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: events %v, want %v", st.name, got, st.want)
		}
	}
}

func TestVendorStateGasGrades(t *testing.T) {
	var s VendorState
	o := &Observation{}
	o.Set(CondGas, true)
	o.Set(CondGasSevere, true)
	out := s.Apply(o, time.Unix(1_700_000_000, 0), false)
	if len(out.Events) != 1 || out.Events[0].Type != EventGas || !out.Events[0].Severe {
		t.Fatalf("none → heavy: %+v, want one severe gas event", out.Events)
	}
	var m VendorState
	mild := &Observation{}
	mild.Set(CondGas, true)
	mild.Set(CondGasSevere, false)
	if out := m.Apply(mild, time.Unix(1_700_000_000, 0), false); len(out.Events) != 1 || out.Events[0].Severe {
		t.Fatalf("none → mild: %+v, want one gas event, not severe", out.Events)
	}
	if out := m.Apply(o, time.Unix(1_700_000_001, 0), false); len(out.Events) != 1 || !out.Events[0].Severe {
		t.Fatalf("mild → heavy: %+v, want one severe gas event", out.Events)
	}
}

// TestObservationStates: what a message states is ordered against other
// states (the hub's vendor path); readings and presses are not states.
func TestObservationStates(t *testing.T) {
	online := true
	var smoke, avail, readings, press Observation
	smoke.Set(CondSmoke, false)
	avail.Online = &online
	readings.Reading("gas_ppm", 1200)
	press.Press = "emergency"
	for _, tt := range []struct {
		name string
		o    *Observation
		want bool
	}{{"a condition, off", &smoke, true}, {"availability", &avail, true}, {"readings", &readings, false}, {"a press", &press, false}} {
		if got := tt.o.States(); got != tt.want {
			t.Errorf("%s: States() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
