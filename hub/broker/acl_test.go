package broker

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

func TestServiceTopics(t *testing.T) {
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
		{"shouwang/v1/+/call/+/x", true, false},
		{"shouwang/v1/d1/cmd", false, true},
		{"shouwang/v1/+/cmd", false, false},
		{"shouwang/v1/#", false, false},
		{"shouwang/v1/+/#", false, false},
		{"shouwang/v1/+/event/x", false, false},
		{"shouwang/v1/+/call/#/x", false, false},
		{"shouwang/v1/+/call/a#", false, false},
		{"shouwang/v1/bad id/event", false, false},
		{"#", false, false},
		{"$SYS/#", false, false},
		{"other/topic", false, false},
	}
	for _, tt := range tests {
		if got := serviceMayRead(tt.topic); got != tt.read {
			t.Errorf("serviceMayRead(%q) = %v, want %v", tt.topic, got, tt.read)
		}
		if got := serviceMayPublish(tt.topic); got != tt.write {
			t.Errorf("serviceMayPublish(%q) = %v, want %v", tt.topic, got, tt.write)
		}
	}
}

func TestDeviceTopics(t *testing.T) {
	pubs := []struct {
		topic  string
		reason devices.Reason // "" = allowed
	}{
		{"shouwang/v1/d1/event", ""},
		{"shouwang/v1/d1/telemetry", ""},
		{"shouwang/v1/d1/status", ""},
		{"shouwang/v1/d1/call/offer", ""},
		{"shouwang/v1/d1/call/a/b", ""},
		{"shouwang/v1/d1/cmd", devices.ReasonBadTopic},
		{"shouwang/v1/d1/call", devices.ReasonBadTopic},
		{"shouwang/v1/d1/other", devices.ReasonBadTopic},
		{"shouwang/v1/d1/event/x", devices.ReasonBadTopic},
		{"shouwang/v1/d2/event", devices.ReasonSpoofed},
		{"shouwang/v1/d2/call/offer", devices.ReasonSpoofed},
		{"shouwang/v1/d2/whatever", devices.ReasonSpoofed},
		{"shouwang/v1/d1", devices.ReasonBadTopic},
		{"elsewhere/d1/event", devices.ReasonBadTopic},
	}
	for _, tt := range pubs {
		ok, reason := deviceMayPublish("d1", tt.topic)
		if ok != (tt.reason == "") || reason != tt.reason {
			t.Errorf("deviceMayPublish(d1, %q) = %v, %q; want reason %q", tt.topic, ok, reason, tt.reason)
		}
	}
	subs := []struct {
		filter string
		reason devices.Reason
	}{
		{"shouwang/v1/d1/cmd", ""},
		{"shouwang/v1/d1/call/#", ""},
		{"shouwang/v1/d1/call/+", ""},
		{"shouwang/v1/d1/call/answer", ""},
		{"shouwang/v1/d1/#", devices.ReasonBadTopic},
		{"shouwang/v1/d1/event", devices.ReasonBadTopic},
		{"shouwang/v1/d1/+", devices.ReasonBadTopic},
		{"shouwang/v1/d2/cmd", devices.ReasonSpoofed},
		{"shouwang/v1/+/cmd", devices.ReasonSpoofed},
		{"shouwang/v1/#", devices.ReasonSpoofed},
		{"#", devices.ReasonBadTopic},
		{"$SYS/broker/uptime", devices.ReasonBadTopic},
	}
	for _, tt := range subs {
		ok, reason := deviceMayRead("d1", tt.filter)
		if ok != (tt.reason == "") || reason != tt.reason {
			t.Errorf("deviceMayRead(d1, %q) = %v, %q; want reason %q", tt.filter, ok, reason, tt.reason)
		}
	}
	if !deviceWillOK("d1", "shouwang/v1/d1/status") || deviceWillOK("d1", "shouwang/v1/d2/status") || deviceWillOK("d1", "shouwang/v1/d1/event") {
		t.Error("deviceWillOK: only the device's own status topic is a valid will topic")
	}
}

func TestAuthCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newAuthCache(func() time.Time { return now })
	good, bad := c.sum([]byte("right")), c.sum([]byte("wrong"))
	if c.hit("d1", good) {
		t.Fatal("hit on an empty cache")
	}
	c.put("d1", good)
	if !c.hit("d1", good) {
		t.Error("miss right after put")
	}
	if c.hit("d1", bad) {
		t.Error("a different password hit the cached success")
	}
	if c.hit("d2", good) {
		t.Error("another device hit d1's entry")
	}
	now = now.Add(authCacheTTL)
	if c.hit("d1", good) {
		t.Error("hit after the TTL")
	}
}
