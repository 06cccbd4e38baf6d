package alerts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
)

// Limits on what a person types into a transition.
const (
	maxNote       = 2000
	maxDispatchTo = 128
)

// Actions lists every action in life-cycle order.
var Actions = []Action{ActionAccept, ActionDispatch, ActionTake, ActionArrive, ActionResolve, ActionFollowUp, ActionClose, ActionNote}

// ResolveOutcomes lists the outcomes a person may resolve an alert with.
var ResolveOutcomes = []Outcome{OutcomeGenuine, OutcomeFalseAlarm, OutcomeReferred, OutcomeDuplicate}

// Permitted reports whether a console role may take an action on alerts:
// operators accept, dispatch, resolve, follow up and note; supervisors
// also close (review); admins may do all of that; grid workers accept,
// take a task, arrive, resolve, follow up and note (within their scope);
// installers nothing. Taking and arriving are a grid worker's own steps.
func Permitted(role string, a Action) bool {
	switch role {
	case "admin", "supervisor":
		return slices.Contains(Actions, a) && a != ActionTake && a != ActionArrive
	case "operator":
		return a == ActionAccept || a == ActionDispatch || a == ActionResolve || a == ActionFollowUp || a == ActionNote
	case roleGridWorker:
		return a == ActionAccept || a == ActionTake || a == ActionArrive || a == ActionResolve || a == ActionFollowUp || a == ActionNote
	}
	return false
}

// pastTense names an action in messages ("it cannot be accepted").
var pastTense = map[Action]string{
	ActionAccept: "accepted", ActionDispatch: "dispatched", ActionResolve: "resolved",
	ActionClose: "closed", ActionNote: "noted", ActionTake: "taken", ActionArrive: "arrived at",
	ActionFollowUp: "followed up",
}

// from lists the states each action may be taken in.
var from = map[Action][]State{
	ActionAccept:   {StateNew},
	ActionDispatch: {StateAccepted, StateDispatched},
	ActionTake:     {StateAccepted, StateDispatched},
	ActionArrive:   {StateAccepted, StateDispatched},
	ActionResolve:  {StateAccepted, StateDispatched},
	ActionFollowUp: {StateResolved, StateClosed},
	ActionClose:    {StateResolved},
	ActionNote:     {StateNew, StateAccepted, StateDispatched, StateResolved, StateClosed},
}

// Transition applies a person's action to an alert inside tx:
//
//	accept   new → accepted: assigns the actor, stops escalation, tells the device help is coming
//	         (a grid worker accepting also takes the task)
//	dispatch accepted|dispatched → dispatched: names who was sent (again: another party), starts
//	         reminders; with a Worker, sends that grid worker the task
//	take     accepted|dispatched → dispatched: a grid worker takes the task (sent to them, or to nobody in particular)
//	arrive   the grid worker who took the task is at the household
//	resolve  accepted|dispatched → resolved: requires an outcome; stops every timer; a grid worker
//	         resolves only their own task; plans the follow-up the rules ask for
//	followup resolved|closed: records the follow-up (how, what was found, the evaluation)
//	close    resolved → closed: a supervisor's review, with a rating (optional) and the note as comment
//	note     any state, closed included: requires a note
//
// Errors: EFORBIDDEN when the actor's role may not take the action,
// EINVALID for a bad request (missing outcome, dispatch target or note),
// ENOTFOUND for an unknown alert, ECONFLICT for a transition the alert's
// state does not allow (a second accept names who accepted first). On
// success it returns the alert with its timeline, and the acknowledgements
// to publish after commit.
func (s *Service) Transition(ctx context.Context, tx Tx, req TransitionRequest, now time.Time) (*Alert, []DeviceAck, error) {
	res, err := s.TransitionAll(ctx, tx, req, now)
	if err != nil {
		return nil, nil, err
	}
	return res.Changed[0], res.Acks, nil
}

