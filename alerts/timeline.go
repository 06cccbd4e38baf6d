package alerts

import (
	"context"
	"errors"
	"strconv"
)

// Timeline entries are codes with parameters. An entry's Action is its
// code; its Data are the parameters, each a value a page can render in its
// reader's language: a number, a time (RFC 3339), a duration in whole
// seconds, a code from a small set (an outcome, a reason, a party), or data
// people typed or registered (a name, a phone number). Text in English never
// goes in: Note holds only what a person wrote. The console renders each
// code from its own dictionaries (console/web/js/timeline.js and i18n.js),
// and a test holds every code here to a string in both languages there.
//
// To add a code: a constant and an entry in TimelineCodes naming its
// parameters; the strings tl.<code> (and tld.<code> for its detail line) in
// both dictionaries of i18n.js; a parameter of a new kind in the format
// table of timeline.js. /work/notes/timeline-codes.md says it at length.

// More timeline actions (see model.go for the first ones).
const (
	// TimelineNotifyNone: an escalation level had nobody outside the
	// console to tell. Data: level.
	TimelineNotifyNone = "notify_none"
)

// TimelineCode describes one timeline code: the parameters its entries may
// carry. Params lists them for people adding codes and for the test that
// holds the console's dictionaries to them.
type TimelineCode struct {
	Params []string
}

// TimelineCodes lists every timeline code the hub writes, with its
// parameters. Parameter kinds, by name (the console's timeline.js formats
// each kind): *_s and duration, reporting, silent_for are durations in
// whole seconds (older entries may hold Go's "2m0s" form); at, due, next,
// last_seen, opened_at are times; outcome, from, to (kinds), reason, event,
// type, via, error, party, channel are codes; the rest are numbers or data.
var TimelineCodes = map[string]TimelineCode{
	TimelineOpened:          {Params: append([]string{"event", "seq", "lel", "grade", "via", "call", "field", "value", "limit", "over", "status", "reporting", "last_seen", "silent_for"}, moreOpened...)},
	TimelineOccurred:        {Params: append([]string{"event", "seq", "lel", "grade", "field", "value", "limit", "over", "status", "reporting", "last_seen", "silent_for", FoldCount, FoldMax}, moreOccurred...)},
	TimelineRecurred:        {Params: append([]string{"event", "seq", "lel", "grade", "field", "value", "limit", "over", "status", "reporting", "last_seen", "silent_for"}, moreRecurred...)},
	TimelineSeverityRaised:  {Params: []string{"from", "to", "event", "seq", "lel", "grade", "field", "value"}},
	TimelineCleared:         {Params: append([]string{"event", "seq", "via", "clear_below", "replaced_at", "field", "value", "status"}, moreCleared...)},
	TimelineAccepted:        {Params: []string{"via", "call", "worker"}},
	TimelineDispatched:      {Params: []string{"to", "worker"}},
	TimelineResolved:        {Params: []string{"outcome", "followup_due"}},
	TimelineClosed:          {Params: []string{"rating"}},
	TimelineTaskTaken:       {Params: []string{"worker"}},
	TimelineArrived:         {Params: []string{"worker", "since_s"}},
	TimelinePhoto:           {Params: []string{"photo", "mime", "size"}},
	TimelineFollowedUp:      {Params: []string{"method", "result", "evaluation", "late_s"}},
	TimelineFollowUpOverdue: {Params: []string{"due"}},
	TimelineNote:            {},
	TimelineEscalated:       {Params: []string{"level", "waited_s"}},
	TimelineReminder:        {Params: []string{"due", "next", "dispatched_to", "since_s"}},
	TimelineNotifyNone:      {Params: []string{"level"}},
	TimelineNotifyQueued:    {Params: []string{"level", "party", "channel", "to"}},
	TimelineNotifyUnrouted:  {Params: []string{"level", "party", "reason"}},
	TimelineNotifyAttempt:   {Params: []string{"attempt", "level", "party", "channel"}},
	TimelineNotifyFailed:    {Params: []string{"attempt", "error", "status", "provider", "next", "detail", "party", "channel"}},
	TimelineNotifyDelivered: {Params: []string{"attempt", "status", "party", "channel"}},
	TimelineNotifyGaveUp:    {Params: []string{"attempts", "party", "channel"}},
	TimelineDeviceAck:       {Params: []string{"type", "seq"}},
	TimelineTest:            {Params: []string{"event", "seq", "lel"}},
	TimelineCallRinging:     {Params: []string{"call"}},
	TimelineCallAnswered:    {Params: []string{"call"}},
	TimelineCallEnded:       {Params: []string{"call", "duration", "reason", "by", "answered_by", "recording_device", "recording_console"}},
	TimelineCallReleased:    {Params: []string{"call", "by", "reason"}},
	TimelineUnaccepted:      {Params: []string{"call", "by"}},
	// Incidents and check-ins (incident.go, checkin.go).
	TimelineLinked:         {Params: []string{"incident"}},
	TimelineIncidentJoined: {Params: []string{"alert", "device", "via"}},
	TimelineMemberReturned: {Params: []string{"device"}},
	TimelineViaIncident:    {Params: []string{"incident", "action"}},
	TimelineCheckedIn:      {Params: []string{"device", "how", "at"}},
}

