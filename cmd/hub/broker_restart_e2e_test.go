package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrokerRestartFloodsNothing: the hub runs on an external mosquitto
// with a building of smoke detectors reporting every 2 s (silent after
// 10 s, a last will's grace 4 s) that try to reconnect at least every 2 s
// (a reporting time shorter than a device's reconnect back-off would flag
// it rightly). mosquitto stops for longer than the
// reporting time and grace together, and starts again with its saved
// sessions; the detectors and the hub reconnect by themselves. No detector
// gets an offline alert and no building an outage: while the hub cannot
// hear, it judges no silence, and when it hears again each device has a
// full reporting time. One control detector, stopped while the broker was
// down, does not come back: its offline alert is what shows every other
// device's deadline has passed.
func TestBrokerRestartFloodsNothing(t *testing.T) {
	influx := testenv.Influx(t)
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true})
	rules := writeRules(t, `{"supervision": {"smoke": {"heartbeat": "2s", "reporting": "10s", "grace": "4s"}}}`)
	m := startHub(t, hubOptions{MQTTURL: mq.URL(), Influx: influx, Args: []string{"-rules", rules}})
	base := "http://" + m.HTTPAddr()
	building := register(t, base, smokeBuilding("brk", "7号楼", 30))
	control := register(t, base, smokeBuilding("ctl", "99号楼", 1))
	devicesOn := func(specs []sim.DeviceSpec) sim.Config {
		return sim.Config{BrokerURL: mq.URL(), Devices: specs, ConnectConcurrency: 16, MaxReconnectInterval: 2 * time.Second,
			TelemetryEvery: map[devices.Kind]time.Duration{devices.KindSmoke: 2 * time.Second}}
	}
	runSim(t, devicesOn(building))
	ctl := runSim(t, devicesOn(control))
	token := login(t, base)
	eventually(t, 30*time.Second, "every detector online", func() (bool, string) {
		var sum struct{ Online int }
		getJSON(t, base+"/api/v1/devices/summary", token, &sum)
		return sum.Online == len(building)+len(control), fmt.Sprintf("%d of %d", sum.Online, len(building)+len(control))
	})

	t.Logf("broker stopping at %s", time.Now().Format(time.StampMilli))
	mq.Stop()
	eventually(t, 30*time.Second, "the hub not ready without its broker", func() (bool, string) {
		code, checks := readiness(t, base)
		return code != http.StatusOK, fmt.Sprint(code, checks)
	})
	ctl.Close() // gone while the broker is away: it will not come back
	// Away for longer than a detector's reporting time and grace: the
	// scenario's length, not a wait for something.
	time.Sleep(15 * time.Second)
	mq.Start()
	t.Logf("broker started at %s", time.Now().Format(time.StampMilli))
	eventually(t, 60*time.Second, "the hub ready again", func() (bool, string) {
		code, checks := readiness(t, base)
		return code == http.StatusOK, fmt.Sprint(code, checks)
	})

	onlyTheControlOffline(t, base, token, control[0].Device.ID, 90*time.Second)
}
