package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The closed loop's contract: an alert's task, follow-up and review read
// back as written (times to the millisecond) by every path; a grid
// worker's scope and the pending follow-ups filter listings; a period's
// alerts are all there; photos are kept with their alert.

// loopAlert returns an alert of device id in a community and grid, walked
// to resolved by a grid worker with a follow-up due.
func loopAlert(id, community, grid string, opened time.Time) *alerts.Alert {
	a := newAlert(id, community, alerts.KindSOS, alerts.SeverityCritical, opened)
	a.Device.Location.Grid = grid
	return a
}

func testAlertLoopRoundTrip(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a := loopAlert("sos-1", "阳光社区", "网格一", t0)
	createAlerts(t, s, a)
	a.State, a.Outcome = alerts.StateClosed, alerts.OutcomeGenuine
	a.AcceptedAt, a.DispatchedAt, a.ResolvedAt, a.ClosedAt = t0.Add(20*time.Second), t0.Add(30*time.Second), t0.Add(20*time.Minute), t0.Add(6*time.Hour)
	a.Task = &alerts.Task{Worker: "zhang", State: alerts.TaskHandled, SentAt: t0.Add(30*time.Second + 123456*time.Nanosecond),
		TakenAt: t0.Add(time.Minute), ArrivedAt: t0.Add(9 * time.Minute), HandledAt: t0.Add(20 * time.Minute), Workers: []string{"wang", "zhang"}}
	a.FollowUp = &alerts.FollowUp{Due: t0.Add(24 * time.Hour), DoneAt: t0.Add(5 * time.Hour), By: "zhang",
		FollowUpReport: alerts.FollowUpReport{Method: alerts.FollowUpVisit, Result: alerts.ResultResidentOK, Evaluation: alerts.EvalSatisfied}}
	a.Review = &alerts.Review{By: "chen", At: t0.Add(6 * time.Hour), Rating: 5, Comment: "处置及时"}
	a.Version++
	a.UpdatedAt = a.ClosedAt
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), a) }))

	want := *a.Task
	want.SentAt = want.SentAt.Truncate(time.Millisecond)
	got, err := s.FindAlert(ctx(t), a.ID)
	must(t, err)
	if !reflect.DeepEqual(got.Task, &want) || !reflect.DeepEqual(got.FollowUp, a.FollowUp) || !reflect.DeepEqual(got.Review, a.Review) {
		t.Errorf("FindAlert: task %+v, follow-up %+v, review %+v;\nwant %+v, %+v, %+v", got.Task, got.FollowUp, got.Review, &want, a.FollowUp, a.Review)
	}
	list, _, err := s.ListAlerts(ctx(t), alerts.Filter{})
	must(t, err)
	if len(list) != 1 || !reflect.DeepEqual(list[0].Task, &want) || !list[0].FollowUp.OnTime() || list[0].Review.Rating != 5 {
		t.Errorf("ListAlerts: %+v", list)
	}
	changes, _, err := s.ChangesSince(ctx(t), 0, 10)
	must(t, err)
	if last := changes[len(changes)-1].Alert; last.Task == nil || last.Task.Worker != "zhang" || last.Review == nil {
		t.Errorf("the change feed's alert: task %+v review %+v", last.Task, last.Review)
	}
	// Cleared again: the columns go back to nothing.
	a.Task, a.FollowUp, a.Review = nil, nil, nil
	a.Version++
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), a) }))
	if got, _ := s.FindAlert(ctx(t), a.ID); got.Task != nil || got.FollowUp != nil || got.Review != nil {
		t.Errorf("after clearing: %+v %+v %+v", got.Task, got.FollowUp, got.Review)
	}
}

