package alerts_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestPendingChanges(t *testing.T) {
	var p alerts.PendingChanges[string]
	if p.Len() != 0 || p.Written(1) || p.WriteVersion(1, 4) != 4 {
		t.Fatal("an empty set knows of an alert")
	}
	p.Put(7, 1, "7 opened")
	p.Put(3, 5, "3 accepted")
	// Alert 7 read again in the transaction (version 1) and changed: it
	// stays at 1 and its change is replaced in place.
	if v := p.WriteVersion(7, 2); v != 1 {
		t.Errorf("WriteVersion(7, 2) = %d, want 1", v)
	}
	p.Put(7, 1, "7 linked")
	p.Put(9, 2, "9 cleared")
	p.Put(3, 5, "3 dispatched")
	// Any other version is not this transaction's: the store refuses it.
	if v := p.WriteVersion(3, 9); v != 9 {
		t.Errorf("WriteVersion(3, 9) = %d, want 9 unchanged", v)
	}
	want := []alerts.PendingChange[string]{{7, 1, "7 linked"}, {3, 5, "3 dispatched"}, {9, 2, "9 cleared"}}
	got := p.List()
	if len(got) != len(want) || p.Len() != 3 {
		t.Fatalf("List = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("List[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestBuildingAlarmBatchOneChangeEach: the alarms of one building handled
// in one transaction, one message after another as the hub's committers
// do, put each alert on the feed once — opened already linked to the
// incident, at version 1 — and the incident once, as it stands at the
// commit: not one change per member (issue 15's storm sent a console 2,682
// changes in a second for 900 alerts).
func TestBuildingAlarmBatchOneChangeEach(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	ctx := context.Background()
	var ds []*devices.Device
	for i := range 12 {
		d := device(fmt.Sprintf("smoke-%02d", i), devices.KindSmoke, false)
		d.Location.Household = fmt.Sprintf("%d01", i+1)
		ds = append(ds, d)
	}
	// The first alarm alone, in a transaction of its own.
	e.handle(ds[0], eventMsg(ds[0], 1, devices.EventSmoke, at(0)))
	seq := lastSeq(t, e)

	// The other eleven in one batch: the second opens alone, the third
	// makes the incident (linking the first two), the rest join it.
	batch := ds[1:]
	err := e.store.InTx(ctx, func(tx alerts.Tx) error {
		for i, d := range batch {
			if _, err := e.svc.HandleMessage(ctx, tx, d, eventMsg(d, 1, devices.EventSmoke, at(time.Duration(i+1)*time.Second))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	changes := changesSince(t, e, seq)
	byID := map[int64]*alerts.Alert{}
	var inc *alerts.Alert
	for _, c := range changes {
		if byID[c.Alert.ID] != nil {
			t.Errorf("alert %d (%s) twice on the feed in one transaction", c.Alert.ID, c.Alert.DeviceID)
		}
		byID[c.Alert.ID] = c.Alert
		if c.Alert.Kind == alerts.KindBuildingAlarm {
			inc = c.Alert
		}
	}
	// Eleven new alerts, the first one linked, the incident.
	if len(changes) != 13 || inc == nil {
		t.Fatalf("%d changes (incident %v), want 13: eleven alerts opened, the first linked, the incident", len(changes), inc != nil)
	}
	if inc.Version != 1 || inc.Incident.Alerts != 12 || inc.Incident.Devices != 12 {
		t.Errorf("the incident on the feed: version %d, %d alerts, %d devices; want 1, 12, 12 (its state at the commit)",
			inc.Version, inc.Incident.Alerts, inc.Incident.Devices)
	}
	for _, c := range changes {
		a := c.Alert
		if a.Kind != alerts.KindSmoke {
			continue
		}
		if a.IncidentID != inc.ID {
			t.Errorf("alert of %s on the feed without its incident (incident_id %d)", a.DeviceID, a.IncidentID)
		}
		want := int64(1) // opened in this transaction, linked in its opening change
		if a.DeviceID == ds[0].ID {
			want = 2 // opened before, linked now
		}
		if a.Version != want {
			t.Errorf("alert of %s at version %d, want %d", a.DeviceID, a.Version, want)
		}
	}
	// What is stored is what the feed said.
	for id, a := range byID {
		stored, err := e.store.FindAlert(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Version != a.Version || stored.IncidentID != a.IncidentID {
			t.Errorf("alert %d stored at version %d (incident %d), the feed said %d (%d)", id, stored.Version, stored.IncidentID, a.Version, a.IncidentID)
		}
	}

	// One more alarm later: the new alert, opened linked, and the incident's
	// next version.
	seq = lastSeq(t, e)
	late := device("smoke-late", devices.KindSmoke, false)
	e.handle(late, eventMsg(late, 1, devices.EventSmoke, at(time.Minute)))
	changes = changesSince(t, e, seq)
	if len(changes) != 2 || changes[0].Alert.DeviceID != late.ID || changes[0].Alert.Version != 1 || changes[0].Alert.IncidentID != inc.ID ||
		changes[1].Alert.ID != inc.ID || changes[1].Alert.Version != 2 || changes[1].Alert.Incident.Alerts != 13 {
		t.Errorf("a late alarm's changes: %s", describe(changes))
	}
}

func lastSeq(t *testing.T, e *env) int64 {
	t.Helper()
	seq, err := e.store.LastChangeSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func changesSince(t *testing.T, e *env, seq int64) []alerts.Change {
	t.Helper()
	changes, _, err := e.store.ChangesSince(context.Background(), seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

func describe(changes []alerts.Change) string {
	s := ""
	for _, c := range changes {
		s += fmt.Sprintf("[%d: alert %d %s %s v%d incident %d] ", c.Seq, c.Alert.ID, c.Alert.Kind, c.Alert.DeviceID, c.Alert.Version, c.Alert.IncidentID)
	}
	return s
}
