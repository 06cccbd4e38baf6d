package voice

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/shouwang-hub/shouwang"
)

// MaxPayload caps a call signalling message (it carries SDP).
const MaxPayload = 16 << 10

// callIDPattern is what a device may choose as a call id: it names a
// folder and appears in URLs.
var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidCallID reports whether id is a well-formed call id.
func ValidCallID(id string) bool { return callIDPattern.MatchString(id) }

// offerMsg is call/offer (device → hub) and call/answer (hub → device).
type offerMsg struct {
	Call string `json:"call"`
	SDP  string `json:"sdp"`
}

// hangupMsg is call/hangup, both ways.
type hangupMsg struct {
	Call   string `json:"call"`
	Reason string `json:"reason"`
}

// Reasons a device hears in call/hangup.
const (
	reasonHangup  = "hangup"
	reasonBusy    = "busy"
	reasonRefused = "refused"
	reasonTimeout = "timeout"
	reasonError   = "error"
)

// deviceReason is what the device hears when the call ends for reason.
func deviceReason(endReason string) string {
	switch endReason {
	case EndPeerGone, EndTimeout, EndError:
		return endReason
	default: // hangup, shutdown: the hub hung up
		return reasonHangup
	}
}

// decode parses a call message, checking its size and call id. The id is
// returned even when the message is otherwise bad, so the device can be
// told its call was refused.
func decode(payload []byte, v any, id func() string) error {
	if len(payload) > MaxPayload {
		json.Unmarshal(payload, v) // for the call id, to refuse the call by name
		return shouwang.Errorf(shouwang.EINVALID, "call message of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return shouwang.Errorf(shouwang.EINVALID, "call message is not valid JSON: %v", err)
	}
	if !ValidCallID(id()) {
		return shouwang.Errorf(shouwang.EINVALID, "call id %q: want 1-64 of A-Z a-z 0-9 _ -", id())
	}
	return nil
}

// checkOffer parses an SDP offer and checks it can carry a call: it must
// parse, and offer Opus audio. Everything else (fingerprints, ICE
// credentials) pion checks when the offer is applied.
func checkOffer(s string) error {
	if strings.TrimSpace(s) == "" {
		return shouwang.Errorf(shouwang.EINVALID, "the SDP offer is empty")
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(s)); err != nil {
		return shouwang.Errorf(shouwang.EINVALID, "the SDP offer does not parse: %v", err)
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), " opus/48000") {
				return nil
			}
		}
	}
	return shouwang.Errorf(shouwang.EINVALID, "the SDP offer has no Opus audio")
}
