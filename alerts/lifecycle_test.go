package alerts_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// alertIn opens a press alert and walks it to state st.
func alertIn(t *testing.T, e *env, st alerts.State) int64 {
	t.Helper()
	d := device("sos-1", devices.KindSOSButton, false)
	res := e.handle(d, eventMsg(d, 1, devices.EventSOS, at(0)))
	id := res.Changed[0].ID
	path := map[alerts.State][]alerts.Action{
		alerts.StateNew:        nil,
		alerts.StateAccepted:   {alerts.ActionAccept},
		alerts.StateDispatched: {alerts.ActionAccept, alerts.ActionDispatch},
		alerts.StateResolved:   {alerts.ActionAccept, alerts.ActionResolve},
		alerts.StateClosed:     {alerts.ActionAccept, alerts.ActionDispatch, alerts.ActionResolve, alerts.ActionClose},
	}[st]
	for i, act := range path {
		e.mustTransition(id, act, at(time.Duration(i+1)*time.Second))
	}
	if got := e.alert(id).State; got != st {
		t.Fatalf("set-up: alert is %s, want %s", got, st)
	}
	return id
}

// TestLifeCycle tries every action in every state, as a supervisor with a
// complete request, so only the state decides.
func TestLifeCycle(t *testing.T) {
	states := []alerts.State{alerts.StateNew, alerts.StateAccepted, alerts.StateDispatched, alerts.StateResolved, alerts.StateClosed}
	// want[state][action] is the resulting state, or the error message.
	want := map[alerts.State]map[alerts.Action]string{
		alerts.StateNew: {
			alerts.ActionAccept:   "accepted",
			alerts.ActionDispatch: "alert 1 is new; it cannot be dispatched (accept it first)",
			alerts.ActionResolve:  "alert 1 is new; it cannot be resolved (accept it first)",
			alerts.ActionClose:    "alert 1 is new; it cannot be closed (only a resolved alert is closed)",
			alerts.ActionFollowUp: "alert 1 is new; it cannot be followed up",
			alerts.ActionNote:     "new",
		},
		alerts.StateAccepted: {
			alerts.ActionAccept:   "alert 1 was already accepted by li",
			alerts.ActionDispatch: "dispatched",
			alerts.ActionResolve:  "resolved",
			alerts.ActionClose:    "alert 1 is accepted; it cannot be closed (only a resolved alert is closed)",
			alerts.ActionFollowUp: "alert 1 is accepted; it cannot be followed up",
			alerts.ActionNote:     "accepted",
		},
		alerts.StateDispatched: {
			alerts.ActionAccept:   "alert 1 was already accepted by li",
			alerts.ActionDispatch: "dispatched",
			alerts.ActionResolve:  "resolved",
			alerts.ActionClose:    "alert 1 is dispatched; it cannot be closed (only a resolved alert is closed)",
			alerts.ActionFollowUp: "alert 1 is dispatched; it cannot be followed up",
			alerts.ActionNote:     "dispatched",
		},
		alerts.StateResolved: {
			alerts.ActionAccept:   "alert 1 is resolved; it cannot be accepted",
			alerts.ActionDispatch: "alert 1 is resolved; it cannot be dispatched",
			alerts.ActionResolve:  "alert 1 is resolved; it cannot be resolved",
			alerts.ActionClose:    "closed",
			alerts.ActionFollowUp: "resolved",
			alerts.ActionNote:     "resolved",
		},
		alerts.StateClosed: {
			alerts.ActionAccept:   "alert 1 is closed; it cannot be accepted",
			alerts.ActionDispatch: "alert 1 is closed; it cannot be dispatched",
			alerts.ActionResolve:  "alert 1 is closed; it cannot be resolved",
			alerts.ActionClose:    "alert 1 is closed; it cannot be closed",
			alerts.ActionFollowUp: "closed",
			alerts.ActionNote:     "closed",
		},
	}
	for _, st := range states {
		for _, act := range alerts.Actions {
			if !alerts.Permitted("supervisor", act) {
				continue // a grid worker's own steps: TestGridWorkerTask
			}
			t.Run(string(st)+"/"+string(act), func(t *testing.T) {
				e := newEnv(t, alerts.Config{})
				id := alertIn(t, e, st)
				before := e.alert(id)
				seq, _ := e.store.LastChangeSeq(context.Background())
				now := at(time.Hour)
				req := alerts.TransitionRequest{AlertID: id, Action: act, Actor: alerts.Actor{Name: "chen", Role: "supervisor"},
					Note: "a note", DispatchTo: "120", Outcome: alerts.OutcomeFalseAlarm,
					FollowUp: &alerts.FollowUpReport{Method: alerts.FollowUpCall, Result: alerts.ResultResidentOK, Evaluation: alerts.EvalSatisfied}}
				a, acks, err := e.transition(req, now)
				w := want[st][act]
				if !strings.Contains(w, " ") { // a state: legal
					if err != nil {
						t.Fatalf("error %v, want state %s", err, w)
					}
					checkApplied(t, e, before, a, req, alerts.State(w), now)
					if act == alerts.ActionAccept {
						if len(acks) != 1 || string(acks[0].Payload) != `{"type":"accepted","alert":1,"by":"chen"}` || acks[0].DeviceID != "sos-1" {
							t.Errorf("acks = %+v, want the accepted message to sos-1", acks)
						}
					} else if len(acks) != 0 {
						t.Errorf("acks = %+v, want none", acks)
					}
					return
				}
				if errCode(err) != shouwang.ECONFLICT || shouwang.ErrorMessage(err) != w {
					t.Fatalf("error %v, want conflict: %s", err, w)
				}
				if a != nil || acks != nil {
					t.Errorf("a failed transition returned %v, %v", a, acks)
				}
				if after, _ := e.store.LastChangeSeq(context.Background()); after != seq {
					t.Errorf("a failed transition changed the feed: seq %d → %d", seq, after)
				}
				if got := e.alert(id); !reflect.DeepEqual(got, before) {
					t.Errorf("a failed transition changed the alert:\n%+v\nwas\n%+v", got, before)
				}
			})
		}
	}
}

