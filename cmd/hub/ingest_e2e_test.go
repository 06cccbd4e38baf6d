package main

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestTelemetryEndToEnd runs the real hub with its embedded broker, SQLite
// and a real InfluxDB 1.8: 100 devices send 100 readings each; exactly
// 10,000 points arrive with the right tags, fields and timestamps; sending
// them all again adds nothing; bad messages are refused and counted while
// the good ones flow.
func TestTelemetryEndToEnd(t *testing.T) {
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	specs := register(t, base, gasDevices("gas", 101))
	// The last device is not simulated: it plays a compromised device
	// publishing under another's topic, on a connection of its own.
	spoofer := specs[100]
	specs = specs[:100]
	brokerURL := "tcp://" + m.BrokerAddr()
	s := connectDevices(t, brokerURL, specs)
	all := ids(specs)

	done := make(chan struct{})
	go func() { defer close(done); publishStream(t, s, all, 1, 100, nil) }()
	sendBadMessages(t, brokerURL, base, s, specs[0].Device.ID, spoofer)
	<-done

	countPoints := func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == 10000, fmt.Sprintf("%d points", n)
	}
	eventually(t, 2*time.Minute, "10,000 points in InfluxDB", countPoints)

	// Every field, tag and timestamp of one device, exactly.
	rows := influx.Query(t, `SELECT time, lel, temperature, battery, seq, building, community, grid, kind FROM gas WHERE device = 'gas-0042' ORDER BY time`)
	if len(rows) != 100 {
		t.Fatalf("gas-0042 has %d points, want 100", len(rows))
	}
	for i, r := range rows {
		seq := i + 1
		ts, lel, _ := reading(seq)
		if int64(r[0].(float64)) != ts || math.Abs(r[1].(float64)-lel) > 1e-9 || r[2].(float64) != 21.5 ||
			r[3].(float64) != 90 || int(r[4].(float64)) != seq ||
			r[5] != "5号楼" || r[6] != "阳光社区" || r[7] != "网格一" || r[8] != "gas" {
			t.Fatalf("gas-0042 point %d = %v; want ts %d lel %g seq %d in 5号楼/阳光社区/网格一", i, r, ts, lel, seq)
		}
	}

	// The history endpoint reads the same points back through Flux.
	var hist struct {
		Points []devices.Reading `json:"points"`
	}
	from := time.UnixMilli(baseTS).UTC().Format(time.RFC3339)
	to := time.UnixMilli(baseTS + 101_000).UTC().Format(time.RFC3339)
	if code := getJSON(t, base+"/api/v1/devices/gas-0042/telemetry?field=lel&from="+from+"&to="+to, login(t, base), &hist); code != http.StatusOK {
		t.Fatalf("history: status %d", code)
	}
	if len(hist.Points) != 100 {
		t.Fatalf("history has %d points, want 100", len(hist.Points))
	}
	for i, p := range hist.Points {
		ts, lel, _ := reading(i + 1)
		if p.Time.UnixMilli() != ts || math.Abs(p.Value-lel) > 1e-9 {
			t.Fatalf("history point %d = %+v, want %d %g", i, p, ts, lel)
		}
	}

	// Everything again: a redelivery storm. Nothing new is stored.
	publishStream(t, s, all, 1, 100, nil)
	// At least 10,000: a device's own retry in the first round counts too.
	eventually(t, time.Minute, "10,000 duplicates counted", func() (bool, string) {
		d := metric(t, base, "shouwang_ingest_duplicates_total", `channel="telemetry"`)
		return d >= 10000, fmt.Sprintf("%v duplicates", d)
	})
	eventually(t, time.Minute, "spool drained", func() (bool, string) {
		d := metric(t, base, "shouwang_spool_depth", "")
		return d == 0, fmt.Sprintf("depth %v", d)
	})
	if n := influx.Count(t, `SELECT count(seq) FROM gas`); n != 10000 {
		t.Fatalf("after re-publishing: %d points, want 10000", n)
	}
	if got := metric(t, base, "shouwang_ingest_stored_total", `channel="telemetry"`); got != 10000 {
		t.Errorf("stored_total = %v, want 10000", got)
	}

	var ready struct {
		OK     bool
		Checks map[string]string
	}
	if code := getJSON(t, base+"/readyz", "", &ready); code != http.StatusOK || !ready.OK {
		t.Errorf("/readyz = %d %+v", code, ready)
	}
}

// sendBadMessages sends one of each kind of bad message and checks each is
// refused and counted, while the caller's good stream keeps flowing.
func sendBadMessages(t *testing.T, brokerURL, base string, s *sim.Sim, victim string, spoofer sim.DeviceSpec) {
	t.Helper()
	bad := []struct {
		payload string
		reason  devices.Reason
	}{
		{`{"seq":1,"ts":1763800000000,"lel":`, devices.ReasonMalformed},
		{`{"seq":2,"ts":1763800000000,"lel":NaN}`, devices.ReasonMalformed},
		{`{"seq":3,"ts":1763800000000,"lel":1e999}`, devices.ReasonOutOfRange},
		{`{"seq":4,"ts":1763800000000,"lel":250}`, devices.ReasonOutOfRange},
		{`{"seq":5,"ts":1763800000000,"lel":"high"}`, devices.ReasonBadType},
		{`{"seq":6,"ts":1763800000000,"pm25":10}`, devices.ReasonUnknownField},
		{`{"seq":7,"ts":1763800000000,"pad":"` + strings.Repeat("x", 8000) + `"}`, devices.ReasonOversized},
	}
	for _, b := range bad {
		if err := s.Publish(victim, devices.ChannelTelemetry, []byte(b.payload)); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bad {
		eventually(t, 30*time.Second, "rejection "+string(b.reason), func() (bool, string) {
			v := metric(t, base, "shouwang_ingest_rejected_total", `reason="`+string(b.reason)+`"`)
			return v >= 1, fmt.Sprintf("%v", v)
		})
	}

	// A device publishing on another device's topic is refused by the broker.
	if err := spoofPublish(brokerURL, spoofer, victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "spoofed publish counted", func() (bool, string) {
		v := metric(t, base, "shouwang_ingest_rejected_total", `reason="spoofed"`)
		return v >= 1, fmt.Sprintf("%v", v)
	})

	// An unregistered device cannot connect; installers see it listed.
	if err := strangerConnect(brokerURL, "stranger-0001"); err == nil {
		t.Error("an unregistered device was allowed to connect")
	}
	eventually(t, 30*time.Second, "unregistered device listed", func() (bool, string) {
		var out struct {
			Devices []devices.Unregistered `json:"devices"`
		}
		getJSON(t, base+"/api/v1/devices/unregistered", login(t, base), &out)
		for _, u := range out.Devices {
			if u.ID == "stranger-0001" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", out.Devices)
	})
	if v := metric(t, base, "shouwang_ingest_rejected_total", `reason="unregistered"`); v < 1 {
		t.Errorf("unregistered rejections = %v", v)
	}
}
