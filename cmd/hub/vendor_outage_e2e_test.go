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

// TestBridgeOfflineIsAnOutage: a Zigbee2MQTT bridge says it goes offline
// (bridge/state, as Zigbee2MQTT publishes when it stops and as its last
// will), so every device behind it is unreachable, though none of them
// said so. After their grace one outage incident names the bridge and
// holds both of its devices — fewer than a building's outage needs, but
// the bridge itself failed — and no device gets an offline alert of its
// own. When the bridge is back and its devices report, the outage clears.
func TestBridgeOfflineIsAnOutage(t *testing.T) {
	rules := writeRules(t, `{"supervision": {"smoke": {"reporting": "1h", "grace": "3s"}, "sos_button": {"reporting": "1h", "grace": "3s"}}}`)
	m := startHub(t, hubOptions{Influx: testenv.Influx(t), Args: []string{"-rules", rules}})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	loc := devices.Location{Community: "阳光社区", Building: "3号楼", Household: "3-2-502"}
	var created struct{ Password string }
	gw := devices.Device{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt", Location: loc}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, gw, &created); code != http.StatusCreated {
		t.Fatalf("register the bridge: %d", code)
	}
	br := connectBridge(t, "tcp://"+m.BrokerAddr(), "zb-1", created.Password, "zigbee2mqtt")
	const sosName, ieeeSOS = "3-2-502/sos", "0x00158d0008a1b2c7"
	br.publish("bridge/devices", bridgeDevices([3]string{ieeeSmoke, kitchen, "HS1SA-E"}, [3]string{ieeeSOS, sosName, "TS0215A_sos"}), true)
	eventually(t, 30*time.Second, "the bridge's devices discovered", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?gateway=zb-1", token, nil, &out)
		return len(out.Devices) == 2, fmt.Sprintf("%+v", out.Devices)
	})
	for _, d := range []devices.Device{
		{ID: "smoke-z1", Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeSmoke, Location: loc},
		{ID: "sos-z1", Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeSOS, Location: loc},
	} {
		if code := api(t, http.MethodPost, base+"/api/v1/devices", token, d, nil); code != http.StatusCreated {
			t.Fatalf("bind %s: %d", d.ID, code)
		}
	}
	report := func(battery int) {
		br.publish(kitchen, fmt.Sprintf(`{"battery":%d,"battery_low":false,"smoke":false,"test":false}`, battery), false)
		br.publish(sosName, fmt.Sprintf(`{"action":"","battery":%d}`, battery), false)
	}
	report(90)
	eventually(t, 30*time.Second, "both devices heard", func() (bool, string) {
		a, b := deviceBattery(t, base, token, "smoke-z1"), deviceBattery(t, base, token, "sos-z1")
		return a == 90 && b == 90, fmt.Sprint(a, b)
	})

	// The bridge stops: its devices said nothing, but none can be heard.
	br.publish("bridge/state", `{"state":"offline"}`, true)
	var outage *alerts.Alert
	eventually(t, 30*time.Second, "one outage of the bridge's two devices", func() (bool, string) {
		list := alertsOfKind(t, base, token, alerts.KindOutage)
		if len(list) != 1 {
			return false, fmt.Sprintf("%d outages", len(list))
		}
		outage = list[0]
		return outage.Incident.Devices == 2, fmt.Sprintf("%d devices", outage.Incident.Devices)
	})
	if in := outage.Incident; in.Gateway != "zb-1" || in.Scope != alerts.GatewayScope("zb-1") {
		t.Errorf("the outage's incident: %+v, want the bridge zb-1's scope", in)
	}
	if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 0 {
		t.Errorf("%d offline alerts beside the bridge's outage", len(off))
	}

	// The bridge is back and its devices report: the outage clears.
	br.publish("bridge/state", `{"state":"online"}`, true)
	report(89)
	eventually(t, 30*time.Second, "the outage cleared as the devices came back", func() (bool, string) {
		a := getAlert(t, base, token, outage.ID)
		return a.Cleared && a.Incident.Returned == 2, fmt.Sprintf("cleared=%v returned=%d", a.Cleared, a.Incident.Returned)
	})
	if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 0 {
		t.Errorf("%d offline alerts after the return", len(off))
	}
}
