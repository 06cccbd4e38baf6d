package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserVendorDevices drives the devices view as an installer would:
// the devices a Zigbee2MQTT bridge reports are listed, Bind fills the form
// and registers one without its address typed, and the device's panel
// shows why the hub refused its malformed message; the self-test button is
// offered, in Chinese and in English, only on a model that has a self-test
// command (the Aqara JY-GZ-01AQ, not the HEIMAN HS1SA-E), and its click
// reaches the device through its bridge.
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
	br.publish("bridge/devices", bridgeDevices([3]string{ieeeSmoke, kitchen, "HS1SA-E"}, [3]string{ieeeHall, hall, "JY-GZ-01AQ"}), true)

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
	if evalJS[bool](p, `!document.querySelector('#btn-selftest').hidden`) {
		t.Error("a self-test button on the panel of the HS1SA-E, a model with no self-test command")
	}
	p.screenshot("device-panel")

	// A model with a self-test: the button, in either language, sends it.
	hallDev := devices.Device{ID: "smoke-z3", Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeHall,
		Location: devices.Location{Community: "阳光社区", Household: "3-2-502"}}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, hallDev, nil); code != http.StatusCreated {
		t.Fatalf("register smoke-z3: %d", code)
	}
	sets := make(chan string, 4)
	if tok := br.c.Subscribe("zigbee2mqtt/"+hall+"/set", 1, func(_ paho.Client, m paho.Message) { sets <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe to the set topic: %v", tok.Error())
	}
	panelOf := func(id string, selfTest bool, label string) {
		t.Helper()
		p.click(fmt.Sprintf(`#device-table tr[data-device-id="%s"] button[data-details]`, id))
		want := `document.querySelector('#btn-selftest').hidden`
		if selfTest {
			want = fmt.Sprintf(`!document.querySelector('#btn-selftest').hidden && document.querySelector('#btn-selftest').textContent === %q`, label)
		}
		p.waitJS(fmt.Sprintf("%s's panel, self-test offered: %v", id, selfTest),
			fmt.Sprintf(`document.querySelector('#device-panel-title').textContent.includes(%q) && %s`, id, want), waitUI)
	}
	p.do("reload", chromedp.Reload())
	p.waitJS("the device list", exists(`#device-table tr[data-device-id="smoke-z3"]`)+" || "+exists(`button[data-view="devices"]`), waitUI)
	if !evalJS[bool](p, exists(`#device-table tr[data-device-id="smoke-z3"]`)) {
		p.click(`button[data-view="devices"]`)
		p.waitJS("smoke-z3 listed", exists(`#device-table tr[data-device-id="smoke-z3"]`), waitUI)
	}
	panelOf("smoke-z3", true, "发送自检指令")
	p.click("#btn-selftest")
	select {
	case got := <-sets:
		if got != `{"selftest":"selftest"}` {
			t.Errorf("self-test command %s, want the model's {\"selftest\":\"selftest\"}", got)
		}
	case <-time.After(waitUI):
		t.Fatal("the page's self-test did not reach the bridge")
	}
	p.waitJS("the page says it was sent", `document.querySelector('#toast').dataset.kind === 'ok' && document.querySelector('#toast').textContent.includes('smoke-z3')`, waitUI)
	panelOf("smoke-z1", false, "")
	p.click("#lang-toggle")
	p.waitJS("English", `document.documentElement.lang === 'en'`, waitUI)
	panelOf("smoke-z3", true, "Send self-test")
	panelOf("smoke-z1", false, "")
	p.screenshot("device-panel-en")
}
