package alerts

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// Voice calls ride on sos alerts: a call from a device is the resident
// asking for help, so it joins the device's open sos alert, or opens one
// exactly as a press would, and an unanswered call escalates like the
// alert it rides on.

// CallUpdate is one step of a device's voice call, as the hub's voice
// manager reports it.
type CallUpdate struct {
	ID    string    // the call id the device chose: 1-64 of [A-Za-z0-9_-]
	State string    // CallRinging, CallAnswered, CallReleased or CallEnded
	At    time.Time // when it happened
	// By is the operator who answered (required for answered); for ended,
	// who hung up, when known; for released, whose answer was released.
	By string
	// EndReason is, for ended, hangup, timeout, peer_gone, error,
	// shutdown…; for released, why the answer's audio never connected
	// (media_failed, media_timeout).
	EndReason string
	// Recordings names the recording of each side of an ended call:
	// "device" and "console" → file name.
	Recordings map[string]string
}

// Limits on what a call update carries.
const (
	maxCallBy     = 128
	maxEndReason  = 64
	maxRecordName = 256
)

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// recordingKeys maps a recording side to its key in call_ended's Data.
var recordingKeys = map[string]string{"device": "recording_device", "console": "recording_console"}

// CallEvent applies one step of device d's voice call inside tx, at u.At:
//
//	ringing  attaches the call to the device's open sos alert, or opens a
//	         critical sos alert as a press would (priority, snapshot,
//	         escalation timers), noted call_ringing instead of a device ack.
//	         A call already attached (a redelivery) changes nothing.
//	answered marks the call answered by u.By (call_answered). Answering
//	         the call of a new alert also accepts it for that operator, with
//	         everything accept does (escalation stopped, "accepted" sent to
//	         the device): the duty room takes an alert by answering its call,
//	         and nobody should have to click accept while talking.
//	released puts an answered call back to ringing (call_released, with
//	         whose answer and why): the operator's audio never connected,
//	         so the resident is still waiting and any operator may answer.
//	         If the answer accepted the alert, the release undoes that
//	         (unaccepted): the alert is new again and its escalation timers
//	         run as for any new alert, counted from its opening (a level
//	         already past is reached at once). An alert accepted by hand
//	         stays accepted.
//	ended    marks the call ended (call_ended, with its duration from the
//	         answer, or from the start if nobody answered, and its
//	         recordings). The alert stays as it was: an unanswered call's
//	         alert keeps escalating.
//
// The call is found among the device's open alerts, else on its latest sos
// alert. An answered or ended update for a call no alert carries, or one
// the call has already passed, returns an empty Result and no error. A
// malformed update is EINVALID.
func (s *Service) CallEvent(ctx context.Context, tx Tx, d *devices.Device, u CallUpdate) (Result, error) {
	if d == nil {
		return Result{}, shouwang.Errorf(shouwang.EINVALID, "call event: missing device")
	}
	if err := checkCallUpdate(u); err != nil {
		return Result{}, err
	}
	h := s.newHandling(ctx, tx, d, u.At)
	var err error
	switch u.State {
	case CallRinging:
		err = h.callRinging(u)
	case CallAnswered:
		err = h.callAnswered(u)
	case CallReleased:
		err = h.callReleased(u)
	case CallEnded:
		err = h.callEnded(u)
	}
	if err != nil {
		return Result{}, fmt.Errorf("device %s: call %s: %w", d.ID, u.ID, err)
	}
	return h.result()
}

// checkCallUpdate validates u on its own.
func checkCallUpdate(u CallUpdate) error {
	if !callIDPattern.MatchString(u.ID) {
		return shouwang.Errorf(shouwang.EINVALID, "call id %q: want 1-64 of A-Z, a-z, 0-9, _ and -", clip(u.ID))
	}
	switch u.State {
	case CallRinging, CallAnswered, CallReleased, CallEnded:
	default:
		return shouwang.Errorf(shouwang.EINVALID, "call %s: state %q: must be ringing, answered, released or ended", u.ID, clip(u.State))
	}
	if u.At.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "call %s: at: required", u.ID)
	}
	if u.State == CallAnswered && strings.TrimSpace(u.By) == "" {
		return shouwang.Errorf(shouwang.EINVALID, "call %s: by: required: name the operator who answered", u.ID)
	}
	if err := checkText("by", u.By, maxCallBy); err != nil {
		return err
	}
	if err := checkText("end_reason", u.EndReason, maxEndReason); err != nil {
		return err
	}
	for side, name := range u.Recordings {
		if _, ok := recordingKeys[side]; !ok {
			return shouwang.Errorf(shouwang.EINVALID, "call %s: recording side %q: must be device or console", u.ID, clip(side))
		}
		if err := checkText("recording", name, maxRecordName); err != nil {
			return err
		}
	}
	return nil
}

// callAlert returns the alert carrying call id: one of the device's open
// alerts, else its latest sos alert; nil if none does.
func (h *handling) callAlert(id string) (*Alert, error) {
	open, err := h.openAlerts()
	if err != nil {
		return nil, err
	}
	for _, a := range open {
		if a.Call != nil && a.Call.ID == id {
			return a, nil
		}
	}
	a, err := h.latest(KindSOS)
	if err != nil || a == nil || a.Call == nil || a.Call.ID != id {
		return nil, err
	}
	return a, nil
}

