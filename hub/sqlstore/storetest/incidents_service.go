package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// testIncidentsThroughService runs the incident rules on the store: five
// smoke alarms of one building become one incident linking them, accepted
// once; six devices of another building going offline together become one
// outage, cleared as they return; a household without a sign of life gets
// a no_activity alert, and its check-in press clears it.
func testIncidentsThroughService(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	svc, err := alerts.NewService(alerts.Config{})
	must(t, err)
	dev := func(id string, kind devices.Kind, building string, n int) *devices.Device {
		d := device(id, "c1", "g1", building)
		d.Kind, d.Location.Household, d.Location.Floor = kind, fmt.Sprintf("%s-%d", building, n), fmt.Sprint(n)
		return d
	}
	var results []alerts.Result
	inTx := func(fn func(tx alerts.Tx) (alerts.Result, error)) {
		t.Helper()
		must(t, s.InTx(ctx(t), func(tx alerts.Tx) error {
			r, err := fn(tx)
			results = append(results, r)
			return err
		}))
	}
	for i := range 5 {
		d := dev(fmt.Sprintf("smk-%d", i), devices.KindSmoke, "b7", i+1)
		m := &devices.Message{DeviceID: d.ID, Kind: d.Kind, Channel: devices.ChannelEvent, Seq: 1,
			TS: t0.Add(time.Duration(i) * 20 * time.Second), Received: t0.Add(time.Duration(i) * 20 * time.Second),
			Event: &devices.Event{Type: devices.EventSmoke}}
		inTx(func(tx alerts.Tx) (alerts.Result, error) { return svc.HandleMessage(ctx(t), tx, d, m) })
	}
	list, _, err := s.ListAlerts(ctx(t), alerts.Filter{Kind: alerts.KindBuildingAlarm})
	must(t, err)
	if len(list) != 1 || list[0].Incident.Alerts != 5 || list[0].Incident.Devices != 5 {
		t.Fatalf("building alarms: %+v", list)
	}
	inc := list[0]
	inTx(func(tx alerts.Tx) (alerts.Result, error) {
		return svc.TransitionAll(ctx(t), tx, alerts.TransitionRequest{AlertID: inc.ID, Action: alerts.ActionAccept,
			Actor: alerts.Actor{Name: "wang", Role: "operator"}}, t0.Add(2*time.Minute))
	})
	if r := results[len(results)-1]; len(r.Changed) != 6 || len(r.Acks) != 5 {
		t.Errorf("accepting the incident changed %d alerts and told %d devices; want 6 and 5", len(r.Changed), len(r.Acks))
	}
	smokes, _, err := s.ListAlerts(ctx(t), alerts.Filter{Kind: alerts.KindSmoke})
	must(t, err)
	for _, a := range smokes {
		if a.State != alerts.StateAccepted || a.IncidentID != inc.ID {
			t.Errorf("alert %d: %s, incident %d", a.ID, a.State, a.IncidentID)
		}
	}

	var g alerts.OfflineGroup
	g.Scope = alerts.BuildingScope(devices.Location{Community: "c1", Building: "b8"})
	for i := range 6 {
		d := dev(fmt.Sprintf("out-%d", i), devices.KindSmoke, "b8", i+1)
		g.Members = append(g.Members, alerts.OfflineMember{Device: d, Since: t0, Will: true, Due: i == 0})
	}
	inTx(func(tx alerts.Tx) (alerts.Result, error) {
		r, err := svc.Offline(ctx(t), tx, g, t0.Add(2*time.Minute))
		if err == nil && len(r.Taken) != 6 {
			err = fmt.Errorf("taken %v, want all six", r.Taken)
		}
		return alerts.Result{Changed: r.Changed}, err
	})
	for _, m := range g.Members {
		inTx(func(tx alerts.Tx) (alerts.Result, error) {
			changed, err := svc.DeviceReturned(ctx(t), tx, m.Device, t0.Add(5*time.Minute))
			return alerts.Result{Changed: changed}, err
		})
	}
	outages, _, err := s.ListAlerts(ctx(t), alerts.Filter{Kind: alerts.KindOutage})
	must(t, err)
	if len(outages) != 1 || !outages[0].Cleared || outages[0].Incident.Returned != 6 {
		t.Fatalf("outages: %+v", outages)
	}
	if offline, _, _ := s.ListAlerts(ctx(t), alerts.Filter{Kind: alerts.KindOffline}); len(offline) != 0 {
		t.Errorf("%d offline alerts beside the outage", len(offline))
	}

	alone := dev("sos-9", devices.KindSOSButton, "b9", 1)
	od := alerts.Overdue{Household: alone.Location.HouseholdKey(), WindowStart: t0.Add(-2 * time.Hour), WindowEnd: t0}
	inTx(func(tx alerts.Tx) (alerts.Result, error) {
		a, err := svc.NoActivity(ctx(t), tx, alone, od, t0)
		if err == nil && a == nil {
			err = fmt.Errorf("no no_activity alert")
		}
		return alerts.Result{}, err
	})
	inTx(func(tx alerts.Tx) (alerts.Result, error) { // judged again (a restart): nothing new
		a, err := svc.NoActivity(ctx(t), tx, alone, od, t0.Add(time.Minute))
		if err == nil && a != nil {
			err = fmt.Errorf("a second no_activity alert for one window: %+v", a)
		}
		return alerts.Result{}, err
	})
	press := &devices.Message{DeviceID: alone.ID, Kind: alone.Kind, Channel: devices.ChannelEvent, Seq: 1,
		TS: t0.Add(time.Hour), Received: t0.Add(time.Hour), Event: &devices.Event{Type: devices.EventCheckin}}
	inTx(func(tx alerts.Tx) (alerts.Result, error) { return svc.HandleMessage(ctx(t), tx, alone, press) })
	if r := results[len(results)-1]; len(r.Acks) != 1 || len(r.Activity) != 1 || len(r.Changed) != 1 || !r.Changed[0].Cleared {
		t.Errorf("check-in press: %+v", r)
	}
}
