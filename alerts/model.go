package alerts

import (
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Kind is what an alert is about.
type Kind string

// Alert kinds. gas_low and gas_high are one family: a rising leak raises
// the open gas_low alert to gas_high instead of opening another.
const (
	KindSOS        Kind = "sos"
	KindSmoke      Kind = "smoke"
	KindGasLow     Kind = "gas_low"
	KindGasHigh    Kind = "gas_high"
	KindFault      Kind = "fault"
	KindTamper     Kind = "tamper"
	KindLowBattery Kind = "low_battery"
	KindOffline    Kind = "offline"
	KindAirQuality Kind = "air_quality"
	KindCO         Kind = "co" // carbon monoxide: critical, like smoke
	// KindNoActivity: a resident living alone showed no sign of life by the
	// end of their daily check-in window (checkin.go).
	KindNoActivity Kind = "no_activity"
	// Incidents (incident.go): alerts that belong together, handled as one.
	KindBuildingAlarm Kind = "building_alarm" // several smoke, gas or CO alarms in one building
	KindOutage        Kind = "outage"         // many devices of one building or bridge offline together
)

// Kinds lists every alert kind.
var Kinds = []Kind{KindSOS, KindSmoke, KindGasLow, KindGasHigh, KindFault, KindTamper, KindLowBattery, KindOffline, KindAirQuality, KindCO,
	KindNoActivity, KindBuildingAlarm, KindOutage}

// Family groups kinds of which a device may have only one open alert.
func (k Kind) Family() string {
	if k == KindGasLow || k == KindGasHigh {
		return "gas"
	}
	return string(k)
}

// Severity is how bad an alert is.
type Severity string

// Severities, worst first.
const (
	SeverityCritical Severity = "critical"
	SeverityMajor    Severity = "major"
	SeverityMinor    Severity = "minor"
)

// Rank orders severities: critical 3, major 2, minor 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityMajor:
		return 2
	case SeverityMinor:
		return 1
	}
	return 0
}

// State is where an alert is in its life cycle:
// new → accepted → dispatched → resolved → closed.
type State string

// States.
const (
	StateNew        State = "new"
	StateAccepted   State = "accepted"
	StateDispatched State = "dispatched"
	StateResolved   State = "resolved" // handled; waits for a supervisor's review
	StateClosed     State = "closed"   // reviewed by a supervisor
)

// Open reports whether the alert still needs handling: new, accepted or
// dispatched. A device has at most one open alert per kind family; a new
// event after the alert was resolved opens a new one.
func (s State) Open() bool { return s == StateNew || s == StateAccepted || s == StateDispatched }

// Outcome is how an alert was resolved.
type Outcome string

// Outcomes. OutcomeTest is set by the hub on commissioning tests only.
const (
	OutcomeGenuine    Outcome = "genuine"     // genuine and handled
	OutcomeFalseAlarm Outcome = "false_alarm" // nothing was wrong
	OutcomeReferred   Outcome = "referred"    // handed to another body
	OutcomeDuplicate  Outcome = "duplicate"   // the same incident as another alert
	OutcomeTest       Outcome = "test"        // an installer's commissioning test
)

// Action is a person's action on an alert.
type Action string

// Actions.
const (
	ActionAccept   Action = "accept"
	ActionDispatch Action = "dispatch"
	ActionResolve  Action = "resolve"
	ActionClose    Action = "close"
	ActionNote     Action = "note"
)

// Actor is who does something: a console user (Role is the console role:
// operator, supervisor, installer, admin), a device ("device"), or the hub
// itself ("system").
type Actor struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// System is the hub acting on its own (rules, escalation, supervision).
var System = Actor{Name: "hub", Role: "system"}

