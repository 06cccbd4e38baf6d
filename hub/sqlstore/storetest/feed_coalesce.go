package storetest

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// testOneChangePerAlertPerTransaction: a transaction that writes an alert
// several times puts it on the feed once, as it stands at the commit, in
// the order the alerts were first written, and its version rises once
// (alerts.PendingChanges).
func testOneChangePerAlertPerTransaction(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	old := newAlert("old", "c", alerts.KindSmoke, alerts.SeverityCritical, t0)
	createAlerts(t, s, old) // version 1, change 1
	before, err := s.LastChangeSeq(ctx(t))
	must(t, err)

	opened := newAlert("new", "c", alerts.KindGasLow, alerts.SeverityMajor, t0.Add(time.Second))
	inc := newAlert("building:c\x1fb1", "c", alerts.KindBuildingAlarm, alerts.SeverityCritical, t0.Add(time.Second))
	inc.Incident = &alerts.Incident{Scope: inc.DeviceID, Community: "c", Building: "b1", FirstAt: t0}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		must(t, tx.CreateAlert(ctx(t), opened))
		must(t, tx.CreateAlert(ctx(t), inc))
		// The new alert linked to the incident in its opening transaction.
		opened.IncidentID = inc.ID
		opened.Version++
		must(t, tx.UpdateAlert(ctx(t), opened))
		if opened.Version != 1 {
			t.Errorf("an alert updated in its opening transaction: version %d, want 1", opened.Version)
		}
		// The old alert and the incident, changed once per member as a
		// batch of alarms would.
		for i := 1; i <= 3; i++ {
			old.Version++
			old.Occurrences, old.IncidentID = 1+i, inc.ID
			must(t, tx.UpdateAlert(ctx(t), old))
			inc.Version++
			inc.Incident.Alerts = i
			must(t, tx.UpdateAlert(ctx(t), inc))
		}
		if old.Version != 2 || inc.Version != 1 {
			t.Errorf("after three updates in one transaction: versions %d and %d, want 2 and 1", old.Version, inc.Version)
		}
		// A stale version is still refused, and leaves the caller's as it was.
		stale := *old
		stale.Version = 5
		if err := tx.UpdateAlert(ctx(t), &stale); shouwang.ErrorCode(err) != shouwang.ECONFLICT || stale.Version != 5 {
			t.Errorf("a stale update: %v, version %d; want a conflict and 5", err, stale.Version)
		}
		return nil
	}))

	changes, _, err := s.ChangesSince(ctx(t), before, 0)
	must(t, err)
	type seen struct {
		id                   int64
		version              int64
		occurrences, members int
		incident             int64
	}
	var got []seen
	for _, c := range changes {
		g := seen{id: c.Alert.ID, version: c.Alert.Version, occurrences: c.Alert.Occurrences, incident: c.Alert.IncidentID}
		if c.Alert.Incident != nil {
			g.members = c.Alert.Incident.Alerts
		}
		got = append(got, g)
	}
	want := []seen{
		{id: opened.ID, version: 1, occurrences: 1, incident: inc.ID},
		{id: inc.ID, version: 1, occurrences: 1, members: 3},
		{id: old.ID, version: 2, occurrences: 4, incident: inc.ID},
	}
	if len(got) != len(want) {
		t.Fatalf("the transaction's changes: %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
		if changes[i].Seq != before+int64(i)+1 {
			t.Errorf("change %d numbered %d, want %d", i, changes[i].Seq, before+int64(i)+1)
		}
	}
	for _, a := range []*alerts.Alert{opened, inc, old} {
		stored, err := s.FindAlert(ctx(t), a.ID)
		must(t, err)
		if stored.Version != a.Version {
			t.Errorf("alert %d stored at version %d, want %d", a.ID, stored.Version, a.Version)
		}
	}
	// The next transaction's write is the next version, with its change.
	old.Version++
	old.Occurrences++
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), old) }))
	changes, _, err = s.ChangesSince(ctx(t), before+3, 0)
	must(t, err)
	if len(changes) != 1 || changes[0].Alert.ID != old.ID || changes[0].Alert.Version != 3 || old.Version != 3 {
		t.Errorf("the next transaction's changes: %+v (version %d), want alert %d at version 3", changes, old.Version, old.ID)
	}
}
