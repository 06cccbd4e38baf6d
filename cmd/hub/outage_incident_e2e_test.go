package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// smokeBuilding makes n smoke detectors in one building of 阳光社区, ten
// households a floor.
func smokeBuilding(prefix, building string, n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		ds[i] = &devices.Device{
			ID: fmt.Sprintf("%s-%03d", prefix, i+1), Kind: devices.KindSmoke,
			Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: building,
				Unit: fmt.Sprintf("%d单元", i%2+1), Floor: fmt.Sprintf("%d层", i/10+1),
				Household: fmt.Sprintf("%d-%d%02d", i%2+1, i/10+1, i%10+1)},
			Resident: devices.Resident{Name: "住户" + fmt.Sprint(i+1), BirthYear: 1940 + i%30, LivesAlone: i%3 == 0},
		}
	}
	return ds
}

// alertsOfKind lists the alerts of a kind (any state, tests excluded).
func alertsOfKind(t *testing.T, base, token string, kind alerts.Kind) []*alerts.Alert {
	t.Helper()
	var out alertList
	if code, body := apiCall(t, "GET", base+"/api/v1/alerts?limit=1000&kind="+string(kind), token, nil, &out); code != 200 {
		t.Fatalf("list %s alerts: %d %s", kind, code, body)
	}
	return out.Alerts
}

// runDevices runs a simulator of specs until the test ends (or stop is
// called): real devices with their last wills, announcing themselves
// online, reporting rarely.
func runDevices(t *testing.T, brokerURL string, specs []sim.DeviceSpec) (s *sim.Sim, stop func()) {
	t.Helper()
	s = runSim(t, sim.Config{BrokerURL: brokerURL, Devices: specs, ConnectConcurrency: 32,
		TelemetryEvery: map[devices.Kind]time.Duration{devices.KindSmoke: time.Hour, devices.KindSOSButton: time.Hour,
			devices.KindGas: time.Hour, devices.KindAir: time.Hour}})
	return s, func() { s.Close() }
}

// TestOutageOfABuilding: 100 smoke detectors of one building go offline
// together (each says so as it goes, as a power cut's last wills do). After
// their grace, one outage incident holds all 100 — not an offline alert
// each; a detector of another building stays out of it. When they come
// back, each is marked back and the outage is cleared, still open for a
// person. On SQLite and PostgreSQL.
func TestOutageOfABuilding(t *testing.T) {
	influx := testenv.Influx(t)
	eachStore(t, func(t *testing.T, db string) {
		rules := writeRules(t, `{"supervision": {"smoke": {"reporting": "1h", "grace": "3s"}}}`)
		m := startHub(t, hubOptions{Influx: influx, DB: db, Args: []string{"-rules", rules}})
		base, broker := "http://"+m.HTTPAddr(), "tcp://"+m.BrokerAddr()
		token := login(t, base)
		building := register(t, base, smokeBuilding("b1", "1号楼", 100))
		other := register(t, base, smokeBuilding("b2", "2号楼", 1))
		_, stopOther := runDevices(t, broker, other)
		defer stopOther()
		_, stop := runDevices(t, broker, building)

		stop() // every detector of 1号楼 says it goes (status offline), then disconnects
		var outage *alerts.Alert
		eventually(t, 30*time.Second, "one outage incident with the 100 detectors", func() (bool, string) {
			list := alertsOfKind(t, base, token, alerts.KindOutage)
			if len(list) != 1 {
				return false, fmt.Sprintf("%d outages", len(list))
			}
			outage = list[0]
			return outage.Incident.Devices == 100, fmt.Sprintf("%d devices", outage.Incident.Devices)
		})
		if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 0 {
			t.Fatalf("%d offline alerts beside the outage (a per-device flood)", len(off))
		}
		full := getAlert(t, base, token, outage.ID)
		if in := full.Incident; in.Building != "1号楼" || len(full.Members) != 100 || full.Severity != alerts.SeverityMajor || len(in.Floors) != 10 {
			t.Fatalf("outage: %+v, %d members", in, len(full.Members))
		}
		for _, mb := range full.Members {
			if mb.DeviceID[:2] != "b1" {
				t.Fatalf("a device of another building in the outage: %s", mb.DeviceID)
			}
		}

		_, stopAgain := runDevices(t, broker, building) // power back: they reconnect
		defer stopAgain()
		eventually(t, 30*time.Second, "the outage cleared as the detectors came back", func() (bool, string) {
			a := getAlert(t, base, token, outage.ID)
			return a.Cleared && a.Incident.Returned == 100 && a.State == alerts.StateNew,
				fmt.Sprintf("cleared=%v returned=%d state=%s", a.Cleared, a.Incident.Returned, a.State)
		})
		if off := alertsOfKind(t, base, token, alerts.KindOffline); len(off) != 0 {
			t.Fatalf("%d offline alerts after the return", len(off))
		}
	})
}

