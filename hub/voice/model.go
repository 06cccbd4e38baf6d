package voice

import (
	"maps"
	"time"
)

// CallState is where a call is in its life.
type CallState string

// Call states, also the event types.
const (
	CallRinging  CallState = "ringing"  // the device's leg is up, no operator yet
	CallAnswered CallState = "answered" // an operator's browser is connected
	CallEnded    CallState = "ended"
	// CallReleased is an event, never a state: an operator's answer whose
	// audio never connected was let go, and the call rings again.
	CallReleased CallState = "released"
)

// Release reasons (CallEvent.Reason of a released call): why an answer's
// audio never connected.
const (
	ReleaseMediaFailed  = "media_failed"  // the console's connection failed before it connected
	ReleaseMediaTimeout = "media_timeout" // it did not connect within ConnectTimeout
)

// ValidReleaseReason reports whether r is a release reason.
func ValidReleaseReason(r string) bool { return r == ReleaseMediaFailed || r == ReleaseMediaTimeout }

// End reasons (CallInfo.EndReason).
const (
	EndHangup   = "hangup"    // the device or an operator hung up (see EndedBy)
	EndTimeout  = "timeout"   // the device said it gave up waiting
	EndPeerGone = "peer_gone" // a peer vanished: ICE failed, closed or disconnected for PeerTimeout
	EndError    = "error"     // the hub could not carry the call
	EndShutdown = "shutdown"  // the hub stopped
)

// EndedByDevice is CallInfo.EndedBy when the device hung up.
const EndedByDevice = "device"

// CallInfo describes a call.
type CallInfo struct {
	ID, DeviceID string
	State        CallState
	StartedAt    time.Time // the offer arrived
	AnsweredAt   time.Time
	EndedAt      time.Time
	AnsweredBy   string // operator username
	EndReason    string // EndHangup, EndTimeout, EndPeerGone, EndError, EndShutdown
	// EndedBy says who hung up: EndedByDevice, the operator's username, or
	// "" when the hub ended the call (timeout, peer gone, error, shutdown).
	EndedBy string
	// Recordings maps "device" (what the resident said) and "console"
	// (what the operator said) to Ogg/Opus file paths; "console" exists
	// once the call is answered.
	Recordings map[string]string
}

func (ci CallInfo) clone() CallInfo {
	ci.Recordings = maps.Clone(ci.Recordings)
	return ci
}

// CallEvent is what OnEvent receives: the event type (ringing, answered,
// released, ended) and the call as it stands after it.
type CallEvent struct {
	Type CallState
	Call CallInfo
	// By and Reason say, for released, whose answer was let go and why
	// (ReleaseMediaFailed, ReleaseMediaTimeout).
	By, Reason string
}

// Stats are the manager's counters since New.
type Stats struct {
	Active  int    // calls being set up, ringing or answered
	Total   uint64 // offers accepted
	Busy    uint64 // offers refused with busy (MaxCalls reached)
	Refused uint64 // offers refused as invalid (bad JSON, call id or SDP)
	// Packets relayed from the device to the console and back.
	DeviceToConsole, ConsoleToDevice uint64
	// Packets missing from each side's inbound RTP, counted from gaps in
	// the sequence numbers (late packets are not subtracted).
	LostFromDevice, LostFromConsole uint64
	// Released counts answers let go before their audio connected.
	Released uint64
}
