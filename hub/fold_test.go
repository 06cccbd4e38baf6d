package hub

import (
	"context"
	"fmt"
	"testing"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
)

func gasReading(seq int, lel float64) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"lel":%g}`, seq, 1_763_800_000_000+seq, lel)
}

// TestRepeatedReadingsFold: a gas leak's readings after the one that
// opened its alert are folded — every one in the spool, none a store
// transaction of its own — and written as one occurrence entry with their
// count; a reading that clears it is applied after them, in order.
func TestRepeatedReadingsFold(t *testing.T) {
	spool, store := &fakeSpool{}, &fakeStore{alerts: alertstest.New()}
	in, _ := newTestIngest(t, spool, store)
	a := in.cfg.Alerting
	ack := newAcker()
	in.Handle("shouwang/v1/gas-1/telemetry", gasReading(1, 15), ack.ack) // opens gas_low
	ack.wait(t, 1)
	for seq := 2; seq <= 41; seq++ {
		in.Handle("shouwang/v1/gas-1/telemetry", gasReading(seq, float64(10+seq%10)), ack.ack)
	}
	ack.wait(t, 40)
	if spool.count() != 41 {
		t.Fatalf("spool has %d lines, want 41", spool.count())
	}
	list := store.alerts.Alerts()
	if len(list) != 1 || list[0].Occurrences != 1 {
		t.Fatalf("alerts before the fold is written: %+v", list)
	}
	if n := a.folds.pending(); n != 1 {
		t.Fatalf("%d alerts with folds pending, want 1", n)
	}
	if err := a.writeFolds(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	al, err := store.alerts.FindAlert(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if al.Occurrences != 41 || *al.Reading != 19 {
		t.Errorf("after the fold: %d occurrences, reading %v; want 41 and 19 (the highest)", al.Occurrences, *al.Reading)
	}
	var folds int
	for _, e := range al.Timeline {
		if e.Action == alerts.TimelineOccurred {
			folds++
			if e.Data[alerts.FoldCount] != "40" || e.Data["seq"] != "41" {
				t.Errorf("folded entry %+v; want count 40, seq 41", e)
			}
		}
	}
	if folds != 1 {
		t.Errorf("%d occurrence entries, want 1 for the 40 folded readings", folds)
	}

	// More readings fold; then one clears: the fold is written first.
	for seq := 42; seq <= 45; seq++ {
		in.Handle("shouwang/v1/gas-1/telemetry", gasReading(seq, 12), ack.ack)
	}
	ack.wait(t, 4)
	in.Handle("shouwang/v1/gas-1/telemetry", gasReading(46, 1), ack.ack)
	ack.wait(t, 1)
	al, _ = store.alerts.FindAlert(context.Background(), list[0].ID)
	if !al.Cleared || al.Occurrences != 45 {
		t.Fatalf("after the clear: cleared %v, %d occurrences; want cleared, 45", al.Cleared, al.Occurrences)
	}
	last := al.Timeline[len(al.Timeline)-1]
	prev := al.Timeline[len(al.Timeline)-2]
	if last.Action != alerts.TimelineCleared || prev.Action != alerts.TimelineOccurred || prev.Data[alerts.FoldCount] != "4" {
		t.Errorf("timeline ends %s %v, %s; want the fold of 4, then cleared", prev.Action, prev.Data, last.Action)
	}
	if a.folds.pending() != 0 {
		t.Error("a fold is left pending after the clear wrote it")
	}
}
