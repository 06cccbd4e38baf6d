package alerts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// The loop's last steps. Resolving an alert whose outcome the rules name
// (genuine and referred by default) creates a follow-up (回访): someone
// calls or visits the resident within a set time and records what they
// found and how the resident or the family judged the help. A supervisor's
// review (复核) closes the loop with a rating and a comment.

// ActionFollowUp records a follow-up.
const ActionFollowUp Action = "followup"

// Timeline codes of the loop's last steps.
const (
	TimelineFollowedUp      = "followed_up"      // Data: method, result, evaluation, late_s (past its due time)
	TimelineFollowUpOverdue = "followup_overdue" // Data: due
)

// Follow-up methods, results and evaluations.
const (
	FollowUpCall  = "call"
	FollowUpVisit = "visit"

	ResultResidentOK = "resident_ok" // the resident is well, nothing more is needed
	ResultNeedsHelp  = "needs_help"  // more help is needed (a new request)
	ResultNotReached = "not_reached" // nobody could be reached

	EvalSatisfied      = "satisfied"
	EvalBasically      = "basically_satisfied"
	EvalDissatisfied   = "dissatisfied"
	EvalNotGiven       = "not_given"
	maxRating          = 5
	maxFollowUpWithin  = 30 * 24 * time.Hour
	minFollowUpWithin  = time.Minute
	defaultFollowUpDue = 24 * time.Hour
)

// Lists of the codes a follow-up report may carry.
var (
	FollowUpMethods     = []string{FollowUpCall, FollowUpVisit}
	FollowUpResults     = []string{ResultResidentOK, ResultNeedsHelp, ResultNotReached}
	FollowUpEvaluations = []string{EvalSatisfied, EvalBasically, EvalDissatisfied, EvalNotGiven}
)

// FollowUpReport is what a follow-up found.
type FollowUpReport struct {
	Method     string `json:"method"`     // call or visit
	Result     string `json:"result"`     // resident_ok, needs_help, not_reached
	Evaluation string `json:"evaluation"` // the resident's or family's: satisfied … not_given
}

// FollowUp is an alert's follow-up: due by Due (zero when none was asked
// for and one was recorded anyway), done at DoneAt by By.
type FollowUp struct {
	Due    time.Time `json:"due,omitzero"`
	DoneAt time.Time `json:"done_at,omitzero"`
	By     string    `json:"by,omitempty"`
	FollowUpReport
}

// Pending reports whether a follow-up is due and not yet recorded.
func (f *FollowUp) Pending() bool { return f != nil && !f.Due.IsZero() && f.DoneAt.IsZero() }

// OnTime reports whether a follow-up that was due was recorded by then.
func (f *FollowUp) OnTime() bool {
	return f != nil && !f.Due.IsZero() && !f.DoneAt.IsZero() && !f.DoneAt.After(f.Due)
}

// Review is a supervisor's review of a resolved alert, which closes it.
type Review struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Rating  int       `json:"rating,omitempty"` // 1 (poor) to 5 (excellent); 0: none given
	Comment string    `json:"comment,omitempty"`
}

// FollowUpRules say which resolved alerts are followed up, and within how
// long of resolving: those of Kinds resolved with one of Outcomes.
type FollowUpRules struct {
	Within   Duration  `json:"within"`   // 0: no follow-ups
	Kinds    []Kind    `json:"kinds"`    // the kinds followed up
	Outcomes []Outcome `json:"outcomes"` // the outcomes followed up
}

// FollowUpOverride is the rules file's form of FollowUpRules.
type FollowUpOverride struct {
	Within   *Duration `json:"within,omitempty"`
	Kinds    []Kind    `json:"kinds,omitempty"`
	Outcomes []Outcome `json:"outcomes,omitempty"`
}

// defaultFollowUp follows up, within a day, a resident's call for help and
// the alarms that endangered the household, when they were genuine or
// handed on — not a device's own troubles (battery, fault, silence).
func defaultFollowUp() FollowUpRules {
	return FollowUpRules{
		Within:   Duration(defaultFollowUpDue),
		Kinds:    []Kind{KindSOS, KindSmoke, KindGasLow, KindGasHigh, KindCO},
		Outcomes: []Outcome{OutcomeGenuine, OutcomeReferred},
	}
}