// The parameters incidents, offline verdicts and check-ins add to the
// codes every alert has: an incident's scope kind (building, gateway) and
// bridge; an offline verdict's cause (via will or silent), its grace and
// when the will came; a no_activity alert's window, grid worker, the
// household's last sign of life and how, and the days in a row; what joined
// or came back (alert, device, returned).
var (
	moreOpened   = []string{"scope_kind", "gateway", "grace_s", "at", "window_start", "window_end", "grid_worker", "last_activity", "last_how"}
	moreOccurred = []string{"via", "grace_s", "at", "window_start", "window_end", "grid_worker", "last_activity", "last_how", "days"}
	moreRecurred = []string{"via", "grace_s", "at", "alert", "device"}
	moreCleared  = []string{"alert", "device", "returned"}
)

// Notification failures, as notify_failed's error parameter names them.
const (
	NotifyErrorStatus      = "http_status" // the server answered with a status outside 2xx (status says which)
	NotifyErrorTimeout     = "timeout"     // no answer in time
	NotifyErrorUnreachable = "unreachable" // no connection (refused, no route, DNS, TLS)
	NotifyErrorRefused     = "refused"     // the provider answered 2xx but refused the message (its own error code)
	NotifyErrorUnrouted    = "unrouted"    // nowhere to send it: the channel is not configured
)

// NotifyError is a failed delivery as a channel reports it: Code is one of
// the NotifyError* codes, Status the HTTP status (for http_status), and
// Provider the provider's own error code when it refused the message.
// Detail is the technical text for logs and the API, never shown as the
// page's own words.
type NotifyError struct {
	Code     string
	Status   int
	Provider string
	Detail   string
}

func (e *NotifyError) Error() string {
	switch {
	case e.Detail != "":
		return e.Code + ": " + e.Detail
	case e.Status != 0:
		return e.Code + ": HTTP status " + strconv.Itoa(e.Status)
	}
	return e.Code
}

// classify turns a delivery's result into notify_failed's parameters.
func classify(status int, err error) map[string]string {
	data := map[string]string{}
	var ne *NotifyError
	var te interface{ Timeout() bool }
	switch {
	case errors.As(err, &ne):
		data["error"] = ne.Code
		if ne.Status != 0 {
			data["status"] = strconv.Itoa(ne.Status)
		}
		if ne.Provider != "" {
			data["provider"] = clip(ne.Provider)
		}
		if ne.Detail != "" {
			data["detail"] = clip(ne.Detail)
		}
		return data
	case err == nil:
		data["error"], data["status"] = NotifyErrorStatus, strconv.Itoa(status)
		return data
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		data["error"] = NotifyErrorTimeout
	default:
		data["error"] = NotifyErrorUnreachable
	}
	data["detail"] = clip(err.Error())
	return data
}