// Alert is one incident a duty room must act on.
type Alert struct {
	ID       int64    `json:"id"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	// Priority orders the queue, lower first: critical 1, major 3, minor
	// 5, one less when the resident lives alone (so 0 is a critical alert
	// for someone alone); tests 9.
	Priority int   `json:"priority"`
	State    State `json:"state"`
	Test     bool  `json:"test"` // a commissioning test: never a real alert, never in figures

	DeviceID string `json:"device_id"`
	// Device is a snapshot of the device, its location, resident, contacts
	// and grid worker when the alert opened (Health is left zero).
	Device devices.Device `json:"device"`

	OpenedAt       time.Time `json:"opened_at"`
	LastOccurrence time.Time `json:"last_occurrence"`
	Occurrences    int       `json:"occurrences"`
	// Reading is the worst reading that raised or joined the alert (gas
	// %LEL, an air value), when there is one.
	Reading *float64 `json:"reading,omitempty"`
	// Cleared says the device has since reported the condition gone
	// (smoke_clear, gas below the clear level, back online). Clearing never
	// closes an alert: a person must.
	Cleared   bool      `json:"cleared"`
	ClearedAt time.Time `json:"cleared_at,omitzero"`

	EscalationLevel int     `json:"escalation_level"` // 0, 1 (not accepted within T1), 2 (within T2: notified outside)
	Assignee        string  `json:"assignee,omitempty"`
	DispatchedTo    string  `json:"dispatched_to,omitempty"`
	Outcome         Outcome `json:"outcome,omitempty"`

	AcceptedAt   time.Time `json:"accepted_at,omitzero"`
	DispatchedAt time.Time `json:"dispatched_at,omitzero"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at"`

	// Version increases with every change; stores use it to refuse a
	// write based on a stale read.
	Version int64 `json:"version"`

	// Call is the device's latest voice call attached to the alert, if
	// any; the timeline keeps every call (call_ringing, call_answered,
	// call_ended).
	Call *CallRef `json:"call,omitempty"`

	// Task is the grid worker's task on foot, once one is sent or takes it
	// (task.go); FollowUp the call or visit after resolving, and Review the
	// supervisor's review that closed the loop (followup.go).
	Task     *Task     `json:"task,omitempty"`
	FollowUp *FollowUp `json:"follow_up,omitempty"`
	Review   *Review   `json:"review,omitempty"`

	// Timeline is append-only: everything that happened, in order. Stores
	// fill it only where asked (FindAlert), not in listings.
	Timeline []TimelineEntry `json:"timeline,omitempty"`

	// IncidentID is the incident alert this alert is linked to (0: none).
	IncidentID int64 `json:"incident_id,omitempty"`
	// Incident is set on an incident alert (building_alarm, outage): its
	// scope and what it holds. Members lists its devices; stores fill it
	// only where asked (FindAlert), like the timeline.
	Incident *Incident        `json:"incident,omitempty"`
	Members  []IncidentMember `json:"members,omitempty"`
}

// Call states, as CallRef.State holds them.
const (
	CallRinging  = "ringing"  // offered by the device, not yet answered
	CallAnswered = "answered" // an operator is talking to the resident
	CallEnded    = "ended"    // hung up, timed out, or a peer vanished
	// CallReleased is an update, never a state: the operator's answer was
	// released before its audio connected, and the call rings again.
	CallReleased = "released"
)

