package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestDemoVendorDevices runs the demo's vendor devices as devsim plays
// them — a Zigbee2MQTT bridge with an SOS button, smoke, gas, CO and air
// models behind it, and a Shelly Gas on its own account — against the real
// hub with its embedded broker: each registers, reports, and raises the
// alert its alarm means.
func TestDemoVendorDevices(t *testing.T) {
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	v := sim.VendorCommunity("阳光社区", rand.New(rand.NewPCG(7, 8)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sim.RegisterVendors(ctx, http.DefaultClient, base, token, v); err != nil {
		t.Fatal(err)
	}
	vs := sim.NewVendorSim(v, "tcp://"+m.BrokerAddr(), nil, time.Hour, slog.New(slog.DiscardHandler))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- vs.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	// Every Zigbee device is bound; the air monitor's readings arrive.
	eventually(t, time.Minute, "the bridge's devices listed and bound", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?all=1", token, nil, &out)
		bound := 0
		for _, d := range out.Devices {
			if d.DeviceID != "" {
				bound++
			}
		}
		return bound == len(v.Bridges[0].Zigbee), fmt.Sprintf("%d of %d bound", bound, len(out.Devices))
	})
	ids := map[string]string{} // model → device ID
	for _, z := range v.Bridges[0].Zigbee {
		ids[z.Device.Model] = z.Device.ID
	}
	shellyID := v.Shellys[0].Device.ID
	eventually(t, time.Minute, "air readings in InfluxDB", func() (bool, string) {
		n := influx.Count(t, fmt.Sprintf(`SELECT count(co2) FROM air WHERE device = '%s'`, ids["TS0601_smart_air_house_keeper"]))
		return n >= 1, fmt.Sprint(n)
	})

	for _, tc := range []struct {
		action, id string
		kind       alerts.Kind
	}{
		{"press", ids["TS0215A_sos"], alerts.KindSOS},
		{"press", ids["HS1EB/HS1EB-E"], alerts.KindSOS},
		{"smoke", ids["HS1SA-E"], alerts.KindSmoke},
		{"gas", ids["JT-BZ-01AQ/A"], alerts.KindGasLow},
		{"co", ids["HS1CA-E"], alerts.KindCO},
		{"gas", shellyID, alerts.KindGasLow},
	} {
		if err := vs.Trigger(tc.action, tc.id); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, tc.action+" on "+tc.id, func() (bool, string) {
			as := alertsOf(t, base, token, tc.id, tc.kind)
			return len(as) == 1, fmt.Sprintf("%d %s alerts", len(as), tc.kind)
		})
	}
	// Self-tests of the smoke alarm, an installer's few in a row, are each
	// recorded as a test, never a real alert. A self-test is the state
	// with smoke and test on and at once the state with both off: the hub
	// must apply them in the order the bridge sent them (a test state
	// handled after the clear that followed it was taken as an older state
	// and lost, and with it the test).
	smoke := ids["HS1SA-E"]
	if err := vs.Trigger("smoke-clear", smoke); err != nil {
		t.Fatal(err)
	}
	const selfTests = 5
	for range selfTests {
		if err := vs.Trigger("test", smoke); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, time.Minute, "every self-test recorded as a test", func() (bool, string) {
		var out struct {
			Alerts []*alerts.Alert `json:"alerts"`
		}
		api(t, http.MethodGet, fmt.Sprintf("%s/api/v1/alerts?device=%s&test=true", base, smoke), token, nil, &out)
		tests := 0
		for _, a := range out.Alerts {
			if a.Test {
				tests++
			}
		}
		return tests == selfTests && len(out.Alerts) == selfTests, fmt.Sprintf("%d tests of %d alerts, want %d", tests, len(out.Alerts), selfTests)
	})
	if as := alertsOf(t, base, token, smoke, alerts.KindSmoke); len(as) != 1 {
		t.Errorf("%d real smoke alerts after the self-test, want the one from before", len(as))
	}
}
