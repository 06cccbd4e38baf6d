package alerts

import (
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// "Dispatch online, handle on foot": the duty room sends a grid worker
// (网格员), who takes the task on their phone, walks to the household, says
// they have arrived, and handles it (resolves it, with a note and photos).
// A grid worker may also take an alert of their own grid that nobody sent
// them, or accept a new one they are nearest to.

// Grid workers' actions.
const (
	ActionTake   Action = "take"   // a grid worker takes the task on foot
	ActionArrive Action = "arrive" // the grid worker is at the household
)

// Task states.
const (
	TaskSent    = "sent"    // dispatched to a named grid worker, not yet taken
	TaskTaken   = "taken"   // the grid worker is on the way
	TaskArrived = "arrived" // at the household
	TaskHandled = "handled" // the grid worker resolved the alert
)

// Task is a grid worker's task on an alert.
type Task struct {
	Worker    string    `json:"worker"` // the grid worker's user name
	State     string    `json:"state"`  // TaskSent, TaskTaken, TaskArrived or TaskHandled
	SentAt    time.Time `json:"sent_at,omitzero"`
	TakenAt   time.Time `json:"taken_at,omitzero"`
	ArrivedAt time.Time `json:"arrived_at,omitzero"`
	HandledAt time.Time `json:"handled_at,omitzero"`
	// Workers lists every grid worker the alert was ever sent to or taken
	// by, so that each keeps seeing it.
	Workers []string `json:"workers,omitempty"`
}

// Timeline codes of the task.
const (
	TimelineTaskTaken = "task_taken" // Data: worker
	TimelineArrived   = "arrived"    // Data: worker, since_s (from the alert's opening)
	TimelinePhoto     = "photo"      // Data: photo (its id), mime, size
)

// Scope is what a grid worker sees and may act on: the alerts of their
// grids and those ever sent to them. A nil Scope allows everything.
type Scope struct {
	User  string
	Grids []devices.GridRef
}

// Allows reports whether the alert is within the scope.
func (sc *Scope) Allows(a *Alert) bool {
	if sc == nil {
		return true
	}
	if slices.Contains(sc.Grids, a.Device.Location.GridRef()) {
		return true
	}
	return a.Task != nil && slices.Contains(a.Task.Workers, sc.User)
}

// roleGridWorker is the console role of a grid worker.
const roleGridWorker = "gridworker"

// withWorker returns t's list of workers with w added.
func withWorker(t *Task, w string) []string {
	var ws []string
	if t != nil {
		ws = slices.Clone(t.Workers)
	}
	if !slices.Contains(ws, w) {
		ws = append(ws, w)
	}
	return ws
}

// checkTask refuses a grid worker's step that the task's state does not
// allow, naming who holds it.
func checkTask(a *Alert, req TransitionRequest) error {
	me := req.Actor.Name
	t := a.Task
	switch req.Action {
	case ActionTake:
		switch {
		case t == nil || t.Worker == "":
		case t.State == TaskSent && t.Worker == me:
		case t.State == TaskSent:
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d was sent to %s", a.ID, t.Worker).
				With("task.sent_to", "id", itoa(a.ID), "worker", t.Worker)
		case t.Worker == me:
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d: you have taken this task already", a.ID).
				With("task.taken_already", "id", itoa(a.ID))
		default:
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d was taken by %s", a.ID, t.Worker).
				With("task.taken_by", "id", itoa(a.ID), "worker", t.Worker)
		}
	case ActionArrive:
		switch {
		case t == nil || t.Worker != me || t.State == TaskSent:
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d: take the task before arriving", a.ID).
				With("task.take_first", "id", itoa(a.ID))
		case t.State != TaskTaken:
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d: you have arrived already", a.ID).
				With("task.arrived_already", "id", itoa(a.ID))
		}
	case ActionResolve:
		if req.Actor.Role == roleGridWorker && (t == nil || t.Worker != me || t.State == TaskSent) && a.Assignee != me {
			return shouwang.Errorf(shouwang.ECONFLICT, "alert %d is not your task: take it first", a.ID).
				With("task.take_first", "id", itoa(a.ID))
		}
	}
	return nil
}

// applyTask makes a grid worker's step, or the task part of an operator's
// dispatch, accept or resolve. It returns the timeline entry's data, or nil
// when the action leaves the task alone.
func (s *Service) applyTask(o *op, a *Alert, req TransitionRequest) (map[string]string, error) {
	me := req.Actor.Name
	switch req.Action {
	case ActionDispatch:
		w := strings.TrimSpace(req.Worker)
		if w == "" {
			return nil, nil
		}
		a.Task = &Task{Worker: w, State: TaskSent, SentAt: o.now, Workers: withWorker(a.Task, w)}
		return map[string]string{"worker": w}, nil
	case ActionAccept:
		if req.Actor.Role != roleGridWorker {
			return nil, nil
		}
		// A grid worker who accepts a new alert is on the way to it.
		a.Task = &Task{Worker: me, State: TaskTaken, TakenAt: o.now, Workers: withWorker(a.Task, me)}
		return nil, nil
	case ActionTake:
		t := &Task{Worker: me, State: TaskTaken, TakenAt: o.now, Workers: withWorker(a.Task, me)}
		if a.Task != nil && a.Task.Worker == me {
			t.SentAt = a.Task.SentAt
		}
		a.Task = t
		if a.State == StateAccepted {
			// Taking an accepted alert sends oneself: it is dispatched.
			a.State, a.DispatchedAt = StateDispatched, o.now
			a.DispatchedTo = joinTo(a.DispatchedTo, "grid_worker:"+me)
			if err := s.remind(o, a); err != nil {
				return nil, err
			}
		}
		return map[string]string{"worker": me}, nil
	case ActionArrive:
		a.Task.State, a.Task.ArrivedAt = TaskArrived, o.now
		return map[string]string{"worker": me, "since_s": seconds(o.now.Sub(a.OpenedAt))}, nil
	case ActionResolve:
		if a.Task != nil && a.Task.Worker == me && a.Task.State != TaskSent {
			t := *a.Task
			t.State, t.HandledAt = TaskHandled, o.now
			a.Task = &t
		}
	}
	return nil, nil
}

// joinTo adds who was sent to the alert's list of them.
func joinTo(list, to string) string {
	if list == "" {
		return to
	}
	return list + "; " + to
}