// CallRef is a voice call from a device, as its alert carries it. Times
// are kept to the millisecond, like every time in the store.
type CallRef struct {
	ID         string    `json:"id"`
	State      string    `json:"state"` // CallRinging, CallAnswered or CallEnded
	StartedAt  time.Time `json:"started_at,omitzero"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	AnsweredBy string    `json:"answered_by,omitempty"` // the operator's user name
	EndedAt    time.Time `json:"ended_at,omitzero"`
	EndReason  string    `json:"end_reason,omitempty"` // hangup, timeout, peer_gone, error, shutdown…
}

// TimelineEntry is one thing that happened to an alert.
type TimelineEntry struct {
	ID     int64             `json:"id,omitempty"`
	At     time.Time         `json:"at"`
	Actor  Actor             `json:"actor"`
	Action string            `json:"action"` // see the Timeline* constants
	Note   string            `json:"note,omitempty"`
	Data   map[string]string `json:"data,omitempty"`
}

// Timeline actions.
const (
	TimelineOpened          = "opened"
	TimelineOccurred        = "occurred"        // the device repeated the condition
	TimelineSeverityRaised  = "severity_raised" // e.g. gas_low → gas_high
	TimelineCleared         = "cleared"         // the device reports the condition gone
	TimelineRecurred        = "recurred"        // the condition came back after clearing
	TimelineAccepted        = "accepted"        // also the Action names
	TimelineDispatched      = "dispatched"
	TimelineResolved        = "resolved"
	TimelineClosed          = "closed"
	TimelineNote            = "note"
	TimelineEscalated       = "escalated"        // Data: level
	TimelineReminder        = "reminder"         // dispatched but not resolved in time
	TimelineNotifyAttempt   = "notify_attempt"   // a delivery attempt; Data: attempt, level, party, channel
	TimelineNotifyFailed    = "notify_failed"    // Data: attempt, error, next
	TimelineNotifyDelivered = "notify_delivered" // Data: attempt, status
	TimelineNotifyGaveUp    = "notify_gave_up"
	TimelineDeviceAck       = "device_ack"      // the hub told the device
	TimelineTest            = "test"            // a commissioning test was received
	TimelineCallRinging     = "call_ringing"    // the device offered a voice call; Data: call
	TimelineCallAnswered    = "call_answered"   // an operator answered it; Data: call
	TimelineCallEnded       = "call_ended"      // Data: call, duration (seconds), reason, by, recording_device, recording_console
	TimelineCallReleased    = "call_released"   // an answer whose audio never connected; the call rings again. Data: call, by, reason
	TimelineLinked          = "linked"          // the alert joined an incident; Data: incident
	TimelineIncidentJoined  = "incident_joined" // on an incident: an alert or device joined; Data: alert, device
	TimelineMemberReturned  = "member_returned" // on an outage: a device was heard from again; Data: device
	TimelineViaIncident     = "via_incident"    // a linked alert followed its incident's action; Data: incident, action
	TimelineCheckedIn       = "checked_in"      // on a no_activity alert: the resident showed a sign of life; Data: device, how
)

// TransitionRequest is a person's action on an alert, as the console
// passes it to the Service.
type TransitionRequest struct {
	AlertID    int64   `json:"alert_id"`
	Action     Action  `json:"action"`
	Actor      Actor   `json:"actor"`
	Note       string  `json:"note,omitempty"`
	DispatchTo string  `json:"dispatch_to,omitempty"` // dispatch: who was sent (grid worker, 119, 120, the gas company…)
	Outcome    Outcome `json:"outcome,omitempty"`     // resolve: required
	// Worker is, for a dispatch, the grid worker's account sent on foot
	// (the caller checks it names one).
	Worker string `json:"worker,omitempty"`
	// FollowUp is what a follow-up found (followup: required).
	FollowUp *FollowUpReport `json:"follow_up,omitempty"`
	// Rating is a review's mark, 1 (poor) to 5 (excellent); 0 for none.
	Rating int `json:"rating,omitempty"`
	// Scope, when set, is what the actor may see and act on (a grid
	// worker's grids and tasks): an alert outside it is not found.
	Scope *Scope `json:"-"`
}

// DeviceAck is a downlink message to publish on a device's cmd topic once
// the transaction that produced it has committed.
type DeviceAck struct {
	DeviceID string
	Payload  []byte // JSON, e.g. {"type":"ack","seq":12,"alert":7}
}

// Filter selects alerts in a listing. Zero fields match everything.
type Filter struct {
	States    []State
	Severity  Severity
	Kind      Kind
	Community string
	DeviceID  string
	Test      *bool     // nil: both; the default listing excludes tests
	From, To  time.Time // opened within [From, To)
	// Scope, when set, keeps only what a grid worker may see: alerts in
	// their grids or ever sent to them.
	Scope *Scope
	// FollowUpPending keeps only resolved or closed alerts whose follow-up
	// is due and not yet recorded.
	FollowUpPending bool
	Offset          int
	Limit           int // 0: the store's default
}

// TimerKind names a pending timer of an alert.
type TimerKind string

// Timer kinds.
const (
	TimerEscalate1 TimerKind = "escalate_1"
	TimerEscalate2 TimerKind = "escalate_2"
	TimerReminder  TimerKind = "reminder"
	TimerFollowUp  TimerKind = "followup" // a follow-up falls due
)

// Timer is a durable timer: it lives in the store, so a restart neither
// loses nor doubles it, and one due during downtime fires at start.
type Timer struct {
	AlertID int64     `json:"alert_id"`
	Kind    TimerKind `json:"kind"`
	Due     time.Time `json:"due"`
}

// Notification is a durable request to tell one recipient outside the
// console of an alert (notify.go), retried with back-off until delivered
// or given up.
type Notification struct {
	ID          int64     `json:"id"`
	AlertID     int64     `json:"alert_id"`
	Level       int       `json:"level"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	Payload     []byte    `json:"-"` // the Message, as JSON
	Party       string    `json:"party"`
	Channel     string    `json:"channel"`        // the configured channel's name
	To          string    `json:"to,omitempty"`   // a phone number, for a channel that sends to one
	Lang        string    `json:"lang,omitempty"` // the recipient's language: zh (default) or en
}

// Change is one entry of the alert change feed: the alert as it stood
// after the change, with the feed's sequence number. Sequence numbers
// increase strictly in commit order.
type Change struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Alert *Alert    `json:"alert"` // without its timeline
}

// AnswerStats are the figures supervisors watch over a period, tests
// excluded. Each median is over the alerts that reached that step
// (Accepted, Dispatched, Resolved of them): an alert nobody accepted is in
// the shares (of Alerts) but not in the median time to accept.
type AnswerStats struct {
	From, To       time.Time     `json:"-"`
	Alerts         int           `json:"alerts"`
	Accepted       int           `json:"accepted"`
	Dispatched     int           `json:"dispatched"`
	Resolved       int           `json:"resolved"`
	Within60s      int           `json:"accepted_within_60s"`
	Within180s     int           `json:"accepted_within_180s"`
	MedianAccept   time.Duration `json:"-"`
	MedianDispatch time.Duration `json:"-"`
	MedianResolve  time.Duration `json:"-"`
}
