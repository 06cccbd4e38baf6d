package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The contract of incidents (alerts.IncidentTx) and check-ins
// (alerts.CheckinTx, alerts.CheckinStore).

// buildingScope is the scope of the test devices' building (device: b1 of
// c1).
var buildingScope = alerts.BuildingScope(devices.Location{Community: "c1", Building: "b1"})

// newIncident returns an incident alert of kind for buildingScope.
func newIncident(kind alerts.Kind, opened time.Time) *alerts.Alert {
	return &alerts.Alert{
		Kind: kind, Severity: alerts.SeverityCritical, Priority: 1, State: alerts.StateNew,
		DeviceID: buildingScope, Device: devices.Device{Location: devices.Location{Community: "c1", Grid: "g1", Building: "b1"}},
		OpenedAt: opened, LastOccurrence: opened, UpdatedAt: opened,
		Incident: &alerts.Incident{Scope: buildingScope, Community: "c1", Building: "b1", Alerts: 2, Devices: 3, Returned: 1,
			Units: []string{"1", "2"}, Floors: []string{"3", "10"}, FirstAt: opened.Add(-90*time.Second + 123*time.Microsecond)},
	}
}

func testIncidentRoundTrip(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	inc := newIncident(alerts.KindBuildingAlarm, t0)
	smoke := newAlert("smk-1", "c1", alerts.KindSmoke, alerts.SeverityCritical, t0.Add(-time.Minute))
	createAlerts(t, s, inc, smoke)
	smoke.IncidentID, smoke.Version = inc.ID, smoke.Version+1
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), smoke) }))

	got, err := s.FindAlert(ctx(t), inc.ID)
	must(t, err)
	want := *inc.Incident
	want.FirstAt = want.FirstAt.Truncate(time.Millisecond)
	if got.Incident == nil || !reflect.DeepEqual(*got.Incident, want) || got.DeviceID != buildingScope || got.IncidentID != 0 {
		t.Fatalf("incident read back: %+v %+v, want %+v", got.DeviceID, got.Incident, want)
	}
	if got.Members != nil {
		t.Errorf("an incident without members lists %v", got.Members)
	}
	linked, err := s.FindAlert(ctx(t), smoke.ID)
	must(t, err)
	if linked.IncidentID != inc.ID || linked.Incident != nil {
		t.Errorf("linked alert: incident_id %d, incident %+v", linked.IncidentID, linked.Incident)
	}
	changes, _, err := s.ChangesSince(ctx(t), 0, 0)
	must(t, err)
	last := changes[len(changes)-1].Alert
	if last.ID != smoke.ID || last.IncidentID != inc.ID || changes[0].Alert.Incident == nil || !reflect.DeepEqual(*changes[0].Alert.Incident, want) {
		t.Errorf("the change feed carries %+v / %+v", changes[0].Alert.Incident, last)
	}
	list, _, err := s.ListAlerts(ctx(t), alerts.Filter{Kind: alerts.KindBuildingAlarm})
	must(t, err)
	if len(list) != 1 || list[0].Incident == nil || list[0].Incident.Devices != 3 {
		t.Errorf("listed incidents: %+v", list)
	}
}

func testScopeAlerts(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	at := func(d time.Duration, id string, kind alerts.Kind) *alerts.Alert {
		return newAlert(id, "c1", kind, alerts.SeverityCritical, t0.Add(d))
	}
	old := at(-10*time.Minute, "smk-old", alerts.KindSmoke)
	a1, a2 := at(0, "smk-1", alerts.KindSmoke), at(time.Minute, "co-2", alerts.KindCO)
	sos := at(2*time.Minute, "sos-3", alerts.KindSOS)
	test := at(2*time.Minute, "smk-4", alerts.KindSmoke)
	test.Test = true
	other := newAlert("smk-5", "c2", alerts.KindSmoke, alerts.SeverityCritical, t0) // another community's b1
	resolved := at(3*time.Minute, "smk-6", alerts.KindSmoke)
	resolved.State = alerts.StateResolved
	linked := at(4*time.Minute, "smk-7", alerts.KindSmoke)
	linked.IncidentID = 999
	createAlerts(t, s, old, a1, a2, sos, test, other, resolved, linked)

	var got []*alerts.Alert
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		var err error
		got, err = tx.ScopeAlerts(ctx(t), buildingScope, []alerts.Kind{alerts.KindSmoke, alerts.KindCO}, t0)
		return err
	}))
	if ids := alertIDs(got); !reflect.DeepEqual(ids, []int64{a1.ID, a2.ID}) {
		t.Errorf("ScopeAlerts = %v, want %v (open, real, unlinked, of the kinds, since t0, in the scope)", ids, []int64{a1.ID, a2.ID})
	}
	// Inside one transaction an alert just created is seen.
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		fresh := at(5*time.Minute, "smk-8", alerts.KindSmoke)
		if err := tx.CreateAlert(ctx(t), fresh); err != nil {
			return err
		}
		got, err := tx.ScopeAlerts(ctx(t), buildingScope, []alerts.Kind{alerts.KindSmoke}, t0.Add(4*time.Minute))
		if err == nil && (len(got) != 1 || got[0].ID != fresh.ID) {
			err = fmt.Errorf("ScopeAlerts in the creating transaction = %v", alertIDs(got))
		}
		return err
	}))
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		got, err := tx.ScopeAlerts(ctx(t), "", []alerts.Kind{alerts.KindSmoke}, time.Time{})
		if err == nil && len(got) != 0 {
			err = fmt.Errorf("the empty scope matched %v", alertIDs(got))
		}
		return err
	}))
}

