// Package vendors puts the codecs together: the topic policy of every
// source the hub takes (Policy), and a decoding session that keeps each
// device's state across messages exactly as the hub does (Session), which
// `hubctl decode` and the codecs' golden tests run.
package vendors

import (
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

// Policy is the topic policy of every source: native, Zigbee2MQTT, Shelly.
// The embedded broker, mosquitto's ACL file and EMQX's authorizer all take
// their answers from it.
var Policy = devices.NewPolicy(zigbee2mqtt.Codec, shelly.Codec)

// KindOf returns the device kind of a vendor model, "" when unknown.
func KindOf(source devices.Source, model string) devices.Kind {
	switch source {
	case devices.SourceZigbee2MQTT:
		if m, ok := zigbee2mqtt.Lookup(model); ok {
			return m.Kind
		}
	case devices.SourceShelly:
		return shelly.Kind(model)
	}
	return ""
}

// HasSelfTest reports whether vendor device d takes a self-test command
// from the hub: a Zigbee2MQTT model whose definition has one, or a Shelly
// Gas (the Shelly Plus Smoke has none over MQTT). Native devices are tested
// with a test press, never a command.
func HasSelfTest(d *devices.Device) bool {
	if d == nil || d.Kind == devices.KindGateway {
		return false
	}
	switch d.Source {
	case devices.SourceZigbee2MQTT:
		m, ok := zigbee2mqtt.Lookup(d.Model)
		return ok && m.SelfTest != ""
	case devices.SourceShelly:
		return d.Kind == devices.KindGas
	}
	return false
}