// checkApplied checks what every successful transition does.
func checkApplied(t *testing.T, e *env, before, got *alerts.Alert, req alerts.TransitionRequest, want alerts.State, now time.Time) {
	t.Helper()
	stored := e.alert(before.ID)
	if got.State != want || stored.State != want {
		t.Errorf("state %s (stored %s), want %s", got.State, stored.State, want)
	}
	if got.Version != before.Version+1 || stored.Version != got.Version {
		t.Errorf("version %d (stored %d), want %d", got.Version, stored.Version, before.Version+1)
	}
	if !got.UpdatedAt.Equal(now) {
		t.Errorf("UpdatedAt %v, want %v", got.UpdatedAt, now)
	}
	if !reflect.DeepEqual(actions(got), actions(stored)) {
		t.Errorf("returned timeline %v, stored %v", actions(got), actions(stored))
	}
	var last alerts.TimelineEntry
	for _, en := range stored.Timeline[len(before.Timeline):] {
		if en.Actor == req.Actor {
			last = en
		}
	}
	if wantAction := map[alerts.Action]string{alerts.ActionAccept: "accepted", alerts.ActionDispatch: "dispatched",
		alerts.ActionResolve: "resolved", alerts.ActionClose: "closed", alerts.ActionNote: "note",
		alerts.ActionFollowUp: "followed_up"}[req.Action]; last.Action != wantAction || last.Note != req.Note || !last.At.Equal(now) {
		t.Errorf("timeline entry %+v, want %s by %v with the note at %v", last, wantAction, req.Actor, now)
	}
	timers := map[alerts.TimerKind]time.Time{}
	for _, tm := range e.store.Timers() {
		timers[tm.Kind] = tm.Due
	}
	switch req.Action {
	case alerts.ActionAccept:
		if got.Assignee != "chen" || !got.AcceptedAt.Equal(now) || len(timers) != 0 {
			t.Errorf("accept: assignee %q at %v, timers %v", got.Assignee, got.AcceptedAt, timers)
		}
	case alerts.ActionDispatch:
		if !strings.HasSuffix(got.DispatchedTo, "120") || got.DispatchedAt.IsZero() || !timers[alerts.TimerReminder].Equal(now.Add(15*time.Minute)) {
			t.Errorf("dispatch: to %q at %v, timers %v", got.DispatchedTo, got.DispatchedAt, timers)
		}
	case alerts.ActionResolve:
		if got.Outcome != alerts.OutcomeFalseAlarm || !got.ResolvedAt.Equal(now) || len(timers) != 0 {
			t.Errorf("resolve: outcome %q at %v, timers %v", got.Outcome, got.ResolvedAt, timers)
		}
	case alerts.ActionClose:
		// The set-up resolved it as genuine: its follow-up stays due.
		delete(timers, alerts.TimerFollowUp)
		if !got.ClosedAt.Equal(now) || len(timers) != 0 || got.Review == nil || got.Review.By != "chen" || got.Review.Comment != req.Note {
			t.Errorf("close: at %v, timers %v, review %+v", got.ClosedAt, timers, got.Review)
		}
	case alerts.ActionFollowUp:
		if f := got.FollowUp; f == nil || !f.DoneAt.Equal(now) || f.By != "chen" || f.Method != alerts.FollowUpCall || timers[alerts.TimerFollowUp] != (time.Time{}) {
			t.Errorf("followup: %+v, timers %v", f, timers)
		}
	}
}

