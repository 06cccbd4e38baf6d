package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/mqttc/mqttctest"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestMalformedPacketIsCountedOnMetrics: a malformed packet in the
// broker's stream to the hub's alarm lane (injected by a proxy in front of
// mosquitto) shows on /metrics under that lane and in one warning naming
// it; the lane reconnects and the events before and after are stored.
func TestMalformedPacketIsCountedOnMetrics(t *testing.T) {
	influx := testenv.Influx(t)
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true})
	proxy := mqttctest.NewProxy(t, mq.Addr())
	logs := &lineCounter{t: t}
	logs.on.Store(true)
	const id = "mal-hub"
	m := startHub(t, hubOptions{MQTTURL: "tcp://" + proxy.Addr(), Influx: influx, Stderr: logs,
		Args: []string{"-mqtt-client-id", id}})
	base := "http://" + m.HTTPAddr()
	specs := register(t, base, gasDevices("mal", 1))
	s := connectDevices(t, mq.URL(), specs)
	dev := specs[0].Device.ID

	stored := func(want float64) {
		t.Helper()
		eventually(t, time.Minute, fmt.Sprintf("%v events stored", want), func() (bool, string) {
			n := metric(t, base, "shouwang_ingest_stored_total", `channel="event"`)
			return n == want, fmt.Sprint(n)
		})
	}
	event := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"type":"test"}`, seq, baseTS+int64(seq))
	}
	malformed := func(lane string) float64 {
		return metric(t, base, "shouwang_mqtt_malformed_packets_total", `lane="`+lane+`"`)
	}

	if err := publishRetry(s, dev, devices.ChannelEvent, event(1)); err != nil {
		t.Fatal(err)
	}
	stored(1)
	if n := malformed("alarm"); n != 0 {
		t.Fatalf("%v malformed packets counted before any was sent", n)
	}

	if err := proxy.Inject(id+"-alarm", mqttctest.MalformedPublish); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the malformed packet counted on the alarm lane", func() (bool, string) {
		n := malformed("alarm")
		return n == 1, fmt.Sprint(n)
	})
	eventually(t, time.Minute, "the alarm lane connected again", func() (bool, string) {
		n := metric(t, base, "shouwang_mqtt_lane_connected", `lane="alarm"`)
		return n == 1 && proxy.Connections(id+"-alarm") >= 2, fmt.Sprintf("connected %v, connections %d", n, proxy.Connections(id+"-alarm"))
	})

	if err := publishRetry(s, dev, devices.ChannelEvent, event(2)); err != nil {
		t.Fatal(err)
	}
	stored(2)
	if n := malformed("telemetry"); n != 0 {
		t.Errorf("%v malformed packets counted on the telemetry lane, want 0", n)
	}
	if n := malformed("alarm"); n != 1 {
		t.Errorf("%v malformed packets counted on the alarm lane, want 1", n)
	}
	_, text := logs.lines()
	var warned []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "refused a malformed packet") {
			warned = append(warned, l)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "lane=alarm") || !strings.Contains(warned[0], "client_id="+id+"-alarm") ||
		!strings.Contains(warned[0], "topic of 10") {
		t.Errorf("want one warning naming the lane, its client and the reason; got %q", warned)
	}
}
