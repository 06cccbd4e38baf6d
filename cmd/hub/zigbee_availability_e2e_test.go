package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestZigbeeAvailability: what a Zigbee2MQTT bridge says of each device's
// availability reaches supervision (until this test the hub ignored it).
// Three smoke detectors of one building behind a bridge: one says it is
// unavailable and gets its own offline alert after its grace; it says it
// is available again and the alert is marked cleared. Then the bridge goes
// offline itself: one outage of the bridge holding all three (as
// TestBridgeOfflineIsAnOutage), and when it is back its devices' retained
// availability alone — no state message — marks each back and clears it,
// as Zigbee2MQTT does on its start.
func TestZigbeeAvailability(t *testing.T) {
	influx := testenv.Influx(t)
	rules := writeRules(t, `{"supervision": {"smoke": {"grace": "3s"}}}`)
	m := startHub(t, hubOptions{Influx: influx, Args: []string{"-rules", rules}})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	loc := devices.Location{Community: "阳光社区", Grid: "网格一", Building: "7号楼", Unit: "1单元"}
	var created struct{ Password string }
	gw := devices.Device{ID: "zb-7", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt", Location: loc}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, gw, &created); code != http.StatusCreated {
		t.Fatalf("register the bridge: %d", code)
	}
	br := connectBridge(t, "tcp://"+m.BrokerAddr(), "zb-7", created.Password, "zigbee2mqtt")
	var listed [][3]string
	var names, ids []string
	for i := range 3 {
		ieee, name := fmt.Sprintf("0x00158d0008a1c0%02x", i+1), fmt.Sprintf("7-1-%d01/smoke", i+1)
		listed, names, ids = append(listed, [3]string{ieee, name, "HS1SA-E"}), append(names, name), append(ids, fmt.Sprintf("zsmoke-%d", i+1))
	}
	br.publish("bridge/devices", bridgeDevices(listed...), true)
	eventually(t, 30*time.Second, "the bridge's devices discovered", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?gateway=zb-7", token, nil, &out)
		return len(out.Devices) == len(listed), fmt.Sprintf("%+v", out.Devices)
	})
	for i, l := range listed {
		at := loc
		at.Floor, at.Household = fmt.Sprintf("%d层", i+1), fmt.Sprintf("7-1-%d01", i+1)
		d := devices.Device{ID: ids[i], Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: "zb-7", Address: l[0], Location: at}
		if code := api(t, http.MethodPost, base+"/api/v1/devices", token, d, nil); code != http.StatusCreated {
			t.Fatalf("bind %s: %d", ids[i], code)
		}
	}
	for _, n := range names {
		br.publish(n+"/availability", `{"state":"online"}`, true)
		br.publish(n, `{"battery":90,"battery_low":false,"linkquality":100,"smoke":false,"test":false}`, false)
	}
	eventually(t, 30*time.Second, "the detectors heard from", func() (bool, string) {
		var out struct {
			Device   devices.Device
			Refusals []devices.Refusal
		}
		for _, id := range ids {
			api(t, http.MethodGet, base+"/api/v1/devices/"+id, token, nil, &out)
			if !out.Device.Health.Online {
				return false, fmt.Sprintf("%s: %+v, refusals %+v", id, out.Device.Health, out.Refusals)
			}
		}
		return true, ""
	})

	// One detector becomes unavailable (its battery died, it left the
	// mesh): its own offline alert after the grace; available again, the
	// alert is cleared.
	br.publish(names[0]+"/availability", `{"state":"offline"}`, true)
	eventually(t, 30*time.Second, "an offline alert of the unavailable detector", func() (bool, string) {
		off := alertsOfKind(t, base, token, alerts.KindOffline)
		return len(off) == 1 && off[0].DeviceID == ids[0], fmt.Sprintf("%d offline alerts", len(off))
	})
	br.publish(names[0]+"/availability", `{"state":"online"}`, true)
	eventually(t, 30*time.Second, "its offline alert cleared", func() (bool, string) {
		off := alertsOfKind(t, base, token, alerts.KindOffline)
		return len(off) == 1 && off[0].Cleared, fmt.Sprintf("%+v", off)
	})

	// The gateway goes: bridge/state offline (retained), which the broker
	// publishes as the bridge's will when it loses power and Zigbee2MQTT
	// itself when it stops.
	br.publish("bridge/state", `{"state":"offline"}`, true)
	br.c.Disconnect(100)
	var outage *alerts.Alert
	eventually(t, 60*time.Second, "one outage of the bridge", func() (bool, string) {
		os := alertsOfKind(t, base, token, alerts.KindOutage)
		if len(os) != 1 {
			return false, fmt.Sprintf("%d outages", len(os))
		}
		outage = getAlert(t, base, token, os[0].ID)
		return len(outage.Members) == len(ids), fmt.Sprintf("%d members", len(outage.Members))
	})
	if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 1 {
		t.Fatalf("%d offline alerts beside the outage; want only the earlier one", len(off))
	}

	// Power is back: the bridge and its devices say so.
	br = connectBridge(t, "tcp://"+m.BrokerAddr(), "zb-7", created.Password, "zigbee2mqtt")
	for _, n := range names {
		br.publish(n+"/availability", `{"state":"online"}`, true)
	}
	eventually(t, 60*time.Second, "the outage cleared", func() (bool, string) {
		a := getAlert(t, base, token, outage.ID)
		returned := 0
		for _, mb := range a.Members {
			if !mb.ReturnedAt.IsZero() {
				returned++
			}
		}
		return a.Cleared && returned == len(ids), fmt.Sprintf("cleared %v, %d of %d back", a.Cleared, returned, len(ids))
	})
	if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 1 {
		t.Fatalf("%d offline alerts after the return; want only the earlier one", len(off))
	}
}