// TestTransitionRequests checks the errors that do not depend on the
// state: roles, missing fields, unknown alerts.
func TestTransitionRequests(t *testing.T) {
	op := alerts.Actor{Name: "li", Role: "operator"}
	tests := []struct {
		name string
		req  alerts.TransitionRequest
		code string
		msg  string
	}{
		{"installer cannot accept", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionAccept, Actor: alerts.Actor{Name: "wu", Role: "installer"}},
			shouwang.EFORBIDDEN, `an installer "wu" may not accept alerts`},
		{"operator cannot close", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionClose, Actor: op},
			shouwang.EFORBIDDEN, `an operator "li" may not close alerts`},
		{"no role", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionNote, Note: "x", Actor: alerts.Actor{Name: "x"}},
			shouwang.EFORBIDDEN, `an account without a role "x" may not note alerts`},
		{"device cannot accept", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionAccept, Actor: alerts.Actor{Name: "sos-1", Role: "device"}},
			shouwang.EFORBIDDEN, `a device "sos-1" may not accept alerts`},
		{"unknown action", alerts.TransitionRequest{AlertID: 1, Action: "escalate", Actor: op},
			shouwang.EINVALID, `action "escalate": must be one of accept, dispatch, take, arrive, resolve, followup, close, note`},
		{"no actor", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionAccept, Actor: alerts.Actor{Role: "operator"}},
			shouwang.EINVALID, "actor: a name is required"},
		{"missing outcome", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionResolve, Actor: op},
			shouwang.EINVALID, `outcome "": must be one of genuine, false_alarm, referred, duplicate`},
		{"test is not an outcome", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionResolve, Actor: op, Outcome: alerts.OutcomeTest},
			shouwang.EINVALID, `outcome "test": must be one of genuine, false_alarm, referred, duplicate`},
		{"missing dispatch target", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionDispatch, Actor: op, DispatchTo: "  "},
			shouwang.EINVALID, "dispatch_to: required: name who was sent (the grid worker, 119, 120, the gas company…)"},
		{"empty note", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionNote, Actor: op, Note: " \n"},
			shouwang.EINVALID, "note: required: write what happened"},
		{"note too long", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionNote, Actor: op, Note: strings.Repeat("长", 2001)},
			shouwang.EINVALID, "note: longer than 2000 characters"},
		{"note with a NUL", alerts.TransitionRequest{AlertID: 1, Action: alerts.ActionNote, Actor: op, Note: "a\x00b"},
			shouwang.EINVALID, "note: contains a NUL character"},
		{"unknown alert", alerts.TransitionRequest{AlertID: 99, Action: alerts.ActionAccept, Actor: op},
			shouwang.ENOTFOUND, "alert 99 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, alerts.Config{})
			alertIn(t, e, alerts.StateAccepted)
			before := e.alert(1)
			_, _, err := e.transition(tt.req, at(time.Minute))
			if errCode(err) != tt.code || shouwang.ErrorMessage(err) != tt.msg {
				t.Errorf("error %v, want %s: %s", err, tt.code, tt.msg)
			}
			if got := e.alert(1); !reflect.DeepEqual(got, before) {
				t.Error("a refused transition changed the alert")
			}
		})
	}
}