func testIncidentMembers(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	inc := newIncident(alerts.KindOutage, t0)
	plain := newAlert("smk-1", "c1", alerts.KindOffline, alerts.SeverityMajor, t0)
	closed := newIncident(alerts.KindOutage, t0)
	closed.State = alerts.StateClosed
	createAlerts(t, s, inc, plain, closed)
	m := func(dev string, since time.Duration) alerts.IncidentMember {
		return alerts.IncidentMember{IncidentID: inc.ID, DeviceID: dev, Kind: devices.KindSmoke, Unit: "1", Floor: "3", Household: "1-301", Since: t0.Add(since)}
	}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		for _, x := range []alerts.IncidentMember{m("smk-2", 0), m("smk-1", time.Second), m("smk-3", 2*time.Second)} {
			if err := tx.PutMember(ctx(t), x); err != nil {
				return err
			}
		}
		again := m("smk-2", 0)
		again.AlertID, again.ReturnedAt = plain.ID, t0.Add(time.Minute+500*time.Microsecond)
		if err := tx.PutMember(ctx(t), again); err != nil { // replaces, keeps its place
			return err
		}
		old := m("smk-1", 0)
		old.IncidentID = closed.ID
		return tx.PutMember(ctx(t), old)
	}))
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		return tx.PutMember(ctx(t), alerts.IncidentMember{IncidentID: plain.ID, DeviceID: "x", Since: t0})
	})
	wantCode(t, err, shouwang.ENOTFOUND)
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		return tx.PutMember(ctx(t), alerts.IncidentMember{IncidentID: 12345, DeviceID: "x", Since: t0})
	})
	wantCode(t, err, shouwang.ENOTFOUND)

	got, err := s.FindAlert(ctx(t), inc.ID)
	must(t, err)
	var order []string
	for _, x := range got.Members {
		order = append(order, x.DeviceID)
	}
	if !reflect.DeepEqual(order, []string{"smk-2", "smk-1", "smk-3"}) {
		t.Fatalf("members in the order %v, want the order they joined", order)
	}
	first := got.Members[0]
	if first.AlertID != plain.ID || !first.ReturnedAt.Equal(t0.Add(time.Minute)) || first.Kind != devices.KindSmoke || first.Household != "1-301" || !first.Since.Equal(t0) {
		t.Errorf("member read back: %+v", first)
	}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		ms, err := tx.Memberships(ctx(t), "smk-1")
		if err == nil && (len(ms) != 1 || ms[0].IncidentID != inc.ID) {
			err = fmt.Errorf("Memberships(smk-1) = %+v, want only the open incident's", ms)
		}
		return err
	}))
	open2, err := s.OpenMemberships(ctx(t))
	must(t, err)
	var devs []string
	for _, x := range open2 {
		devs = append(devs, x.DeviceID)
	}
	if !reflect.DeepEqual(devs, []string{"smk-1", "smk-3"}) {
		t.Errorf("OpenMemberships = %v, want smk-1 and smk-3 (smk-2 returned, the closed incident's left out)", devs)
	}
}