func testListAlertsScope(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	mine := loopAlert("sos-1", "阳光社区", "网格一", t0)                      // my grid
	sameName := loopAlert("sos-2", "月季社区", "网格一", t0.Add(time.Second)) // a grid of the same name elsewhere
	sent := loopAlert("sos-3", "月季社区", "网格二", t0.Add(2*time.Second))   // sent to me once, then to another
	other := loopAlert("sos-4", "月季社区", "网格二", t0.Add(3*time.Second))
	createAlerts(t, s, mine, sameName, sent, other)
	for i, w := range []string{"zhang", "wang"} {
		sent.Task = &alerts.Task{Worker: w, State: alerts.TaskSent, SentAt: t0, Workers: []string{"zhang", "wang"}[:i+1]}
		sent.Version++
		must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), sent) }))
	}
	sc := &alerts.Scope{User: "zhang", Grids: []devices.GridRef{{Community: "阳光社区", Grid: "网格一"}}}
	list, total, err := s.ListAlerts(ctx(t), alerts.Filter{Scope: sc})
	must(t, err)
	if total != 2 || idList(list) != idList([]*alerts.Alert{mine, sent}) {
		t.Errorf("zhang's scope lists %s (total %d); want %s", idList(list), total, idList([]*alerts.Alert{mine, sent}))
	}
	if list, _, _ := s.ListAlerts(ctx(t), alerts.Filter{Scope: &alerts.Scope{User: "nobody"}}); len(list) != 0 {
		t.Errorf("an empty scope lists %s", idList(list))
	}
	if list, _, _ := s.ListAlerts(ctx(t), alerts.Filter{Scope: &alerts.Scope{User: "wang"}}); idList(list) != idList([]*alerts.Alert{sent}) {
		t.Errorf("wang's tasks: %s", idList(list))
	}
	// Follow-ups pending: due and not done.
	for i, a := range []*alerts.Alert{mine, sameName, other} {
		a.State, a.Outcome, a.ResolvedAt = alerts.StateResolved, alerts.OutcomeGenuine, t0.Add(time.Minute)
		a.FollowUp = &alerts.FollowUp{Due: t0.Add(24 * time.Hour)}
		if i == 1 {
			a.FollowUp.DoneAt, a.FollowUp.By = t0.Add(time.Hour), "li"
		}
		a.Version++
		must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.UpdateAlert(ctx(t), a) }))
	}
	pending, _, err := s.ListAlerts(ctx(t), alerts.Filter{FollowUpPending: true})
	must(t, err)
	if idList(pending) != idList([]*alerts.Alert{mine, other}) {
		t.Errorf("pending follow-ups %s; want %s", idList(pending), idList([]*alerts.Alert{mine, other}))
	}
	if both, _, _ := s.ListAlerts(ctx(t), alerts.Filter{FollowUpPending: true, Scope: sc}); idList(both) != idList([]*alerts.Alert{mine}) {
		t.Errorf("zhang's pending follow-ups %s", idList(both))
	}
}

func testPeriodAlerts(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	var in []*alerts.Alert
	for i := range 7 {
		a := loopAlert("sos-1", "c1", "g1", t0.Add(time.Duration(i)*time.Hour))
		a.Test = i == 3
		createAlerts(t, s, a)
		if i >= 1 && i <= 5 && !a.Test {
			in = append(in, a)
		}
	}
	got, err := s.PeriodAlerts(ctx(t), t0.Add(time.Hour), t0.Add(6*time.Hour))
	must(t, err)
	if idList(got) != idList(in) {
		t.Errorf("PeriodAlerts = %s; want %s (tests and the period's end left out)", idList(got), idList(in))
	}
	if len(got) > 0 && got[0].Timeline != nil {
		t.Error("PeriodAlerts returned timelines")
	}
}

func testPhotos(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	a := loopAlert("sos-1", "c1", "g1", t0)
	b := loopAlert("sos-2", "c1", "g1", t0)
	createAlerts(t, s, a, b)
	p := &alerts.Photo{AlertID: a.ID, At: t0.Add(90*time.Second + 999*time.Microsecond), By: "zhang", ContentType: "image/jpeg",
		Size: 123456, SHA256: "5e88", File: "5e88.jpg"}
	must(t, s.InTx(ctx(t), func(tx alerts.Tx) error { return tx.AddPhoto(ctx(t), p) }))
	if p.ID == 0 {
		t.Fatal("AddPhoto set no ID")
	}
	got, err := s.FindPhoto(ctx(t), a.ID, p.ID)
	must(t, err)
	want := *p
	want.At = t0.Add(90 * time.Second)
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("FindPhoto = %+v, want %+v", got, &want)
	}
	_, err = s.FindPhoto(ctx(t), b.ID, p.ID)
	wantCode(t, err, shouwang.ENOTFOUND)
	err = s.InTx(ctx(t), func(tx alerts.Tx) error {
		return tx.AddPhoto(ctx(t), &alerts.Photo{AlertID: 999, At: t0, ContentType: "image/png"})
	})
	wantCode(t, err, shouwang.ENOTFOUND)
}

// idList writes the alerts' IDs for comparing and messages.
func idList(list []*alerts.Alert) string { return fmt.Sprint(alertIDs(list)) }
