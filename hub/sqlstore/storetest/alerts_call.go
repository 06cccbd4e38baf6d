package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// callStep applies one step of a voice call through the alert Service, as
// the hub does.
func callStep(t *testing.T, s AlertStore, svc *alerts.Service, d *alerts.Alert, u alerts.CallUpdate) alerts.Result {
	t.Helper()
	var res alerts.Result
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		var err error
		res, err = svc.CallEvent(ctx(t), tx, &d.Device, u)
		return err
	})
	if err != nil {
		t.Fatalf("CallEvent %s: %v", u.State, err)
	}
	return res
}

// checkCall reads alert id through every path that reads alerts and wants
// the same call from each.
func checkCall(t *testing.T, s AlertStore, id int64, deviceID string, want *alerts.CallRef) {
	t.Helper()
	got := map[string]*alerts.CallRef{}
	one := func(path string, list []*alerts.Alert) {
		for _, a := range list {
			if a.ID == id {
				got[path] = a.Call
				return
			}
		}
		t.Errorf("%s: alert %d not read", path, id)
	}
	a, err := s.FindAlert(ctx(t), id)
	must(t, err)
	got["Store.FindAlert"] = a.Call
	list, _, err := s.ListAlerts(ctx(t), alerts.Filter{DeviceID: deviceID})
	must(t, err)
	one("ListAlerts", list)
	list, err = s.OpenAlertsAll(ctx(t))
	must(t, err)
	one("OpenAlertsAll", list)
	list, err = s.UnclearedLatest(ctx(t), alerts.KindSOS)
	must(t, err)
	one("UnclearedLatest", list)
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		a, err := tx.FindAlert(ctx(t), id)
		if err != nil {
			return err
		}
		got["Tx.FindAlert"] = a.Call
		list, err := tx.OpenAlerts(ctx(t), deviceID)
		if err != nil {
			return err
		}
		one("Tx.OpenAlerts", list)
		a, err = tx.LatestAlert(ctx(t), deviceID, alerts.KindSOS)
		if err != nil {
			return err
		}
		got["Tx.LatestAlert"] = a.Call
		return nil
	})
	must(t, err)
	changes, _, err := s.ChangesSince(ctx(t), 0, MaxListLimit)
	must(t, err)
	var last *alerts.Alert
	for _, c := range changes {
		if c.Alert.ID == id {
			last = c.Alert
		}
	}
	if last == nil {
		t.Fatalf("no change of alert %d on the feed", id)
	}
	got["ChangesSince"] = last.Call
	for path, c := range got {
		if !reflect.DeepEqual(c, want) {
			t.Errorf("%s: call = %+v, want %+v", path, c, want)
		}
	}
}

// TestAlertCallReadPaths: a call written by the Service, with times finer
// than a millisecond and not in UTC, reads back the same, to the
// millisecond in UTC, through every read path and the change feed, at each
// step; an alert without a call reads back without one.
func testAlertCallReadPaths(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	svc, err := alerts.NewService(alerts.Config{})
	must(t, err)
	dev := newAlert("sos-9", "Sunflower", alerts.KindSOS, alerts.SeverityCritical, t0)
	cst := time.FixedZone("CST", 8*3600)
	start := t0.Add(1234567 * time.Microsecond).In(cst)
	ms := func(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

	res := callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallRinging, At: start})
	if len(res.Changed) != 1 {
		t.Fatalf("ringing changed %d alerts, want 1", len(res.Changed))
	}
	id := res.Changed[0].ID
	want := &alerts.CallRef{ID: "c-1", State: alerts.CallRinging, StartedAt: ms(start)}
	checkCall(t, s, id, dev.DeviceID, want)

	answered := start.Add(9 * time.Second)
	callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: answered, By: "wang"})
	want = &alerts.CallRef{ID: "c-1", State: alerts.CallAnswered, StartedAt: ms(start), AnsweredAt: ms(answered), AnsweredBy: "wang"}
	checkCall(t, s, id, dev.DeviceID, want)

	ended := answered.Add(61 * time.Second)
	callStep(t, s, svc, dev, alerts.CallUpdate{ID: "c-1", State: alerts.CallEnded, At: ended, EndReason: "hangup",
		Recordings: map[string]string{"device": "device.ogg", "console": "console.ogg"}})
	want = &alerts.CallRef{ID: "c-1", State: alerts.CallEnded, StartedAt: ms(start), AnsweredAt: ms(answered), AnsweredBy: "wang",
		EndedAt: ms(ended), EndReason: "hangup"}
	checkCall(t, s, id, dev.DeviceID, want)

	a, err := s.FindAlert(ctx(t), id)
	must(t, err)
	if a.Version != 3 || a.State != alerts.StateAccepted || a.Assignee != "wang" {
		t.Errorf("after the call: version %d state %s assignee %q; want 3, accepted, wang", a.Version, a.State, a.Assignee)
	}
	var endEntry *alerts.TimelineEntry
	for i := range a.Timeline {
		if a.Timeline[i].Action == alerts.TimelineCallEnded {
			endEntry = &a.Timeline[i]
		}
	}
	if endEntry == nil || endEntry.Data["duration"] != "61" || endEntry.Data["recording_device"] != "device.ogg" || endEntry.Data["recording_console"] != "console.ogg" {
		t.Errorf("call_ended entry = %+v", endEntry)
	}

	plain := newAlert("sos-10", "Sunflower", alerts.KindSOS, alerts.SeverityCritical, t0)
	createAlerts(t, s, plain)
	checkCall(t, s, plain.ID, plain.DeviceID, nil)
}