// TestRestartFloodsNothing is the demo stopped and started again: the
// simulated community says every device goes (status offline) and
// disconnects, the hub stops, the hub starts on the same data (the broker
// hands it every device's retained offline status again) and the
// community comes back. No device gets an offline alert, no building an
// outage. One detector does not come back: it is offline once its grace
// has passed, which is also when every other device's would have been.
func TestRestartFloodsNothing(t *testing.T) {
	influx := testenv.Influx(t)
	data := t.TempDir()
	rules := writeRules(t, `{"supervision": {"sos_button": {"grace": "8s"}, "smoke": {"grace": "8s"}, "gas": {"grace": "8s"}, "co": {"grace": "8s"}}}`)
	opts := hubOptions{Influx: influx, DataDir: data, Args: []string{"-rules", rules}}
	m := startHub(t, opts)
	base := "http://" + m.HTTPAddr()
	community := register(t, base, sim.Community("阳光社区", 3, 8, nil))
	control := register(t, base, smokeBuilding("ctl", "99号楼", 1))
	everyone := append(append([]sim.DeviceSpec{}, community...), control...)
	s, _ := runDevices(t, "tcp://"+m.BrokerAddr(), everyone)
	token := login(t, base)
	eventually(t, 30*time.Second, "every device online", func() (bool, string) {
		var sum struct{ Online int }
		getJSON(t, base+"/api/v1/devices/summary", token, &sum)
		return sum.Online == len(everyone), fmt.Sprintf("%d of %d", sum.Online, len(everyone))
	})

	s.Close()                         // the demo's Ctrl-C stops the simulator first…
	if err := m.Close(); err != nil { // …then the hub
		t.Fatal(err)
	}
	m = startHub(t, opts)
	base = "http://" + m.HTTPAddr()
	token = login(t, base)
	_, stop := runDevices(t, "tcp://"+m.BrokerAddr(), community) // all but the control detector
	defer stop()

	onlyTheControlOffline(t, base, token, control[0].Device.ID, 30*time.Second)
}

// onlyTheControlOffline waits for the control device's offline alert (it
// did not come back, so once it is flagged every other device's deadline
// has passed too) and fails unless it is the only offline alert and no
// outage opened.
func onlyTheControlOffline(t *testing.T, base, token, control string, within time.Duration) {
	t.Helper()
	eventually(t, within, "the control device offline", func() (bool, string) {
		return len(alertsOfKind(t, base, token, alerts.KindOffline)) > 0, "no offline alert yet"
	})
	off := alertsOfKind(t, base, token, alerts.KindOffline)
	if len(off) != 1 || off[0].DeviceID != control {
		t.Fatalf("offline alerts for %v; want only the control device's", deviceIDs(off))
	}
	if outages := alertsOfKind(t, base, token, alerts.KindOutage); len(outages) != 0 {
		a := getAlert(t, base, token, outages[0].ID)
		var ms []string
		for _, mb := range a.Members {
			ms = append(ms, fmt.Sprintf("%s since %s back %s", mb.DeviceID, mb.Since.Format(time.StampMilli), mb.ReturnedAt.Format(time.StampMilli)))
		}
		t.Fatalf("%d outages; the first opened %s: %v", len(outages), a.OpenedAt.Format(time.StampMilli), ms)
	}
}
