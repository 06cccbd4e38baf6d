package main

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// asDevice connects with a device's own credentials, runs fn, and
// disconnects.
func asDevice(t *testing.T, brokerURL string, dev sim.DeviceSpec, fn func(c paho.Client)) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(dev.Device.ID).SetUsername(dev.Device.ID).
		SetPassword(dev.Password).SetConnectTimeout(10 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect as %s: %v", dev.Device.ID, tok.Error())
	}
	defer c.Disconnect(100)
	fn(c)
}

// TestBrokerRefusalsAreCounted: at the embedded broker, a publish to a
// wildcard topic and a packet over its size limit are each counted under a
// reason of their own on /metrics.
func TestBrokerRefusalsAreCounted(t *testing.T) {
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base, broker := "http://"+m.HTTPAddr(), "tcp://"+m.BrokerAddr()
	specs := register(t, base, gasDevices("ref", 2))
	asDevice(t, broker, specs[0], func(c paho.Client) {
		c.Publish("shouwang/v1/ref-0001/+", 1, false, `{"seq":1}`).WaitTimeout(2 * time.Second) // the broker closes the connection
	})
	asDevice(t, broker, specs[1], func(c paho.Client) {
		c.Publish(devices.Topic("ref-0002", devices.ChannelTelemetry), 1, false, bytes.Repeat([]byte("x"), 1<<20)).WaitTimeout(2 * time.Second)
	})
	for _, reason := range []string{"wildcard_topic", "packet_too_large"} {
		eventually(t, 30*time.Second, reason+" counted", func() (bool, string) {
			n := metric(t, base, "shouwang_ingest_rejected_total", `reason="`+reason+`"`)
			return n == 1, fmt.Sprint(n)
		})
	}
}

// TestRetainedSOSNeverReplays: a press published retained is stored once;
// after a restart of the hub (which subscribes again, so a broker replays
// retained messages) the press does not reach ingest again — with the
// embedded broker, which keeps no retained copy, and with mosquitto, which
// does and whose replay the hub refuses and counts.
func TestRetainedSOSNeverReplays(t *testing.T) {
	for _, external := range []bool{false, true} {
		name := map[bool]string{false: "embedded", true: "mosquitto"}[external]
		t.Run(name, func(t *testing.T) {
			o := hubOptions{Influx: testenv.Influx(t), DataDir: t.TempDir()}
			if external {
				o.MQTTURL = testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true}).URL()
			}
			m := startHub(t, o)
			brokerURL := func() string {
				if external {
					return o.MQTTURL
				}
				return "tcp://" + m.BrokerAddr()
			}
			base := "http://" + m.HTTPAddr()
			spec := register(t, base, []*devices.Device{{ID: "sos-r01", Kind: devices.KindSOSButton,
				Location: devices.Location{Community: "阳光社区", Building: "1号楼", Household: "1-1-101"}}})[0]
			press := func(seq int, retained bool) {
				asDevice(t, brokerURL(), spec, func(c paho.Client) {
					p := fmt.Sprintf(`{"seq":%d,"ts":%d,"type":"sos"}`, seq, time.Now().UnixMilli())
					if tok := c.Publish(devices.Topic(spec.Device.ID, devices.ChannelEvent), 1, retained, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
						t.Fatalf("press: %v", tok.Error())
					}
				})
			}
			events := func(name string) float64 {
				return metric(t, base, "shouwang_ingest_"+name+"_total", `channel="event"`)
			}
			retainedRefused := func() float64 { return metric(t, base, "shouwang_ingest_rejected_total", `reason="retained"`) }

			press(1, true)
			eventually(t, 30*time.Second, "the retained press stored", func() (bool, string) {
				n := events("stored")
				return n == 1, fmt.Sprint(n)
			})
			if n, want := retainedRefused(), map[bool]float64{false: 1, true: 0}[external]; n != want {
				// The embedded broker refuses the retain flag as the press
				// comes in; mosquitto keeps the copy.
				t.Errorf("retained refusals before the restart: %v, want %v", n, want)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			m = startHub(t, o)
			base = "http://" + m.HTTPAddr()
			// A second press, not retained: the alarm lane delivers in
			// order, so once it is in, any replay from the subscription
			// would have come before it.
			press(2, false)
			eventually(t, 30*time.Second, "the second press", func() (bool, string) {
				n := events("received")
				return n >= 1, fmt.Sprint(n)
			})
			if n := events("received"); n != 1 {
				t.Errorf("the restarted hub took %v events, want 1: the retained press came back", n)
			}
			if n := events("duplicates"); n != 0 {
				t.Errorf("%v duplicate events after the restart, want 0", n)
			}
			if n, want := retainedRefused(), map[bool]float64{false: 0, true: 1}[external]; n != want {
				t.Errorf("retained replays refused after the restart: %v, want %v", n, want)
			}
		})
	}
}
