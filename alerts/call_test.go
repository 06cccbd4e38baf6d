package alerts_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func (e *env) call(d *devices.Device, u alerts.CallUpdate) (alerts.Result, error) {
	var res alerts.Result
	err := e.store.InTx(context.Background(), func(tx alerts.Tx) error {
		var err error
		res, err = e.svc.CallEvent(context.Background(), tx, d, u)
		return err
	})
	return res, err
}

// TestCallResult: each step writes the alert once (a new alert is created
// with its call, version 1; every later step adds one version) and returns
// it as it now stands.
func TestCallResult(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	d := device("sos-1", devices.KindSOSButton, true)
	steps := []struct {
		u       alerts.CallUpdate
		version int64
		acks    int
		want    alerts.CallRef
	}{
		{alerts.CallUpdate{ID: "c-1", State: alerts.CallRinging, At: at(0)}, 1, 0,
			alerts.CallRef{ID: "c-1", State: alerts.CallRinging, StartedAt: at(0)}},
		{alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: at(5 * time.Second), By: "wang"}, 2, 1,
			alerts.CallRef{ID: "c-1", State: alerts.CallAnswered, StartedAt: at(0), AnsweredAt: at(5 * time.Second), AnsweredBy: "wang"}},
		{alerts.CallUpdate{ID: "c-1", State: alerts.CallEnded, At: at(65 * time.Second), EndReason: "hangup"}, 3, 0,
			alerts.CallRef{ID: "c-1", State: alerts.CallEnded, StartedAt: at(0), AnsweredAt: at(5 * time.Second), AnsweredBy: "wang",
				EndedAt: at(65 * time.Second), EndReason: "hangup"}},
	}
	for _, s := range steps {
		res, err := e.call(d, s.u)
		if err != nil {
			t.Fatalf("%s: %v", s.u.State, err)
		}
		if len(res.Changed) != 1 || len(res.Acks) != s.acks {
			t.Fatalf("%s: %d changed, %d acks; want 1 and %d", s.u.State, len(res.Changed), len(res.Acks), s.acks)
		}
		a := res.Changed[0]
		if a.Version != s.version || a.Call == nil || *a.Call != s.want {
			t.Errorf("%s: version %d call %+v; want version %d call %+v", s.u.State, a.Version, a.Call, s.version, s.want)
		}
		if stored := e.alert(a.ID); stored.Call == nil || *stored.Call != s.want || stored.Version != s.version {
			t.Errorf("%s: stored version %d call %+v", s.u.State, stored.Version, stored.Call)
		}
	}
	a := e.alert(1)
	if a.Kind != alerts.KindSOS || a.Severity != alerts.SeverityCritical || a.Priority != 0 || a.Device.Resident.Name != d.Resident.Name {
		t.Errorf("alert opened by a call: %+v", a)
	}
	if a.State != alerts.StateAccepted || a.Assignee != "wang" || !a.AcceptedAt.Equal(at(5*time.Second)) {
		t.Errorf("answering did not accept: state %s assignee %q accepted at %v", a.State, a.Assignee, a.AcceptedAt)
	}
	if a.Timeline[0].Action != alerts.TimelineOpened || a.Timeline[0].Data["call"] != "c-1" || a.Timeline[0].Data["via"] != "call" {
		t.Errorf("opened entry = %+v", a.Timeline[0])
	}
	if n := len(e.store.Timers()); n != 0 {
		t.Errorf("%d timers left after the call was answered; want none", n)
	}
}

// TestCallRefJSON: the alert carries its call as the console reads it, and
// leaves it out when there is none.
func TestCallRefJSON(t *testing.T) {
	a := alerts.Alert{ID: 1, Call: &alerts.CallRef{ID: "c1", State: alerts.CallAnswered, StartedAt: at(0),
		AnsweredAt: at(time.Second), AnsweredBy: "wang"}}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `"call":{"id":"c1","state":"answered","started_at":"2026-03-01T08:00:00Z","answered_at":"2026-03-01T08:00:01Z","answered_by":"wang"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("JSON %s\ndoes not contain %s", b, want)
	}
	b, err = json.Marshal(alerts.Alert{ID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"call"`) {
		t.Errorf("an alert without a call has a call in JSON: %s", b)
	}
}