// TransitionAll is Transition returning all it changed: the alert first
// (with its timeline), then, when it is an incident, the linked alerts that
// followed it (incident_lifecycle.go).
func (s *Service) TransitionAll(ctx context.Context, tx Tx, req TransitionRequest, now time.Time) (Result, error) {
	if err := checkRequest(req); err != nil {
		return Result{}, err
	}
	a, err := tx.FindAlert(ctx, req.AlertID)
	if notFound(err) {
		return Result{}, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", req.AlertID).With("alert.not_found", "id", itoa(req.AlertID))
	} else if err != nil {
		return Result{}, fmt.Errorf("%s alert %d: %w", req.Action, req.AlertID, err)
	}
	if !req.Scope.Allows(a) {
		// Outside a grid worker's grids and tasks: as if it did not exist.
		return Result{}, shouwang.Errorf(shouwang.ENOTFOUND, "alert %d not found", req.AlertID).With("alert.not_found", "id", itoa(req.AlertID))
	}
	if !slices.Contains(from[req.Action], a.State) {
		return Result{}, stateConflict(a, req.Action)
	}
	if err := checkTask(a, req); err != nil {
		return Result{}, err
	}
	o := s.newOp(ctx, tx, now)
	a = o.canon(a, true)
	o.touch(a)
	if err := s.apply(o, a, req, nil); err != nil {
		return Result{}, err
	}
	if err := s.cascade(o, a, req); err != nil {
		return Result{}, err
	}
	return o.result()
}

// checkRequest validates what does not depend on the alert.
func checkRequest(req TransitionRequest) error {
	if !slices.Contains(Actions, req.Action) {
		return shouwang.Errorf(shouwang.EINVALID, "action %q: must be one of %s", clip(string(req.Action)), join(Actions)).With("alert.bad_action")
	}
	if strings.TrimSpace(req.Actor.Name) == "" {
		return shouwang.Errorf(shouwang.EINVALID, "actor: a name is required")
	}
	if !Permitted(req.Actor.Role, req.Action) {
		return shouwang.Errorf(shouwang.EFORBIDDEN, "%s %q may not %s alerts", roleName(req.Actor.Role), req.Actor.Name, req.Action).
			With("alert.forbidden", "role", req.Actor.Role, "action", string(req.Action))
	}
	if err := checkText("note", req.Note, maxNote); err != nil {
		return err
	}
	if err := checkReport(req); err != nil {
		return err
	}
	switch req.Action {
	case ActionDispatch:
		if strings.TrimSpace(req.DispatchTo) == "" && strings.TrimSpace(req.Worker) == "" {
			return shouwang.Errorf(shouwang.EINVALID, "dispatch_to: required: name who was sent (the grid worker, 119, 120, the gas company…)").With("alert.need_dispatch_to")
		}
		if err := checkText("dispatch_to", req.DispatchTo, maxDispatchTo); err != nil {
			return err
		}
		if err := checkText("worker", req.Worker, maxDispatchTo); err != nil {
			return err
		}
	case ActionResolve:
		if !slices.Contains(ResolveOutcomes, req.Outcome) {
			return shouwang.Errorf(shouwang.EINVALID, "outcome %q: must be one of %s", clip(string(req.Outcome)), join(ResolveOutcomes)).With("alert.need_outcome")
		}
	case ActionNote:
		if strings.TrimSpace(req.Note) == "" {
			return shouwang.Errorf(shouwang.EINVALID, "note: required: write what happened").With("alert.need_note")
		}
	}
	return nil
}

func roleName(role string) string {
	if role == "" {
		return "an account without a role"
	}
	if strings.ContainsAny(role[:1], "aeiou") {
		return "an " + role
	}
	return "a " + role
}

func checkText(field, v string, max int) error {
	switch {
	case !utf8.ValidString(v):
		return shouwang.Errorf(shouwang.EINVALID, "%s: not valid UTF-8", field).With("field.invalid_text", "field", field)
	case strings.IndexByte(v, 0) >= 0:
		// No person types one, and PostgreSQL's TEXT cannot hold it.
		return shouwang.Errorf(shouwang.EINVALID, "%s: contains a NUL character", field).With("field.invalid_text", "field", field)
	case utf8.RuneCountInString(v) > max:
		return shouwang.Errorf(shouwang.EINVALID, "%s: longer than %d characters", field, max).With("field.too_long", "field", field, "max", strconv.Itoa(max))
	}
	return nil
}

