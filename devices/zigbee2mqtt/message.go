package zigbee2mqtt

import (
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// Decoded is one message under a bridge's base topic, read.
type Decoded struct {
	Kind  TopicKind
	Name  string              // the friendly name, for device topics
	Obs   devices.Observation // state, action and availability
	Notes []string            // values the model's definition does not allow
	// Bridge is the device list, for TopicBridgeDevices.
	Bridge []BridgeDevice
	// Ignored says why the message means nothing to the hub.
	Ignored string
}

// Decode reads one message under base. model returns the model of the
// device with a friendly name, nil when it is unknown; it is not called for
// bridge topics.
func Decode(base, topic string, payload []byte, model func(name string) *Model) (Decoded, error) {
	kind, name, ok := ParseTopic(base, topic)
	d := Decoded{Kind: kind, Name: name}
	if !ok {
		return d, &devices.Rejection{Reason: devices.ReasonBadTopic, Detail: "not under the base topic " + base}
	}
	var err error
	switch kind {
	case TopicIgnored:
		d.Ignored = "not a device's state, availability or action"
	case TopicBridgeDevices:
		d.Bridge, err = ParseBridgeDevices(payload)
	case TopicBridgeState:
		var online bool
		online, err = DecodeAvailability(payload)
		d.Obs.Online = &online
	case TopicAvailability:
		var online bool
		online, err = DecodeAvailability(payload)
		d.Obs.Online = &online
	case TopicState, TopicAction:
		m := model(name)
		if m == nil {
			d.Ignored = "no model known for " + name
			return d, nil
		}
		if kind == TopicAction {
			d.Obs = DecodeAction(m, payload)
		} else {
			d.Obs, d.Notes, err = DecodeState(m, payload)
		}
		if err == nil && d.Obs.Empty() {
			d.Ignored = "nothing the hub reads"
			if len(d.Notes) > 0 {
				d.Ignored += " (" + strings.Join(d.Notes, "; ") + ")"
			}
		}
	}
	return d, err
}
