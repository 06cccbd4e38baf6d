// Package shelly reads Shelly devices that speak MQTT themselves: the
// Gen1 Shelly Gas (shellies/<id>/sensor/gas, …/concentration,
// …/operation, …/self_test, …/valve, …/online) and the Gen2+ Shelly Plus
// Smoke (<prefix>/events/rpc with NotifyStatus and NotifyEvent, the
// smoke:0 component's alarm, <prefix>/online, <prefix>/status/…), as
// Shelly's API documentation describes them. Each device has its own MQTT
// account and topic prefix, its root. It imports the standard library and
// the devices domain only.
package shelly

import (
	"github.com/shouwang-hub/shouwang/devices"
)

// Models the codec knows, by Shelly's model codes.
const (
	ModelGas        = "SHGS-1"     // Shelly Gas (Gen1)
	ModelPlusSmoke  = "SNSN-0031Z" // Shelly Plus Smoke (Gen2)
	SelfTestCommand = "start_self_test"
)

// Kind returns the device kind of a model code, "" for an unknown one.
func Kind(model string) devices.Kind {
	switch model {
	case ModelGas:
		return devices.KindGas
	case ModelPlusSmoke:
		return devices.KindSmoke
	}
	return ""
}

// Codec is the Shelly codec; a root is one device's topic prefix.
var Codec devices.Codec = codec{}

type codec struct{}

func (codec) Source() devices.Source { return devices.SourceShelly }

// Subscriptions: alarm states, status and availability are alarm-lane; the
// gas concentration is a reading.
func (codec) Subscriptions(root string) []devices.Subscription {
	if !ValidPrefix(root) {
		return nil
	}
	a, t := devices.LaneAlarm, devices.LaneTelemetry
	return []devices.Subscription{
		{Filter: root + "/online", Lane: a},
		{Filter: root + "/sensor/gas", Lane: a},
		{Filter: root + "/sensor/operation", Lane: a},
		{Filter: root + "/sensor/self_test", Lane: a},
		{Filter: root + "/sensor/concentration", Lane: t},
		{Filter: root + "/events/rpc", Lane: a},
		{Filter: root + "/status/#", Lane: a},
	}
}

// ClientRules: a Shelly publishes and reads only under its own prefix.
func (codec) ClientRules(_, root string) []devices.TopicRule {
	if !ValidPrefix(root) {
		return nil
	}
	return []devices.TopicRule{{Filter: root + "/#", Access: devices.AccessBoth}}
}

// ServiceRules: the hub reads the prefix and sends the self-test command
// and RPC requests.
func (codec) ServiceRules(root string) []devices.TopicRule {
	if !ValidPrefix(root) {
		return nil
	}
	return []devices.TopicRule{
		{Filter: root + "/#", Access: devices.AccessRead},
		{Filter: root + "/sensor/" + SelfTestCommand, Access: devices.AccessWrite},
		{Filter: root + "/rpc", Access: devices.AccessWrite},
	}
}

// ValidPrefix reports whether p may be a Shelly's topic prefix.
func ValidPrefix(p string) bool { return devices.ValidRoot(p) }

// SelfTestTopic is where the hub starts a Shelly Gas's self-test.
func SelfTestTopic(root string) string { return root + "/sensor/" + SelfTestCommand }
