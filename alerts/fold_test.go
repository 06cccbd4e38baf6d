package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// TestFoldReading: a reading that would only add an occurrence to an open,
// uncleared alert folds; one that opens, raises, clears, recurs, touches
// the battery latch or marks an offline device back does not. Every
// reading that folds is one HandleMessage would have counted as an
// occurrence and nothing else.
func TestFoldReading(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	gas := device("gas-1", devices.KindGas, false)
	lel := func(v float64) map[string]float64 { return map[string]float64{"lel": v} }
	open := func() alerts.OpenSet { return alerts.Summarize(e.store.Alerts())[gas.ID] }
	folds := func(fields map[string]float64) bool {
		_, ok := e.svc.FoldReading(gas, telemetryMsg(gas, 99, fields, at(time.Minute)), open())
		return ok
	}
	if folds(lel(15)) {
		t.Fatal("a reading with no alert open folded (it opens one)")
	}
	e.handle(gas, telemetryMsg(gas, 1, lel(15), at(0))) // opens gas_low
	for _, c := range []struct {
		fields map[string]float64
		want   bool
	}{
		{lel(12), true},  // still over the low level: an occurrence
		{lel(30), false}, // raises to gas_high
		{lel(9), false},  // under the level, in the hysteresis: nothing happens (TelemetryMatters says no)
		{lel(5), false},  // clears
		{map[string]float64{"lel": 12, "battery": 10}, false}, // latches low battery
		{map[string]float64{"lel": 12, "battery": 80}, true},
		{map[string]float64{"temperature": 20}, false},
	} {
		if got := folds(c.fields); got != c.want {
			t.Errorf("%v: folds %v, want %v", c.fields, got, c.want)
		}
	}
	r, _ := e.svc.FoldReading(gas, telemetryMsg(gas, 7, lel(12), at(time.Minute)), open())
	if r.Family != "gas" || r.Field != "lel" || r.Value != 12 || r.Seq != 7 || r.AlertID == 0 {
		t.Errorf("folded reading %+v", r)
	}
	e.handle(gas, telemetryMsg(gas, 2, lel(30), at(time.Second))) // raised: now any reading over the low level folds
	if !folds(lel(40)) || !folds(lel(11)) {
		t.Error("readings of a gas_high alert did not fold")
	}
	e.handle(gas, telemetryMsg(gas, 3, lel(1), at(2*time.Second))) // cleared
	if folds(lel(12)) {
		t.Error("a reading of a cleared alert folded (it recurs)")
	}

	air := device("air-1", devices.KindAir, false)
	e.handle(air, telemetryMsg(air, 1, map[string]float64{"pm25": 90}, at(0)))
	openAir := alerts.Summarize(e.store.Alerts())[air.ID]
	if r, ok := e.svc.FoldReading(air, telemetryMsg(air, 2, map[string]float64{"pm25": 100, "co2": 3000}, at(time.Second)), openAir); !ok || r.Field != "co2" || r.Value != 3000 {
		t.Errorf("air over two limits: %+v, %v; want co2 (the worst) folded", r, ok)
	}
	if _, ok := e.svc.FoldReading(air, telemetryMsg(air, 3, map[string]float64{"pm25": 70}, at(time.Second)), openAir); ok {
		t.Error("an air reading under every limit folded")
	}
}

// TestApplyFold: a fold of n readings adds n occurrences, keeps the worst
// reading and writes one occurrence entry with the count; a fold of an
// alert closed meanwhile changes nothing.
func TestApplyFold(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	gas := device("gas-1", devices.KindGas, false)
	res := e.handle(gas, telemetryMsg(gas, 1, map[string]float64{"lel": 15}, at(0)))
	id := res.Changed[0].ID
	var f alerts.Fold
	for i, v := range []float64{12, 22, 14} {
		f.Add(gas.ID, alerts.FoldedReading{AlertID: id, Family: "gas", Field: "lel", Value: v, Seq: uint64(2 + i), At: at(time.Duration(i+1) * time.Second)})
	}
	var got *alerts.Alert
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		got, err = e.svc.ApplyFold(context.Background(), tx, gas, f, at(5*time.Second))
		return err
	})
	if err != nil || got == nil {
		t.Fatalf("ApplyFold = %v, %v", got, err)
	}
	a, err := e.store.FindAlert(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Occurrences != 4 || *a.Reading != 22 || !a.LastOccurrence.Equal(at(3*time.Second)) {
		t.Errorf("after the fold: %d occurrences, reading %v, last %v; want 4, 22, %v", a.Occurrences, *a.Reading, a.LastOccurrence, at(3*time.Second))
	}
	last := a.Timeline[len(a.Timeline)-1]
	if last.Action != alerts.TimelineOccurred || last.Data[alerts.FoldCount] != "3" || last.Data[alerts.FoldMax] != "22" ||
		last.Data["value"] != "14" || last.Data["seq"] != "4" || last.Data["field"] != "lel" {
		t.Errorf("the fold's entry: %+v", last)
	}

	e.mustTransition(id, alerts.ActionAccept, at(6*time.Second))
	e.mustTransition(id, alerts.ActionResolve, at(7*time.Second), func(r *alerts.TransitionRequest) { r.Outcome = alerts.OutcomeGenuine })
	err = e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		got, err = e.svc.ApplyFold(context.Background(), tx, gas, f, at(8*time.Second))
		return err
	})
	if err != nil || got != nil {
		t.Errorf("ApplyFold on a resolved alert = %v, %v; want nothing", got, err)
	}
}

// TestFoldMerge: a fold given back after a failed write merges with what
// was folded meanwhile: counts add, the latest stays the latest.
func TestFoldMerge(t *testing.T) {
	var a, b alerts.Fold
	a.Add("g", alerts.FoldedReading{AlertID: 1, Family: "gas", Field: "lel", Value: 30, Seq: 1, At: at(time.Second)})
	a.Add("g", alerts.FoldedReading{AlertID: 1, Family: "gas", Field: "lel", Value: 12, Seq: 2, At: at(2 * time.Second)})
	b.Add("g", alerts.FoldedReading{AlertID: 1, Family: "gas", Field: "lel", Value: 15, Seq: 3, At: at(3 * time.Second)})
	b.Merge(a) // a is older: given back after its write failed
	if b.Count != 3 || b.Max != 30 || b.Value != 15 || b.Seq != 3 || !b.First.Equal(at(time.Second)) || !b.Last.Equal(at(3*time.Second)) {
		t.Errorf("merged fold %+v", b)
	}
}