func TestPermitted(t *testing.T) {
	want := map[string][]alerts.Action{
		"operator":   {alerts.ActionAccept, alerts.ActionDispatch, alerts.ActionResolve, alerts.ActionFollowUp, alerts.ActionNote},
		"supervisor": {alerts.ActionAccept, alerts.ActionDispatch, alerts.ActionResolve, alerts.ActionFollowUp, alerts.ActionClose, alerts.ActionNote},
		"admin":      {alerts.ActionAccept, alerts.ActionDispatch, alerts.ActionResolve, alerts.ActionFollowUp, alerts.ActionClose, alerts.ActionNote},
		"gridworker": {alerts.ActionAccept, alerts.ActionTake, alerts.ActionArrive, alerts.ActionResolve, alerts.ActionFollowUp, alerts.ActionNote},
		"installer":  nil,
		"device":     nil,
		"system":     nil,
		"":           nil,
	}
	for role, allowed := range want {
		for _, act := range append(alerts.Actions, "bogus") {
			if got, w := alerts.Permitted(role, act), contains(allowed, act); got != w {
				t.Errorf("Permitted(%q, %s) = %v, want %v", role, act, got, w)
			}
		}
	}
}

func contains(list []alerts.Action, a alerts.Action) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// TestConcurrentAccepts: many operators accept one alert at once; exactly
// one wins and every other is told who did.
func TestConcurrentAccepts(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	id := alertIn(t, e, alerts.StateNew)
	const n = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		losers  []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "op" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			_, _, err := e.transition(alerts.TransitionRequest{AlertID: id, Action: alerts.ActionAccept,
				Actor: alerts.Actor{Name: name, Role: "operator"}}, at(10*time.Second))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, name)
			} else {
				losers = append(losers, err)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d winners: %v", len(winners), winners)
	}
	for _, err := range losers {
		if errCode(err) != shouwang.ECONFLICT || shouwang.ErrorMessage(err) != "alert 1 was already accepted by "+winners[0] {
			t.Errorf("loser told %v", err)
		}
	}
	if a := e.alert(id); a.Assignee != winners[0] || a.Version != 2 {
		t.Errorf("alert assignee %q version %d", a.Assignee, a.Version)
	}
}

// TestClearingNeverCloses: a device clearing a critical alert leaves it for
// a person to handle.
func TestClearingNeverCloses(t *testing.T) {
	e := newEnv(t, alerts.Config{})
	d := device("smoke-1", devices.KindSmoke, false)
	e.handle(d, eventMsg(d, 1, devices.EventSmoke, at(0)))
	e.handle(d, eventMsg(d, 2, devices.EventSmokeClear, at(time.Second)))
	a := e.alert(1)
	if !a.Cleared || a.State != alerts.StateNew || len(e.store.Timers()) != 2 {
		t.Errorf("after clearing: cleared %v, state %s, %d timers; want cleared, new, escalation still planned", a.Cleared, a.State, len(e.store.Timers()))
	}
}
