package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/tlsconf"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestHubToExternalBrokerOverTLS: the hub's own MQTT clients reach an
// external mosquitto over TLS (-mqtt-url tls://…) verifying it with
// -mqtt-cafile: every lane is connected, and a press a device publishes on
// the broker's plain listener reaches the hub through its TLS sessions and
// is acknowledged back to the device.
func TestHubToExternalBrokerOverTLS(t *testing.T) {
	ca, err := tlsconf.OpenLocalCA(filepath.Join(t.TempDir(), "tls"), []string{"localhost", "127.0.0.1"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	tlsPort := testenv.FreePort(t)
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{Extra: fmt.Sprintf("listener %d 127.0.0.1\ncertfile %s\nkeyfile %s\n",
		tlsPort, ca.CertFile(), ca.KeyFile())})
	m := startHub(t, hubOptions{Influx: testenv.Influx(t), MQTTURL: "tls://127.0.0.1:" + strconv.Itoa(tlsPort),
		Args: []string{"-mqtt-cafile", ca.CAFile()}})
	if ok, why := lanesConnected(m.lanes); !ok {
		t.Fatalf("the hub's sessions over TLS: %s", why)
	}
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	s := connectDevices(t, mq.URL(), register(t, base, []*devices.Device{sosButton("sos-x1")}))
	seq, err := s.Press("sos-x1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the press acknowledged through the hub's TLS sessions", func() (bool, string) {
		as := findAlerts(t, base, token, "sos-x1")
		return len(as) == 1 && received(s, "sos-x1", fmt.Sprintf(`"type":"ack","seq":%d`, seq)), fmt.Sprintf("%d alerts, %q", len(as), s.Received("sos-x1"))
	})
}