// TestCallUpdateInvalid: a malformed update is EINVALID and writes
// nothing.
func TestCallUpdateInvalid(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	d := device("sos-1", devices.KindSOSButton, false)
	ok := alerts.CallUpdate{ID: "c1", State: alerts.CallRinging, At: at(0)}
	cases := []struct {
		name string
		edit func(*alerts.CallUpdate)
		want string
	}{
		{"no id", func(u *alerts.CallUpdate) { u.ID = "" }, "call id"},
		{"id with a slash", func(u *alerts.CallUpdate) { u.ID = "a/b" }, "call id"},
		{"id too long", func(u *alerts.CallUpdate) { u.ID = strings.Repeat("a", 65) }, "call id"},
		{"unknown state", func(u *alerts.CallUpdate) { u.State = "held" }, "state"},
		{"no time", func(u *alerts.CallUpdate) { u.At = time.Time{} }, "at"},
		{"answered by nobody", func(u *alerts.CallUpdate) { u.State, u.By = alerts.CallAnswered, " " }, "by"},
		{"unknown recording side", func(u *alerts.CallUpdate) {
			u.State, u.Recordings = alerts.CallEnded, map[string]string{"mixed": "x.ogg"}
		}, "recording side"},
		{"reason too long", func(u *alerts.CallUpdate) { u.State, u.EndReason = alerts.CallEnded, strings.Repeat("x", 65) }, "end_reason"},
	}
	for _, c := range cases {
		u := ok
		c.edit(&u)
		_, err := e.call(d, u)
		if errCode(err) != shouwang.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v; want EINVALID naming %s", c.name, err, c.want)
		}
	}
	if _, err := e.call(nil, ok); errCode(err) != shouwang.EINVALID {
		t.Errorf("no device: err = %v; want EINVALID", err)
	}
	if n := len(e.store.Alerts()); n != 0 {
		t.Errorf("invalid updates stored %d alerts", n)
	}
}

// callSteps returns a function applying one step of d's call, which must
// succeed.
func (e *env) callSteps(d *devices.Device) func(u alerts.CallUpdate) alerts.Result {
	return func(u alerts.CallUpdate) alerts.Result {
		e.t.Helper()
		res, err := e.call(d, u)
		if err != nil {
			e.t.Fatalf("%s: %v", u.State, err)
		}
		return res
	}
}

