package vendors

import (
	"slices"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// TestVendorTopicPolicy holds what the vendor codecs give the broker's ACL
// and the hub's subscriptions: a Zigbee2MQTT bridge publishes and reads only
// under its base topic and a Shelly only under its prefix — never under the
// native prefix, another bridge's base or another Shelly's prefix — and
// each may leave its will there; the hub reads each root on the lane its
// codec names.
func TestVendorTopicPolicy(t *testing.T) {
	bridge := devices.Principal{Role: devices.RoleGateway, ID: "zb-1", Source: devices.SourceZigbee2MQTT, Root: "zigbee2mqtt"}
	gas := devices.Principal{Role: devices.RoleDevice, ID: "shg-1", Source: devices.SourceShelly, Root: "shellies/shellygas-c45bbe6b2f8a"}
	smoke := devices.Principal{Role: devices.RoleDevice, ID: "shs-1", Source: devices.SourceShelly, Root: "shellyplussmoke-a8032ab12345"}
	tests := []struct {
		name  string
		p     devices.Principal
		topic string
		want  devices.Reason // "" when allowed
	}{
		{"a bridge's device state", bridge, "zigbee2mqtt/3-2-502/kitchen smoke", ""},
		{"a bridge's own state", bridge, "zigbee2mqtt/bridge/state", ""},
		{"a bridge under another base", bridge, "zigbee2mqtt_b2/kitchen", devices.ReasonBadTopic},
		{"a bridge under the native prefix", bridge, devices.Topic("sos-0001", devices.ChannelEvent), devices.ReasonSpoofed},
		{"a Shelly Gas's alarm", gas, "shellies/shellygas-c45bbe6b2f8a/sensor/gas", ""},
		{"a Shelly Gas's will", gas, "shellies/shellygas-c45bbe6b2f8a/online", ""},
		{"a Shelly Gas under another Shelly's prefix", gas, "shellies/shellygas-000000000000/sensor/gas", devices.ReasonBadTopic},
		{"a Shelly Gas on the shared announce topic", gas, "shellies/announce", devices.ReasonBadTopic},
		{"a Shelly Gas under a bridge's base", gas, "zigbee2mqtt/kitchen", devices.ReasonBadTopic},
		{"a Shelly under the native prefix", smoke, devices.Topic("smoke-0001", devices.ChannelEvent), devices.ReasonSpoofed},
		{"a Shelly Plus Smoke's notification", smoke, "shellyplussmoke-a8032ab12345/events/rpc", ""},
		{"a Shelly Plus Smoke under the Gas's prefix", smoke, "shellies/shellygas-c45bbe6b2f8a/sensor/gas", devices.ReasonBadTopic},
	}
	for _, tt := range tests {
		ok, reason := Policy.MayPublish(tt.p, tt.topic)
		if ok != (tt.want == "") || reason != tt.want {
			t.Errorf("%s: MayPublish(%s, %q) = %v %q, want reason %q", tt.name, tt.p.ID, tt.topic, ok, reason, tt.want)
		}
		if will := Policy.WillAllowed(tt.p, tt.topic); will != (tt.want == "") {
			t.Errorf("%s: WillAllowed(%s, %q) = %v", tt.name, tt.p.ID, tt.topic, will)
		}
	}
	// Reading: its own root, not the shared command topic a Gen1 Shelly
	// also subscribes to (the refusal the device's page shows), nor
	// another's root.
	for _, tt := range []struct {
		p      devices.Principal
		filter string
		want   bool
	}{
		{gas, "shellies/shellygas-c45bbe6b2f8a/#", true},
		{gas, "shellies/command", false},
		{gas, "shellies/#", false},
		{bridge, "zigbee2mqtt/#", true},
		{bridge, "#", false},
		{smoke, "shellyplussmoke-a8032ab12345/rpc", true},
	} {
		if ok, _ := Policy.MayRead(tt.p, tt.filter); ok != tt.want {
			t.Errorf("MayRead(%s, %q) = %v, want %v", tt.p.ID, tt.filter, ok, tt.want)
		}
	}

	// The hub reads every root on its codec's lanes: a bridge's whole base
	// on the alarm lane (its state mixes alarms and readings), a Shelly
	// Gas's concentration on the telemetry lane and its alarm on the
	// alarm lane — and may read what it subscribes to.
	roots := []devices.Root{{Source: devices.SourceZigbee2MQTT, Root: bridge.Root}, {Source: devices.SourceShelly, Root: gas.Root}}
	subs := Policy.Subscriptions(roots)
	for _, want := range []devices.Subscription{
		{Filter: "zigbee2mqtt/#", Lane: devices.LaneAlarm},
		{Filter: gas.Root + "/sensor/gas", Lane: devices.LaneAlarm},
		{Filter: gas.Root + "/online", Lane: devices.LaneAlarm},
		{Filter: gas.Root + "/sensor/concentration", Lane: devices.LaneTelemetry},
	} {
		if !slices.Contains(subs, want) {
			t.Errorf("the hub's subscriptions lack %+v: %+v", want, subs)
		}
	}
	svc := devices.Principal{Role: devices.RoleService, Roots: roots}
	for _, s := range subs {
		if ok, reason := Policy.MayRead(svc, s.Filter); !ok {
			t.Errorf("the hub may not read its own subscription %q: %s", s.Filter, reason)
		}
	}
	for _, topic := range []string{"zigbee2mqtt/3-2-502/kitchen smoke/set", gas.Root + "/sensor/start_self_test"} {
		if ok, reason := Policy.MayPublish(svc, topic); !ok {
			t.Errorf("the hub may not send the command %q: %s", topic, reason)
		}
	}
	if ok, _ := Policy.MayPublish(svc, "zigbee2mqtt_b2/kitchen/set"); ok {
		t.Error("the hub may publish under a base no bridge registered")
	}
}