func (h *handling) callRinging(u CallUpdate) error {
	if a, err := h.callAlert(u.ID); err != nil || a != nil {
		return err // a != nil: the call is already attached
	}
	// A call is the device speaking, as any message is.
	if err := h.returned("call"); err != nil {
		return err
	}
	call := &CallRef{ID: u.ID, State: CallRinging, StartedAt: h.now}
	actor := deviceActor(h.d.ID)
	a, err := h.openFamily(KindSOS.Family())
	if err != nil {
		return err
	}
	if a == nil {
		a = newAlert(h.d, KindSOS, severityOf(KindSOS), h.now, nil)
		a.Call = call
		if err := h.opened(a, actor, map[string]string{"via": "call", "call": u.ID}); err != nil {
			return err
		}
	} else {
		// A newer call replaces the one the alert carried; the timeline
		// keeps both.
		a.Call = call
		h.touch(a)
	}
	return h.log(a, actor, TimelineCallRinging, "", map[string]string{"call": u.ID})
}

func (h *handling) callAnswered(u CallUpdate) error {
	a, err := h.callAlert(u.ID)
	if err != nil || a == nil || a.Call.State != CallRinging {
		return err
	}
	by := strings.TrimSpace(u.By)
	c := *a.Call
	c.State, c.AnsweredAt, c.AnsweredBy = CallAnswered, h.now, by
	a.Call = &c
	h.touch(a)
	operator := Actor{Name: by, Role: "operator"}
	if err := h.log(a, operator, TimelineCallAnswered, "", map[string]string{"call": u.ID}); err != nil {
		return err
	}
	if a.State != StateNew {
		return nil
	}
	// Answering the call is taking the alert: accept it for the operator,
	// exactly as the accept action would.
	req := TransitionRequest{AlertID: a.ID, Action: ActionAccept, Actor: operator}
	return h.s.apply(h.op, a, req, map[string]string{"via": "call", "call": u.ID})
}

func (h *handling) callReleased(u CallUpdate) error {
	a, err := h.callAlert(u.ID)
	if err != nil || a == nil || a.Call.State != CallAnswered {
		return err
	}
	c := *a.Call
	data := map[string]string{"call": u.ID, "by": c.AnsweredBy}
	if by := strings.TrimSpace(u.By); by != "" {
		data["by"] = by
	}
	if u.EndReason != "" {
		data["reason"] = u.EndReason
	}
	// Did the answer accept the alert (callAnswered: at the answer's
	// instant, for the operator who answered)? Read before the call
	// forgets who answered it.
	acceptedByAnswer := a.State == StateAccepted && a.Assignee == c.AnsweredBy &&
		!c.AnsweredAt.IsZero() && a.AcceptedAt.Equal(c.AnsweredAt)
	answeredBy := c.AnsweredBy
	c.State, c.AnsweredAt, c.AnsweredBy = CallRinging, time.Time{}, ""
	a.Call = &c
	h.touch(a)
	if err := h.log(a, System, TimelineCallReleased, "", data); err != nil {
		return err
	}
	if !acceptedByAnswer {
		return nil // accepted by hand, before or apart from the call: it stays so
	}
	// The acceptance came from the answer, which never reached the
	// resident: undo it, so the alert escalates again while the call rings
	// unanswered.
	a.State, a.Assignee, a.AcceptedAt = StateNew, "", time.Time{}
	if err := h.log(a, System, TimelineUnaccepted, "", map[string]string{"call": u.ID, "by": answeredBy}); err != nil {
		return err
	}
	return h.s.planEscalation(h.op, a)
}

// TimelineUnaccepted: an alert accepted by answering its call is new and
// unaccepted again, because the answer was released before its audio
// connected; its escalation runs again. Data: call, by (whose acceptance).
const TimelineUnaccepted = "unaccepted"

func (h *handling) callEnded(u CallUpdate) error {
	a, err := h.callAlert(u.ID)
	if err != nil || a == nil || a.Call.State == CallEnded {
		return err
	}
	c := *a.Call
	c.State, c.EndedAt, c.EndReason = CallEnded, h.now, u.EndReason
	a.Call = &c
	h.touch(a)
	from := c.AnsweredAt
	if from.IsZero() {
		from = c.StartedAt
	}
	data := map[string]string{"call": u.ID, "duration": seconds(h.now.Sub(from))}
	if u.EndReason != "" {
		data["reason"] = u.EndReason
	}
	if by := strings.TrimSpace(u.By); by != "" {
		data["by"] = by
	}
	if c.AnsweredBy != "" {
		data["answered_by"] = c.AnsweredBy
	}
	for side, key := range recordingKeys {
		if name := u.Recordings[side]; name != "" {
			data[key] = name
		}
	}
	return h.log(a, System, TimelineCallEnded, "", data)
}

// seconds formats d as whole seconds, rounded; never negative.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(max(d, 0).Round(time.Second)/time.Second), 10)
}
