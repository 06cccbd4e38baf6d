package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestSupervisionAt100k registers 100,000 supervised call buttons that
// have all been heard from, and one gas detector with a 3 s reporting time.
// When the detector falls silent it is flagged offline once its reporting
// time has passed — not before, and not long after — while none of the
// others is; when it speaks again the alert is marked cleared.
func TestSupervisionAt100k(t *testing.T) {
	const n = 100_000
	data := t.TempDir()
	st, err := sqlstore.Open(filepath.Join(data, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash := devices.HashPassword("same-for-all")
	batch := make([]*devices.Device, 0, 5000)
	hashes := make([]string, 0, 5000)
	var health []devices.HealthUpdate
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("sup-%06d", i+1)
		batch = append(batch, &devices.Device{ID: id, Kind: devices.KindSOSButton,
			Location: devices.Location{Community: "幸福社区", Building: fmt.Sprintf("%d号楼", i/500+1)}})
		hashes = append(hashes, hash)
		health = append(health, devices.HealthUpdate{ID: id, LastSeen: now})
		if len(batch) == cap(batch) {
			if err := st.ImportDevices(ctx, batch, hashes); err != nil {
				t.Fatal(err)
			}
			batch, hashes = batch[:0], hashes[:0]
		}
	}
	if err := st.UpdateHealth(ctx, health); err != nil {
		t.Fatal(err)
	}
	gasPW := "gas-watch-password"
	gas := &devices.Device{ID: "gas-watch", Kind: devices.KindGas, Location: devices.Location{Community: "幸福社区", Household: "9-9-909"}}
	if err := st.CreateDevice(ctx, gas, devices.HashPassword(gasPW)); err != nil {
		t.Fatal(err)
	}
	st.Close()

	rules := writeRules(t, `{"supervision": {"sos_button": {"reporting": "1h"}, "gas": {"heartbeat": "1s", "reporting": "3s"}}}`)
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx, DataDir: data, Args: []string{"-rules", rules}})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), []sim.DeviceSpec{{Device: gas, Password: gasPW}})

	var lastSent time.Time
	for seq := 1; seq <= 3; seq++ {
		_, _, p := reading(seq)
		if err := s.Publish("gas-watch", devices.ChannelTelemetry, p); err != nil {
			t.Fatal(err)
		}
		lastSent = time.Now()
	}
	// Silent from here on.
	var off *alerts.Alert
	eventually(t, 20*time.Second, "the silent detector flagged offline", func() (bool, string) {
		for _, a := range findAlerts(t, base, admin, "gas-watch") {
			if a.Kind == alerts.KindOffline {
				off = a
				return true, ""
			}
		}
		return false, "no offline alert"
	})
	late := off.OpenedAt.Sub(lastSent)
	if late < 3*time.Second-100*time.Millisecond || late > 3*time.Second+2*time.Second {
		t.Fatalf("flagged %v after the last message; want its 3 s reporting time (within 2 s)", late)
	}
	if off.Severity != alerts.SeverityMajor || off.Cleared {
		t.Fatalf("offline alert = %+v", off)
	}
	var list alertList
	if code, body := apiCall(t, "GET", base+"/api/v1/alerts?kind=offline", admin, nil, &list); code != 200 || list.Total != 1 {
		t.Fatalf("offline alerts: %d %s (want exactly the one)", code, body)
	}

	// It speaks again: the alert is marked cleared (and stays open for a person).
	_, _, p := reading(4)
	if err := s.Publish("gas-watch", devices.ChannelTelemetry, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the offline alert cleared", func() (bool, string) {
		a := getAlert(t, base, admin, off.ID)
		return a.Cleared && a.State == alerts.StateNew, fmt.Sprintf("cleared=%v state=%s", a.Cleared, a.State)
	})
}