func testCheckinActivity(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	rec := func(a alerts.Activity) error {
		return s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.RecordActivity(ctx(t), a) })
	}
	must(t, rec(alerts.Activity{Household: "h1", At: t0.Add(time.Hour + 700*time.Microsecond), DeviceID: "sos-1", How: alerts.HowCheckin}))
	must(t, rec(alerts.Activity{Household: "h1", At: t0, DeviceID: "door-1", How: alerts.HowDoor})) // older: kept out
	wantCode(t, rec(alerts.Activity{Household: "", At: t0}), shouwang.EINVALID)
	wantCode(t, rec(alerts.Activity{Household: "h1"}), shouwang.EINVALID)
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
		a, err := tx.LastActivity(ctx(t), "h1")
		want := alerts.Activity{Household: "h1", At: t0.Add(time.Hour), DeviceID: "sos-1", How: alerts.HowCheckin}
		if err == nil && !reflect.DeepEqual(a, want) {
			err = fmt.Errorf("LastActivity = %+v, want %+v", a, want)
		}
		none, err2 := tx.LastActivity(ctx(t), "h2")
		if err == nil && (err2 != nil || !reflect.DeepEqual(none, alerts.Activity{})) {
			err = fmt.Errorf("LastActivity of a household never seen = %+v, %v", none, err2)
		}
		return err
	}))
}

// CheckinStore is a store of check-in plans and signs of life that also
// runs transactions.
type CheckinStore interface {
	alerts.CheckinStore
	InTx(ctx context.Context, fn func(alerts.Tx) error) error
}

// Checkins runs the contract of check-in plans and signs of life kept
// outside transactions (alerts.CheckinStore).
func Checkins(t *testing.T, open func(*testing.T) CheckinStore) {
	t.Run("Plans", func(t *testing.T) {
		s := open(t)
		fixClock(t, s, t0)
		start, end := alerts.Clock(7*60), alerts.Clock(9*60+30)
		watch := true
		p := alerts.CheckinPlan{Household: "c1\x1fb1\x1f1\x1f301", Watch: &watch, Start: &start, End: &end,
			QuietUntil: t0.Add(72*time.Hour + 300*time.Microsecond), QuietNote: "住院（人民医院）", UpdatedBy: "li"}
		must(t, s.SetCheckinPlan(ctx(t), p))
		must(t, s.SetCheckinPlan(ctx(t), alerts.CheckinPlan{Household: "a-first", Watch: new(false)}))
		got, err := s.CheckinPlans(ctx(t))
		must(t, err)
		p.QuietUntil, p.UpdatedAt = t0.Add(72*time.Hour), t0
		if len(got) != 2 || got[0].Household != "a-first" || !reflect.DeepEqual(got[1], p) {
			t.Fatalf("plans read back:\n%+v\nwant a-first, then\n%+v", got, p)
		}
		// Setting nothing removes the plan.
		must(t, s.SetCheckinPlan(ctx(t), alerts.CheckinPlan{Household: "a-first"}))
		if got, _ := s.CheckinPlans(ctx(t)); len(got) != 1 {
			t.Errorf("an empty plan did not remove the household's: %+v", got)
		}
		for _, bad := range []alerts.CheckinPlan{
			{}, {Household: "h", Start: &start},
			{Household: "h", Start: &end, End: &start},
			{Household: "h", QuietNote: "nul\x00"},
		} {
			wantCode(t, s.SetCheckinPlan(ctx(t), bad), shouwang.EINVALID)
		}
	})
	t.Run("Activities", func(t *testing.T) {
		s := open(t)
		must(t, s.SaveActivities(ctx(t), []alerts.Activity{
			{Household: "h2", At: t0, DeviceID: "motion-2", How: alerts.HowMotion},
			{Household: "h1", At: t0.Add(time.Minute), DeviceID: "door-1", How: alerts.HowDoor},
		}))
		must(t, s.SaveActivities(ctx(t), []alerts.Activity{{Household: "h1", At: t0, DeviceID: "x", How: alerts.HowDoor}}))
		wantCode(t, s.SaveActivities(ctx(t), []alerts.Activity{{Household: "h3"}}), shouwang.EINVALID)
		got, err := s.Activities(ctx(t))
		must(t, err)
		want := []alerts.Activity{
			{Household: "h1", At: t0.Add(time.Minute), DeviceID: "door-1", How: alerts.HowDoor},
			{Household: "h2", At: t0, DeviceID: "motion-2", How: alerts.HowMotion},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Activities = %+v, want %+v", got, want)
		}
		must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
			a, err := tx.LastActivity(ctx(t), "h2")
			if err == nil && a.DeviceID != "motion-2" {
				err = fmt.Errorf("a saved activity is not what a transaction reads: %+v", a)
			}
			return err
		}))
	})
}
