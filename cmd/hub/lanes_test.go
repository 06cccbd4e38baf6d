package main

import (
	"slices"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

func TestHubLanes(t *testing.T) {
	lanes, err := hubLanes([]devices.Subscription{
		{Filter: "a/+/event", Lane: devices.LaneAlarm},
		{Filter: "a/+/telemetry", Lane: devices.LaneTelemetry},
		{Filter: "z2m/+", Lane: devices.LaneAlarm},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lanes) != 2 || lanes[0].name != devices.LaneAlarm || lanes[1].name != devices.LaneTelemetry {
		t.Fatalf("lanes %+v: want alarm, then telemetry", lanes)
	}
	alarm, tele := lanes[0], lanes[1]
	if !slices.Equal(alarm.filters, []string{"a/+/event", "z2m/+"}) || !slices.Equal(tele.filters, []string{"a/+/telemetry"}) {
		t.Errorf("filters: alarm %q, telemetry %q", alarm.filters, tele.filters)
	}
	// The telemetry lane is the old single session: it gives up what the
	// alarm lane now reads.
	if !slices.Equal(tele.retire, alarm.filters) || len(alarm.retire) != 0 {
		t.Errorf("retire: alarm %q, telemetry %q", alarm.retire, tele.retire)
	}
	if alarm.clientID("hub") != "hub-alarm" || tele.clientID("hub") != "hub" {
		t.Errorf("client IDs %q, %q", alarm.clientID("hub"), tele.clientID("hub"))
	}
	if _, err := hubLanes([]devices.Subscription{{Filter: "x", Lane: "bulk"}}); err == nil {
		t.Error("a subscription in an unknown lane was accepted")
	}
	// The native codec's filters split as the protocol says.
	native, err := hubLanes(devices.NewPolicy().Subscriptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(native[0].filters, "shouwang/v1/+/event") || !slices.Equal(native[1].filters, []string{"shouwang/v1/+/telemetry"}) {
		t.Errorf("native lanes: %+v", native)
	}
}
