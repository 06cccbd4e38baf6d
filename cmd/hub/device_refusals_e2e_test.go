package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestNativeDeviceRefusalsOnItsPage: what the embedded broker and ingest
// refuse of a native device — a wrong password, a client ID that is not
// its ID, a publish under another device's prefix, a malformed payload —
// is kept for its installer: on the device's page (the API the console's
// panel reads) and in hubctl devices get, each with its reason and what
// was sent.
func TestNativeDeviceRefusalsOnItsPage(t *testing.T) {
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base, broker := "http://"+m.HTTPAddr(), "tcp://"+m.BrokerAddr()
	token := login(t, base)
	specs := register(t, base, []*devices.Device{sosButton("sos-r1"), sosButton("sos-r2")})
	dev := specs[0]

	// MQTT 3.1.1 only: paho would otherwise try 3.1 after a refusal, and
	// each try is a refusal (the page keeps a burst of 5 a device).
	connect := func(clientID, password string) error {
		return connectOnce(paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetUsername("sos-r1").SetPassword(password).
			SetProtocolVersion(4).SetConnectTimeout(10 * time.Second).SetAutoReconnect(false))
	}
	if err := connect("sos-r1", "guess"); err == nil {
		t.Fatal("a wrong password was let in")
	}
	if err := connect("sos-r1-other", dev.Password); err == nil {
		t.Fatal("a client ID other than the device's was let in")
	}
	asDevice(t, broker, dev, func(c paho.Client) {
		// QoS 0: a refused QoS 1 publish closes the connection, and the
		// malformed payload still has to be sent.
		c.Publish(devices.Topic("sos-r2", devices.ChannelEvent), 0, false, `{"seq":1,"ts":1763800000000,"type":"sos"}`).WaitTimeout(5 * time.Second)
		c.Publish(devices.Topic("sos-r1", devices.ChannelEvent), 1, false, `{"seq":1,"ts":`).WaitTimeout(10 * time.Second)
	})
	want := []devices.Reason{"bad_credentials", devices.ReasonSpoofed, devices.ReasonMalformed}
	eventually(t, 30*time.Second, "each refusal on sos-r1's page", func() (bool, string) {
		rs := refusalsOf(t, base, token, "sos-r1")
		for _, r := range want {
			if !hasReason(rs, r) {
				return false, fmt.Sprintf("no %s in %+v", r, rs)
			}
		}
		var spoofs int
		for _, r := range rs {
			if r.Reason == devices.ReasonSpoofed {
				spoofs++
			}
		}
		// One for the client ID, one for the other device's topic.
		return spoofs == 2, fmt.Sprintf("%d spoofed: %+v", spoofs, rs)
	})
	if rs := refusalsOf(t, base, token, "sos-r2"); len(rs) != 0 {
		t.Errorf("sos-r2, whose topic was used, has refusals of its own: %+v", rs)
	}
	out := runHubctl(t, buildHubctl(t), base, token, "devices", "get", "sos-r1")
	for _, s := range []string{"bad_credentials", "spoofed", "malformed", "sos-r1-other", "shouwang/v1/sos-r2/event"} {
		if !strings.Contains(out, s) {
			t.Errorf("hubctl devices get sos-r1 lacks %q:\n%s", s, out)
		}
	}
}
