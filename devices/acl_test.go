package devices

import (
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		rule, filter string
		want         bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "a/#", true},
		{"a/#", "#", false},
		{"a/+/#", "a", false},
		{"a/+/#", "a/b", true},
		{"a/+/#", "a/+/x/#", true},
		{"a/b/c", "a/b", false},
	}
	for _, tt := range tests {
		if got := covers(strings.Split(tt.rule, "/"), tt.filter); got != tt.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.rule, tt.filter, got, tt.want)
		}
	}
}

func TestNativeServiceTopics(t *testing.T) {
	pol := NewPolicy()
	svc := Principal{Role: RoleService}
	tests := []struct {
		topic       string
		read, write bool
	}{
		{"shouwang/v1/+/event", true, false},
		{"shouwang/v1/+/telemetry", true, false},
		{"shouwang/v1/+/status", true, false},
		{"shouwang/v1/+/call/#", true, false},
		{"shouwang/v1/+/call", true, false},
		{"shouwang/v1/d1/event", true, false},
		{"shouwang/v1/d1/call/offer", true, true},
		{"shouwang/v1/d1/call", true, false},
		{"shouwang/v1/+/call/+/x", true, false},
		{"shouwang/v1/d1/cmd", false, true},
		{"shouwang/v1/+/cmd", false, false},
		{"shouwang/v1/#", false, false},
		{"shouwang/v1/+/#", false, false},
		{"shouwang/v1/+/event/x", false, false},
		{"shouwang/v1/+/call/#/x", false, false},
		{"shouwang/v1/+/call/a#", false, false},
		{"shouwang/v1/bad id/event", false, false},
		{"shouwang/v1/bad id/cmd", false, false},
		{"#", false, false},
		{"$SYS/#", false, false},
		{"other/topic", false, false},
		{"zigbee2mqtt/#", false, false},
	}
	for _, tt := range tests {
		if got, _ := pol.MayRead(svc, tt.topic); got != tt.read {
			t.Errorf("service MayRead(%q) = %v, want %v", tt.topic, got, tt.read)
		}
		if got, _ := pol.MayPublish(svc, tt.topic); got != tt.write {
			t.Errorf("service MayPublish(%q) = %v, want %v", tt.topic, got, tt.write)
		}
	}
}

func TestNativeDeviceTopics(t *testing.T) {
	pol := NewPolicy()
	d1 := Principal{Role: RoleDevice, ID: "d1", Source: SourceNative}
	pubs := []struct {
		topic  string
		reason Reason // "" = allowed
	}{
		{"shouwang/v1/d1/event", ""},
		{"shouwang/v1/d1/telemetry", ""},
		{"shouwang/v1/d1/status", ""},
		{"shouwang/v1/d1/call/offer", ""},
		{"shouwang/v1/d1/call/a/b", ""},
		{"shouwang/v1/d1/cmd", ReasonBadTopic},
		{"shouwang/v1/d1/call", ReasonBadTopic},
		{"shouwang/v1/d1/other", ReasonBadTopic},
		{"shouwang/v1/d1/event/x", ReasonBadTopic},
		{"shouwang/v1/d1/+", ReasonBadTopic},
		{"shouwang/v1/d2/event", ReasonSpoofed},
		{"shouwang/v1/d2/call/offer", ReasonSpoofed},
		{"shouwang/v1/d2/whatever", ReasonSpoofed},
		{"shouwang/v1/d1", ReasonBadTopic},
		{"elsewhere/d1/event", ReasonBadTopic},
		{"zigbee2mqtt/kitchen", ReasonBadTopic},
	}
	for _, tt := range pubs {
		ok, reason := pol.MayPublish(d1, tt.topic)
		if ok != (tt.reason == "") || reason != tt.reason {
			t.Errorf("MayPublish(d1, %q) = %v, %q; want reason %q", tt.topic, ok, reason, tt.reason)
		}
	}
	subs := []struct {
		filter string
		reason Reason
	}{
		{"shouwang/v1/d1/cmd", ""},
		{"shouwang/v1/d1/call/#", ""},
		{"shouwang/v1/d1/call/+", ""},
		{"shouwang/v1/d1/call/answer", ""},
		{"shouwang/v1/d1/#", ReasonBadTopic},
		{"shouwang/v1/d1/event", ReasonBadTopic},
		{"shouwang/v1/d1/+", ReasonBadTopic},
		{"shouwang/v1/d2/cmd", ReasonSpoofed},
		{"shouwang/v1/+/cmd", ReasonSpoofed},
		{"shouwang/v1/#", ReasonSpoofed},
		{"#", ReasonBadTopic},
		{"$SYS/broker/uptime", ReasonBadTopic},
	}
	for _, tt := range subs {
		ok, reason := pol.MayRead(d1, tt.filter)
		if ok != (tt.reason == "") || reason != tt.reason {
			t.Errorf("MayRead(d1, %q) = %v, %q; want reason %q", tt.filter, ok, reason, tt.reason)
		}
	}
	if !pol.WillAllowed(d1, "shouwang/v1/d1/status") || pol.WillAllowed(d1, "shouwang/v1/d2/status") || pol.WillAllowed(d1, "shouwang/v1/d1/event") {
		t.Error("WillAllowed: only the device's own status topic is a valid will topic")
	}
}

func TestNativeSubscriptionsReadable(t *testing.T) {
	pol := NewPolicy()
	for _, s := range pol.Subscriptions(nil) {
		if ok, _ := pol.MayRead(Principal{Role: RoleService}, s.Filter); !ok {
			t.Errorf("the hub subscribes to %q but may not read it", s.Filter)
		}
		if s.Lane != LaneAlarm && s.Lane != LaneTelemetry {
			t.Errorf("%q: lane %q", s.Filter, s.Lane)
		}
	}
}