// TestCallReleased: an answer whose audio never connected puts the call back
// to ringing — answered_at and answered_by cleared, call_released on the
// timeline with whose answer and why — and another operator answers it; a
// release of a call that is not answered changes nothing.
func TestCallReleased(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	step := e.callSteps(device("sos-1", devices.KindSOSButton, true))
	step(alerts.CallUpdate{ID: "c-1", State: alerts.CallRinging, At: at(0)})
	if res := step(alerts.CallUpdate{ID: "c-1", State: alerts.CallReleased, At: at(time.Second), By: "wang", EndReason: "media_failed"}); len(res.Changed) != 0 {
		t.Errorf("releasing a ringing call changed %d alerts", len(res.Changed))
	}
	step(alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: at(5 * time.Second), By: "wang"})
	res := step(alerts.CallUpdate{ID: "c-1", State: alerts.CallReleased, At: at(15 * time.Second), By: "wang", EndReason: "media_failed"})
	if len(res.Changed) != 1 {
		t.Fatalf("the release changed %d alerts", len(res.Changed))
	}
	a := e.alert(res.Changed[0].ID)
	if want := (alerts.CallRef{ID: "c-1", State: alerts.CallRinging, StartedAt: at(0)}); a.Call == nil || *a.Call != want {
		t.Errorf("the released call: %+v, want %+v", a.Call, want)
	}
	// The answer had accepted the alert; the release undoes that, and the
	// escalation runs again from the alert's opening.
	if a.State != alerts.StateNew || a.Assignee != "" || !a.AcceptedAt.IsZero() {
		t.Errorf("the alert after the release: %s, assignee %q, accepted at %v; want new and unaccepted", a.State, a.Assignee, a.AcceptedAt)
	}
	if n := len(a.Timeline); n == 0 || a.Timeline[n-1].Action != alerts.TimelineUnaccepted ||
		a.Timeline[n-1].Data["by"] != "wang" || a.Timeline[n-1].Data["call"] != "c-1" {
		t.Errorf("the timeline's last entries: %v; want unaccepted by wang after call_released", actions(a))
	}
	esc := e.svc.Rules().Escalation[alerts.SeverityCritical]
	want := []alerts.Timer{{AlertID: a.ID, Kind: alerts.TimerEscalate1, Due: a.OpenedAt.Add(esc.T1.D())},
		{AlertID: a.ID, Kind: alerts.TimerEscalate2, Due: a.OpenedAt.Add(esc.T2.D())}}
	if got := e.store.Timers(); !slices.Equal(got, want) {
		t.Errorf("timers after the release: %+v, want the escalation as for a new alert %+v", got, want)
	}
	if e.fireDue(a.OpenedAt.Add(esc.T1.D())) != 1 || e.alert(a.ID).EscalationLevel != 1 {
		t.Errorf("the released alert did not escalate at T1")
	}
	var rel *alerts.TimelineEntry
	for i := range a.Timeline {
		if a.Timeline[i].Action == alerts.TimelineCallReleased {
			rel = &a.Timeline[i]
		}
	}
	if rel == nil || rel.Data["call"] != "c-1" || rel.Data["by"] != "wang" || rel.Data["reason"] != "media_failed" {
		t.Errorf("call_released on the timeline: %+v", rel)
	}
	res = step(alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: at(20 * time.Second), By: "li"})
	if len(res.Changed) != 1 || res.Changed[0].Call.State != alerts.CallAnswered || res.Changed[0].Call.AnsweredBy != "li" ||
		res.Changed[0].State != alerts.StateAccepted || res.Changed[0].Assignee != "li" {
		t.Errorf("the second answer: %+v", res.Changed)
	}
	if got := e.store.Timers(); len(got) != 0 {
		t.Errorf("timers after the second answer accepted it: %+v", got)
	}
}

// TestCallReleasedKeepsAnAcceptanceByHand: an alert an operator accepted
// by hand before answering its call stays accepted when the answer is
// released — the acceptance did not come from the answer — and no
// escalation timer comes back.
func TestCallReleasedKeepsAnAcceptanceByHand(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	step := e.callSteps(device("sos-1", devices.KindSOSButton, true))
	res := step(alerts.CallUpdate{ID: "c-1", State: alerts.CallRinging, At: at(0)})
	id := res.Changed[0].ID
	e.mustTransition(id, alerts.ActionAccept, at(2*time.Second), func(r *alerts.TransitionRequest) { r.Actor.Name = "wang" })
	step(alerts.CallUpdate{ID: "c-1", State: alerts.CallAnswered, At: at(5 * time.Second), By: "wang"})
	step(alerts.CallUpdate{ID: "c-1", State: alerts.CallReleased, At: at(15 * time.Second), By: "wang", EndReason: "media_timeout"})
	a := e.alert(id)
	if a.State != alerts.StateAccepted || a.Assignee != "wang" || !a.AcceptedAt.Equal(at(2*time.Second)) {
		t.Errorf("after the release: %s by %q at %v; want accepted by wang as before the call", a.State, a.Assignee, a.AcceptedAt)
	}
	if slices.Contains(actions(a), alerts.TimelineUnaccepted) {
		t.Errorf("timeline %v: an acceptance by hand was undone", actions(a))
	}
	if got := e.store.Timers(); len(got) != 0 {
		t.Errorf("timers after the release: %+v", got)
	}
}
