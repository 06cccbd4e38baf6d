package broker

import (
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// The topic rules of the embedded broker. They are pure functions of the
// client's identity and the topic, so they can be tested in a table and read
// next to docs/protocol.md.

// ReasonBadCredentials is the rejection reason for a connect with a missing
// or wrong password. It is not a payload rejection, so it lives here rather
// than in devices.Reasons.
const ReasonBadCredentials devices.Reason = "bad_credentials"

// serviceReadChannels are the uplink channels the hub's client may subscribe
// to across all devices (shouwang/v1/+/event and so on, or any narrower
// filter); call/# is allowed as well.
var serviceReadChannels = map[string]bool{
	string(devices.ChannelEvent):     true,
	string(devices.ChannelTelemetry): true,
	string(devices.ChannelStatus):    true,
}

// deviceWriteChannels are the channels a device may publish on under its
// own prefix; call/... is allowed as well.
var deviceWriteChannels = map[devices.Channel]bool{
	devices.ChannelEvent:     true,
	devices.ChannelTelemetry: true,
	devices.ChannelStatus:    true,
	devices.ChannelCall:      true,
}

// serviceMayPublish reports whether the hub's client may publish on topic:
// a device's cmd topic or one of its call/... topics.
func serviceMayPublish(topic string) bool {
	_, ch, _, err := devices.ParseTopic(topic)
	return err == nil && (ch == devices.ChannelCmd || ch == devices.ChannelCall)
}

// serviceMayRead reports whether the hub's client may subscribe to filter
// (or receive a message on a topic, which is a filter without wildcards):
// the filter must lie inside shouwang/v1/+/event, /telemetry, /status or
// /call/#.
func serviceMayRead(filter string) bool {
	levels, ok := deviceLevels(filter)
	if !ok || (levels[0] != "+" && !devices.ValidID(levels[0])) {
		return false
	}
	switch {
	case len(levels) == 2 && serviceReadChannels[levels[1]]:
		return true
	case levels[1] == string(devices.ChannelCall):
		return validSubLevels(levels[2:])
	}
	return false
}

// deviceMayPublish decides a publish by device id on topic. A refusal says
// whether the topic belongs to another device (spoofed) or is simply not an
// uplink topic (bad_topic).
func deviceMayPublish(id, topic string) (bool, devices.Reason) {
	owner, ch, _, err := devices.ParseTopic(topic)
	switch {
	case err != nil:
		return false, ownerReason(id, topic)
	case owner != id:
		return false, devices.ReasonSpoofed
	case !deviceWriteChannels[ch]:
		return false, devices.ReasonBadTopic
	}
	return true, ""
}

// deviceMayRead decides a subscription (or a delivery) of filter for device
// id: only its own cmd topic and its own call/# subtree.
func deviceMayRead(id, filter string) (bool, devices.Reason) {
	levels, ok := deviceLevels(filter)
	switch {
	case !ok:
		return false, ownerReason(id, filter)
	case levels[0] != id:
		if levels[0] == "+" || levels[0] == "#" || devices.ValidID(levels[0]) {
			return false, devices.ReasonSpoofed
		}
		return false, devices.ReasonBadTopic
	case len(levels) == 2 && levels[1] == string(devices.ChannelCmd):
		return true, ""
	case levels[1] == string(devices.ChannelCall) && validSubLevels(levels[2:]):
		return true, ""
	}
	return false, devices.ReasonBadTopic
}

// deviceWillOK reports whether a device's last will is on its own status
// topic, which is the only place the protocol lets it be.
func deviceWillOK(id, topic string) bool {
	return topic == devices.Topic(id, devices.ChannelStatus)
}

// deviceLevels splits a topic or filter under the protocol prefix into the
// device level and what follows it; it needs at least a channel level.
func deviceLevels(filter string) ([]string, bool) {
	after, ok := strings.CutPrefix(filter, devices.TopicPrefix)
	if !ok {
		return nil, false
	}
	levels := strings.Split(after, "/")
	return levels, len(levels) >= 2
}

// validSubLevels checks the levels after call/: anything, with '#' only as
// the whole last level and '+' only as a whole level, so the filter stays
// inside call/#. No levels at all is "call" itself, which call/# also covers.
func validSubLevels(levels []string) bool {
	for i, l := range levels {
		if l == "#" && i != len(levels)-1 {
			return false
		}
		if l != "#" && l != "+" && strings.ContainsAny(l, "#+") {
			return false
		}
	}
	return true
}

// ownerReason classifies a refused topic that does not parse: under another
// device's prefix it is spoofing, otherwise just a bad topic.
func ownerReason(id, topic string) devices.Reason {
	after, ok := strings.CutPrefix(topic, devices.TopicPrefix)
	if !ok {
		return devices.ReasonBadTopic
	}
	owner, _, _ := strings.Cut(after, "/")
	if owner != id && (owner == "+" || owner == "#" || devices.ValidID(owner)) {
		return devices.ReasonSpoofed
	}
	return devices.ReasonBadTopic
}
