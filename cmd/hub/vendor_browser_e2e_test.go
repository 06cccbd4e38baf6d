package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserVendorDevices drives the devices view as an installer would:
// the devices a Zigbee2MQTT bridge reports are listed, Bind fills the form
// and registers one without its address typed, and the device's panel
// shows why the hub refused its malformed message.
func TestBrowserVendorDevices(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	var created struct{ Password string }
	gw := devices.Device{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt",
		Location: devices.Location{Community: "阳光社区"}}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, gw, &created); code != http.StatusCreated {
		t.Fatalf("register the bridge: %d", code)
	}
	br := connectBridge(t, "tcp://"+m.BrokerAddr(), "zb-1", created.Password, "zigbee2mqtt")
	br.publish("bridge/devices", bridgeDevices([3]string{ieeeSmoke, kitchen, "HS1SA-E"}), true)

	p := newPage(t, base, "installer")
	p.login("admin", adminPassword)
	p.click(`button[data-view="devices"]`)
	p.waitJS("the reported device listed", exists(fmt.Sprintf(`#discovered-table tr[data-ieee="%s"] button[data-bind]`, ieeeSmoke)), waitUI)
	p.click(fmt.Sprintf(`#discovered-table tr[data-ieee="%s"] button[data-bind]`, ieeeSmoke))
	if got := evalJS[string](p, `document.querySelector('#device-form').elements.address.value`); got != ieeeSmoke {
		t.Fatalf("Bind filled the address with %q", got)
	}
	p.fill("#device-form", map[string]string{"id": "smoke-z1", "community": "阳光社区", "household": "3-2-502"})
	p.click("#btn-register")
	p.waitJS("the device registered", exists(`#device-table tr[data-device-id="smoke-z1"]`), waitUI)
	if shown := evalJS[bool](p, `!document.querySelector('#new-credentials').hidden`); shown {
		t.Error("a password was shown for a device that speaks through its bridge")
	}

	// A malformed message from the device shows on its panel.
	br.publish(kitchen, `{"smoke":`, false)
	eventually(t, waitUI, "the refusal stored", func() (bool, string) {
		rs := refusalsOf(t, base, token, "smoke-z1")
		return hasReason(rs, devices.ReasonMalformed), fmt.Sprint(rs)
	})
	p.click(`#device-table tr[data-device-id="smoke-z1"] button[data-details]`)
	p.waitJS("the refusal on the device's panel", exists(`#refusal-list li[data-reason="malformed"]`), waitUI)
	if !evalJS[bool](p, `!document.querySelector('#btn-selftest').hidden`) {
		t.Error("no self-test button on a vendor device's panel")
	}
	p.screenshot("device-panel")
}
