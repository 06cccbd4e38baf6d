// Package zigbee2mqtt reads Zigbee2MQTT bridges: their topics under a base
// topic, the retained bridge/devices list, and the state, action and
// availability messages of the devices behind them, mapped per model from
// the vendors' own definitions (zigbee-herdsman-converters' exposes and
// fromZigbee converters, and Zigbee2MQTT's device pages). It imports the
// standard library and the devices domain only.
package zigbee2mqtt

import (
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// DefaultBase is Zigbee2MQTT's default base topic.
const DefaultBase = "zigbee2mqtt"

// Codec is the Zigbee2MQTT codec; roots are bridges' base topics.
var Codec devices.Codec = codec{}

type codec struct{}

func (codec) Source() devices.Source { return devices.SourceZigbee2MQTT }

// Subscriptions: everything under the base topic. A device's state message
// (<base>/<friendly name>) mixes alarms and readings, and friendly names
// may contain '/', so one filter covers the base and it is alarm-lane. The
// bridge/devices list rides on it too: every hub needs it to route.
func (codec) Subscriptions(base string) []devices.Subscription {
	return []devices.Subscription{{Filter: base + "/#", Lane: devices.LaneAlarm}}
}

// ClientRules: a bridge publishes and reads under its base topic only
// (it subscribes to <base>/# itself, for /set, /get and bridge requests).
func (codec) ClientRules(_, base string) []devices.TopicRule {
	if !ValidBase(base) {
		return nil
	}
	return []devices.TopicRule{{Filter: base + "/#", Access: devices.AccessBoth}}
}

// ServiceRules: the hub reads the base topic and publishes commands under
// it (<base>/<friendly name>/set; names may contain '/').
func (codec) ServiceRules(base string) []devices.TopicRule {
	if !ValidBase(base) {
		return nil
	}
	return []devices.TopicRule{{Filter: base + "/#", Access: devices.AccessBoth}}
}

// ValidBase reports whether base may be a bridge's base topic.
func ValidBase(base string) bool { return devices.ValidRoot(base) }

// TopicKind is what a topic under a base carries.
type TopicKind uint8

// Topic kinds.
const (
	TopicIgnored       TopicKind = iota // the hub's own commands, bridge logs, requests
	TopicState                          // <base>/<name>: the device's whole state
	TopicAvailability                   // <base>/<name>/availability
	TopicAction                         // <base>/<name>/action: the Home Assistant copy of a press
	TopicBridgeDevices                  // <base>/bridge/devices (retained)
	TopicBridgeState                    // <base>/bridge/state (retained; also the bridge's will)
)

// ParseTopic splits a topic under base into what it carries and the
// friendly name it is about. ok is false for a topic not under base.
func ParseTopic(base, topic string) (kind TopicKind, name string, ok bool) {
	rest, ok := strings.CutPrefix(topic, base+"/")
	if !ok || rest == "" {
		return TopicIgnored, "", false
	}
	switch {
	case rest == "bridge/devices":
		return TopicBridgeDevices, "", true
	case rest == "bridge/state":
		return TopicBridgeState, "", true
	case strings.HasPrefix(rest, "bridge/"):
		return TopicIgnored, "", true
	}
	// Zigbee2MQTT refuses friendly names ending in these, so a suffix
	// always names what follows the device.
	for _, s := range []struct {
		suffix string
		kind   TopicKind
	}{
		{"/availability", TopicAvailability},
		{"/action", TopicAction},
		{"/set", TopicIgnored},
		{"/get", TopicIgnored},
	} {
		if n, cut := strings.CutSuffix(rest, s.suffix); cut && n != "" {
			return s.kind, n, true
		}
	}
	if i := strings.Index(rest, "/set/"); i > 0 { // <name>/set/<attribute>
		return TopicIgnored, rest[:i], true
	}
	return TopicState, rest, true
}

// SetTopic is where the hub sends a command to a device.
func SetTopic(base, friendlyName string) string { return base + "/" + friendlyName + "/set" }
