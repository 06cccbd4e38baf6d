package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestZigbeeBridgeE2E runs a Zigbee2MQTT bridge against the real hub
// process, through the embedded broker and through mosquitto: a real MQTT
// client plays the bridge (retained bridge/devices, availability, state
// messages); an installer binds a discovered device with hubctl; a smoke
// alarm opens one alert, ten repeats add nothing, the clear marks it
// cleared; the hub SIGKILLed between a gas onset and its repeat and
// started again neither duplicates nor loses the onset; a bridge cannot
// publish under the native prefix or another bridge's base topic; and the
// refusals show on the device's page and in hubctl devices get.
func TestZigbeeBridgeE2E(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { zigbeeScenario(t, true) })
	t.Run("mosquitto", func(t *testing.T) { zigbeeScenario(t, false) })
}

const (
	ieeeSmoke   = "0x00158d0008a1b2c3"
	ieeeGas     = "0x00158d0008a1b2c4"
	ieeeB2Smoke = "0x00158d0008a1b2c5"
	ieeeHall    = "0x54ef441000a1b2c6"
	kitchen     = "3-2-502/kitchen smoke"
	hall        = "3-2-502/hall smoke"
)

func zigbeeScenario(t *testing.T, embedded bool) {
	influx := testenv.Influx(t)
	bin, hubctl := buildHub(t), buildHubctl(t)
	data := t.TempDir()
	p, base := newHubProcess(t, bin, data, influx)
	var brokerURL string
	pw := map[string]string{} // bridge passwords
	if embedded {
		mqttPort := testenv.FreePort(t)
		brokerURL = "tcp://127.0.0.1:" + strconv.Itoa(mqttPort)
		p.env = append(p.env, "HUB_MQTT_LISTEN=127.0.0.1:"+strconv.Itoa(mqttPort))
	} else {
		// mosquitto is given its accounts and ACL from the domain's policy.
		pw["zb-1"], pw["zb-2"] = "bridge-one-secret", "bridge-two-secret"
		pwFile, aclFile := mosquittoFiles(t, "hub-secret", map[string][2]string{
			"zb-1": {pw["zb-1"], "zigbee2mqtt"}, "zb-2": {pw["zb-2"], "zigbee2mqtt_b2"},
		})
		mq := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwFile, ACLFile: aclFile})
		brokerURL = mq.URL()
		p.env = append(p.env, "HUB_MQTT_URL="+brokerURL, "HUB_MQTT_USERNAME=hub", "HUB_MQTT_PASSWORD=hub-secret")
	}
	p.start()
	waitReady := p.waitReady
	waitReady()
	token := login(t, base)
	loc := devices.Location{Community: "阳光社区", Building: "3号楼", Household: "3-2-502"}

	// Two bridges, each with its own account and base topic.
	for _, b := range []struct{ id, base string }{{"zb-1", "zigbee2mqtt"}, {"zb-2", "zigbee2mqtt_b2"}} {
		var created struct{ Password string }
		d := devices.Device{ID: b.id, Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: b.base, Location: loc}
		if code := api(t, http.MethodPost, base+"/api/v1/devices", token, d, &created); code != http.StatusCreated {
			t.Fatalf("register bridge %s: %d", b.id, code)
		}
		if embedded {
			pw[b.id] = created.Password
		}
	}
	br := connectBridge(t, brokerURL, "zb-1", pw["zb-1"], "zigbee2mqtt")
	br.publish("bridge/devices", bridgeDevices([3]string{ieeeSmoke, kitchen, "HS1SA-E"}, [3]string{ieeeGas, "3-2-502/gas", "HS1CG"},
		[3]string{ieeeHall, hall, "JY-GZ-01AQ"}), true)
	br.publish(kitchen+"/availability", `{"state":"online"}`, true)

	// The installer sees the two devices the bridge reports and binds one
	// with hubctl, by its name: no address typed.
	eventually(t, 30*time.Second, "the bridge's devices discovered", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?gateway=zb-1", token, nil, &out)
		return len(out.Devices) == 3, fmt.Sprintf("%+v", out.Devices)
	})
	out := runHubctl(t, hubctl, base, token, "devices", "discovered")
	if !strings.Contains(out, kitchen) || !strings.Contains(out, "HS1SA-E") || !strings.Contains(out, "smoke") {
		t.Fatalf("hubctl devices discovered:\n%s", out)
	}
	out = runHubctl(t, hubctl, base, token, "devices", "bind", "-gateway", "zb-1", "-name", kitchen, "-id", "smoke-z1",
		"-community", "阳光社区", "-building", "3号楼", "-household", "3-2-502", "-resident", "王奶奶")
	if !strings.Contains(out, "smoke-z1 (smoke)") {
		t.Fatalf("hubctl devices bind:\n%s", out)
	}
	gas := devices.Device{ID: "gas-z1", Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeGas, Location: loc}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, gas, nil); code != http.StatusCreated {
		t.Fatalf("bind gas-z1: %d", code)
	}

	// A smoke alarm opens one alert; ten repeats of the whole state add
	// nothing; the barrier is a later reading of the same device.
	state := func(smoke bool, battery, lq int) string {
		return fmt.Sprintf(`{"battery":%d,"battery_low":false,"linkquality":%d,"smoke":%v,"test":false}`, battery, lq, smoke)
	}
	br.publish(kitchen, state(false, 90, 100), false)
	br.publish(kitchen, state(true, 90, 101), false)
	eventually(t, 30*time.Second, "one smoke alert", func() (bool, string) {
		as := alertsOf(t, base, token, "smoke-z1", alerts.KindSmoke)
		return len(as) == 1, fmt.Sprintf("%d alerts", len(as))
	})
	for i := range 10 {
		br.publish(kitchen, state(true, 90, 110+i), false)
	}
	br.publish(kitchen, state(true, 61, 120), false)
	eventually(t, 30*time.Second, "the barrier reading", func() (bool, string) {
		b := deviceBattery(t, base, token, "smoke-z1")
		return b == 61, fmt.Sprint(b)
	})
	if as := alertsOf(t, base, token, "smoke-z1", alerts.KindSmoke); len(as) != 1 || as[0].Cleared || as[0].Severity != alerts.SeverityCritical {
		t.Fatalf("after ten repeats: %d smoke alerts (%+v), want one, open, critical", len(as), as)
	}
	// The store beside the running hub (SQLite lets this process read).
	st, err := sqlstore.Open(filepath.Join(data, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wantEvents := func(id string, want ...devices.EventType) {
		t.Helper()
		evs, err := st.ListEvents(context.Background(), id, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []devices.EventType
		for _, e := range slices.Backward(evs) {
			got = append(got, e.Type)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s's stored events: %v, want %v", id, got, want)
		}
	}
	wantEvents("smoke-z1", devices.EventSmoke)

	// The hub is killed right after a gas onset is acknowledged by the
	// broker, and started again; then the repeat comes.
	br.publish("3-2-502/gas", `{"battery_low":false,"gas":false,"linkquality":90,"tamper":false}`, false)
	br.publish("3-2-502/gas", `{"battery_low":false,"gas":true,"linkquality":91,"tamper":false}`, false)
	p.signal(syscall.SIGKILL)
	p.start()
	waitReady()
	if embedded { // the broker died with the hub: the bridge reconnects
		br = connectBridge(t, brokerURL, "zb-1", pw["zb-1"], "zigbee2mqtt")
	}
	br.publish("3-2-502/gas", `{"battery_low":false,"gas":true,"linkquality":95,"tamper":false}`, false)
	br.publish(kitchen, state(true, 62, 121), false) // barrier
	eventually(t, time.Minute, "the gas onset, once", func() (bool, string) {
		as := alertsOf(t, base, token, "gas-z1", alerts.KindGasLow)
		return len(as) == 1 && deviceBattery(t, base, token, "smoke-z1") == 62, fmt.Sprintf("%d gas alerts", len(as))
	})
	if as := alertsOf(t, base, token, "smoke-z1", alerts.KindSmoke); len(as) != 1 {
		t.Fatalf("after the restart: %d smoke alerts, want 1", len(as))
	}
	wantEvents("gas-z1", devices.EventGas)
	wantEvents("smoke-z1", devices.EventSmoke)

	// The clear marks the alert cleared.
	br.publish(kitchen, state(false, 62, 122), false)
	eventually(t, 30*time.Second, "smoke cleared", func() (bool, string) {
		as := alertsOf(t, base, token, "smoke-z1", alerts.KindSmoke)
		return len(as) == 1 && as[0].Cleared, fmt.Sprintf("%+v", as)
	})
	wantEvents("smoke-z1", devices.EventSmoke, devices.EventSmokeClear)

	// A self-test from hubctl reaches the device through its bridge
	// (<base>/<name>/set, the model's own command); the alarm it sounds is
	// recorded as a test, never a real alert. A model without a self-test
	// command is told so.
	hallDev := devices.Device{ID: "smoke-z3", Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeHall, Location: loc}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, hallDev, nil); code != http.StatusCreated {
		t.Fatalf("bind smoke-z3: %d", code)
	}
	sets := make(chan string, 4)
	if tok := br.c.Subscribe("zigbee2mqtt/"+hall+"/set", 1, func(_ paho.Client, m paho.Message) { sets <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe to the set topic: %v", tok.Error())
	}
	out = runHubctl(t, hubctl, base, token, "devices", "selftest", "smoke-z3")
	select {
	case got := <-sets:
		if got != `{"selftest":"selftest"}` {
			t.Errorf("self-test command %s, want the model's {\"selftest\":\"selftest\"}", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no self-test command reached the bridge (hubctl said %q)", out)
	}
	br.publish(hall, `{"battery":100,"smoke":true,"test":true,"linkquality":80}`, false)
	br.publish(hall, `{"battery":99,"smoke":false,"test":false,"linkquality":81}`, false)
	eventually(t, 30*time.Second, "the self-test recorded as a test", func() (bool, string) {
		var out struct {
			Alerts []*alerts.Alert `json:"alerts"`
		}
		api(t, http.MethodGet, base+"/api/v1/alerts?device=smoke-z3&test=all", token, nil, &out)
		return len(out.Alerts) == 1 && out.Alerts[0].Test, fmt.Sprintf("%d alerts", len(out.Alerts))
	})
	if code := api(t, http.MethodPost, base+"/api/v1/devices/gas-z1/selftest", token, nil, nil); code != http.StatusBadRequest {
		t.Errorf("self-test of a model without one: %d, want 400", code)
	}

	// A malformed payload shows on the device's page.
	br.publish(kitchen, `{"smoke":`, false)
	eventually(t, 30*time.Second, "the malformed payload on smoke-z1's page", func() (bool, string) {
		rs := refusalsOf(t, base, token, "smoke-z1")
		return hasReason(rs, devices.ReasonMalformed), fmt.Sprintf("%+v", rs)
	})

	// The second bridge and a device behind it.
	br2 := connectBridge(t, brokerURL, "zb-2", pw["zb-2"], "zigbee2mqtt_b2")
	br2.publish("bridge/devices", bridgeDevices([3]string{ieeeB2Smoke, "b2 smoke", "HS1SA-E"}), true)
	eventually(t, 30*time.Second, "the second bridge's device discovered", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?gateway=zb-2", token, nil, &out)
		return len(out.Devices) == 1, fmt.Sprintf("%+v", out.Devices)
	})
	smoke2 := devices.Device{ID: "smoke-z2", Source: devices.SourceZigbee2MQTT, Gateway: "zb-2", Address: ieeeB2Smoke, Location: loc}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, smoke2, nil); code != http.StatusCreated {
		t.Fatalf("bind smoke-z2: %d", code)
	}

	// The first bridge tries the second's base topic and the native
	// prefix. The embedded broker refuses and reports both; mosquitto's
	// ACL, written from the same policy, drops them.
	attacker := connectBridge(t, brokerURL, "zb-1", pw["zb-1"], "zigbee2mqtt")
	for _, topic := range []string{"zigbee2mqtt_b2/b2 smoke", devices.Topic("smoke-z2", devices.ChannelEvent)} {
		payload := `{"smoke":true,"battery":99}`
		if strings.HasPrefix(topic, devices.TopicPrefix) {
			payload = `{"seq":1,"ts":1763800000000,"type":"smoke"}`
		}
		tok := attacker.c.Publish(topic, 0, false, payload)
		tok.WaitTimeout(10 * time.Second)
	}
	if embedded {
		eventually(t, 30*time.Second, "both foreign topics on zb-1's page", func() (bool, string) {
			rs := refusalsOf(t, base, token, "zb-1")
			n := 0
			for _, r := range rs {
				if strings.Contains(r.Detail, "zigbee2mqtt_b2") || strings.Contains(r.Detail, devices.TopicPrefix) {
					n++
				}
			}
			return n == 2, fmt.Sprintf("%+v", rs)
		})
	}
	// Barrier: the second bridge's own message about its device.
	br2.publish("b2 smoke", `{"battery":57,"battery_low":false,"smoke":false,"test":false}`, false)
	eventually(t, 30*time.Second, "the second bridge's reading", func() (bool, string) {
		b := deviceBattery(t, base, token, "smoke-z2")
		return b == 57, fmt.Sprint(b)
	})
	if as := alertsOf(t, base, token, "smoke-z2", alerts.KindSmoke); len(as) != 0 {
		t.Fatalf("a bridge raised %d smoke alerts for another bridge's device", len(as))
	}

	if embedded {
		// A wrong password shows on the bridge's page too.
		if err := strangerConnect(brokerURL, "zb-1"); err == nil {
			t.Fatal("a wrong password was let in")
		}
		eventually(t, 30*time.Second, "the wrong password on zb-1's page", func() (bool, string) {
			rs := refusalsOf(t, base, token, "zb-1")
			return hasReason(rs, "bad_credentials"), fmt.Sprintf("%+v", rs)
		})
		out = runHubctl(t, hubctl, base, token, "devices", "get", "zb-1")
		for _, want := range []string{"bad_credentials", "zigbee2mqtt_b2", devices.TopicPrefix} {
			if !strings.Contains(out, want) {
				t.Errorf("hubctl devices get zb-1 lacks %q:\n%s", want, out)
			}
		}
	}
	out = runHubctl(t, hubctl, base, token, "devices", "get", "smoke-z1")
	if !strings.Contains(out, "malformed") || !strings.Contains(out, ieeeSmoke) {
		t.Errorf("hubctl devices get smoke-z1:\n%s", out)
	}
	// The readings reached InfluxDB.
	eventually(t, time.Minute, "vendor readings in InfluxDB", func() (bool, string) {
		n := influx.Count(t, `SELECT count(battery) FROM smoke WHERE device = 'smoke-z1'`)
		return n >= 3, fmt.Sprintf("%d points", n)
	})
}