// stateConflict explains why the alert's state does not allow the action.
func stateConflict(a *Alert, action Action) error {
	if action == ActionAccept && (a.State == StateAccepted || a.State == StateDispatched) {
		return shouwang.Errorf(shouwang.ECONFLICT, "alert %d was already accepted by %s", a.ID, a.Assignee).
			With("alert.already_accepted", "id", itoa(a.ID), "by", a.Assignee)
	}
	hint := ""
	switch {
	case a.State == StateClosed:
	case action == ActionDispatch || action == ActionResolve:
		if a.State == StateNew {
			hint = " (accept it first)"
		}
	case action == ActionClose:
		hint = " (only a resolved alert is closed)"
	}
	return shouwang.Errorf(shouwang.ECONFLICT, "alert %d is %s; it cannot be %s%s", a.ID, a.State, pastTense[action], hint).
		With("alert.bad_state", "id", itoa(a.ID), "state", string(a.State), "action", string(action))
}

// apply makes the change of a permitted, valid transition; extra goes
// into its timeline entry's data (how it came about: via a call).
func (s *Service) apply(o *op, a *Alert, req TransitionRequest, extra map[string]string) error {
	data := extra
	add := func(m map[string]string) {
		if len(m) == 0 {
			return
		}
		if data == nil {
			data = map[string]string{}
		}
		for k, v := range m {
			data[k] = v
		}
	}
	switch req.Action {
	case ActionAccept:
		a.State, a.Assignee, a.AcceptedAt = StateAccepted, req.Actor.Name, o.now
		if err := o.tx.DeleteTimers(o.ctx, a.ID, TimerEscalate1, TimerEscalate2); err != nil {
			return fmt.Errorf("alert %d: stop escalation: %w", a.ID, err)
		}
	case ActionDispatch:
		// A grid worker sent by account is named with the code:
		// "grid_worker:<user name>".
		to := strings.TrimSpace(req.DispatchTo)
		if w := strings.TrimSpace(req.Worker); w != "" && (to == "" || to == "grid_worker") {
			to = "grid_worker:" + w
		} else if to == "" {
			to = "grid_worker"
		}
		a.State, a.DispatchedTo = StateDispatched, joinTo(a.DispatchedTo, to)
		if a.DispatchedAt.IsZero() {
			a.DispatchedAt = o.now
		}
		add(map[string]string{"to": to})
		if err := s.remind(o, a); err != nil {
			return err
		}
	case ActionResolve:
		a.State, a.Outcome, a.ResolvedAt = StateResolved, req.Outcome, o.now
		add(map[string]string{"outcome": string(req.Outcome)})
		if err := o.tx.DeleteTimers(o.ctx, a.ID); err != nil {
			return fmt.Errorf("alert %d: stop timers: %w", a.ID, err)
		}
		due, err := s.planFollowUp(o, a)
		if err != nil {
			return err
		}
		add(due)
	case ActionFollowUp:
		d, err := s.followUp(o, a, req)
		if err != nil {
			return err
		}
		add(d)
	case ActionClose:
		a.State, a.ClosedAt = StateClosed, o.now
		// A follow-up still due keeps its timer: the review does not do it.
		if err := o.tx.DeleteTimers(o.ctx, a.ID, TimerEscalate1, TimerEscalate2, TimerReminder); err != nil {
			return fmt.Errorf("alert %d: stop timers: %w", a.ID, err)
		}
		add(review(o, a, req))
	}
	task, err := s.applyTask(o, a, req)
	if err != nil {
		return err
	}
	add(task)
	if err := o.log(a, req.Actor, timelineAction[req.Action], req.Note, data); err != nil {
		return err
	}
	if req.Action == ActionAccept && a.Incident == nil { // an incident has no device of its own to tell
		return o.ack(a, ackPayload{Type: "accepted", Alert: a.ID, By: req.Actor.Name})
	}
	return nil
}

// remind arms a dispatched alert's reminder, if its severity has one.
func (s *Service) remind(o *op, a *Alert) error {
	if r := s.rules.Escalation[a.Severity].Reminder.D(); r > 0 {
		if err := o.tx.SetTimer(o.ctx, Timer{AlertID: a.ID, Kind: TimerReminder, Due: o.now.Add(r)}); err != nil {
			return fmt.Errorf("alert %d: set reminder: %w", a.ID, err)
		}
	}
	return nil
}

// timelineAction is the timeline entry each action writes.
var timelineAction = map[Action]string{
	ActionAccept: TimelineAccepted, ActionDispatch: TimelineDispatched, ActionResolve: TimelineResolved,
	ActionClose: TimelineClosed, ActionNote: TimelineNote, ActionTake: TimelineTaskTaken,
	ActionArrive: TimelineArrived, ActionFollowUp: TimelineFollowedUp,
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