func (r FollowUpRules) validate() error {
	if d := r.Within.D(); d != 0 && (d < minFollowUpWithin || d > maxFollowUpWithin) {
		return invalid("followup.within %s: must be 0 (no follow-ups) or between %s and %s", d, minFollowUpWithin, maxFollowUpWithin)
	}
	for _, k := range r.Kinds {
		if !slices.Contains(Kinds, k) {
			return invalid("followup.kinds: %q is not an alert kind", clip(string(k)))
		}
	}
	for _, o := range r.Outcomes {
		if !slices.Contains(ResolveOutcomes, o) {
			return invalid("followup.outcomes: %q is not an outcome (want %s)", clip(string(o)), join(ResolveOutcomes))
		}
	}
	return nil
}

// checkReport validates a follow-up report or a review's rating.
func checkReport(req TransitionRequest) error {
	switch req.Action {
	case ActionFollowUp:
		f := req.FollowUp
		if f == nil {
			return shouwang.Errorf(shouwang.EINVALID, "follow_up: required: say how the resident was reached and what was found").With("followup.required")
		}
		for _, c := range []struct {
			field, v string
			in       []string
		}{{"method", f.Method, FollowUpMethods}, {"result", f.Result, FollowUpResults}, {"evaluation", f.Evaluation, FollowUpEvaluations}} {
			if !slices.Contains(c.in, c.v) {
				return shouwang.Errorf(shouwang.EINVALID, "%s %q: must be one of %s", c.field, clip(c.v), join(c.in)).With("followup.bad_field", "field", c.field)
			}
		}
	case ActionClose:
		if req.Rating < 0 || req.Rating > maxRating {
			return shouwang.Errorf(shouwang.EINVALID, "rating %d: must be 1 (poor) to 5 (excellent), or 0 for none", req.Rating).With("review.bad_rating")
		}
	}
	return nil
}

// planFollowUp gives a just-resolved alert its follow-up, if the rules ask
// for one for its outcome, with a timer at its due time.
func (s *Service) planFollowUp(o *op, a *Alert) (map[string]string, error) {
	r := s.rules.FollowUp
	if a.Test || r.Within <= 0 || !slices.Contains(r.Outcomes, a.Outcome) || !slices.Contains(r.Kinds, a.Kind) {
		return nil, nil
	}
	due := o.now.Add(r.Within.D())
	a.FollowUp = &FollowUp{Due: due}
	if err := o.tx.SetTimer(o.ctx, Timer{AlertID: a.ID, Kind: TimerFollowUp, Due: due}); err != nil {
		return nil, fmt.Errorf("alert %d: plan follow-up: %w", a.ID, err)
	}
	return map[string]string{"followup_due": fmtT(due)}, nil
}

// followUp records a follow-up on a resolved or closed alert.
func (s *Service) followUp(o *op, a *Alert, req TransitionRequest) (map[string]string, error) {
	if a.FollowUp != nil && !a.FollowUp.DoneAt.IsZero() {
		return nil, shouwang.Errorf(shouwang.ECONFLICT, "alert %d was followed up already, by %s", a.ID, a.FollowUp.By).
			With("followup.done_already", "id", itoa(a.ID), "by", a.FollowUp.By)
	}
	f := FollowUp{DoneAt: o.now, By: req.Actor.Name, FollowUpReport: *req.FollowUp}
	if a.FollowUp != nil {
		f.Due = a.FollowUp.Due
	}
	a.FollowUp = &f
	if err := o.tx.DeleteTimers(o.ctx, a.ID, TimerFollowUp); err != nil {
		return nil, fmt.Errorf("alert %d: stop the follow-up timer: %w", a.ID, err)
	}
	data := map[string]string{"method": f.Method, "result": f.Result, "evaluation": f.Evaluation}
	if !f.Due.IsZero() && o.now.After(f.Due) {
		data["late_s"] = seconds(o.now.Sub(f.Due))
	}
	return data, nil
}

// review records the supervisor's review that closes the alert.
func review(o *op, a *Alert, req TransitionRequest) map[string]string {
	a.Review = &Review{By: req.Actor.Name, At: o.now, Rating: req.Rating, Comment: req.Note}
	if req.Rating > 0 {
		return map[string]string{"rating": strconv.Itoa(req.Rating)}
	}
	return nil
}

// followUpDue notes on the timeline that a follow-up fell due without
// being recorded (the timer fires once).
func (s *Service) followUpDue(ctx context.Context, o *op, a *Alert) error {
	if err := o.tx.DeleteTimers(ctx, a.ID, TimerFollowUp); err != nil {
		return fmt.Errorf("alert %d: delete follow-up timer: %w", a.ID, err)
	}
	if !a.FollowUp.Pending() {
		return nil
	}
	o.touch(a)
	return o.log(a, System, TimelineFollowUpOverdue, "", map[string]string{"due": fmtT(a.FollowUp.Due)})
}
