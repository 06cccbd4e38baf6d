package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := Summarise(ds)
	if l.N != 100 || l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Errorf("Summarise(1..100 ms) = %+v", l)
	}
	if one := Summarise([]time.Duration{7 * time.Millisecond}); one.P50 != 7 || one.P99 != 7 {
		t.Errorf("Summarise(7 ms) = %+v", one)
	}
	if empty := Summarise(nil); empty.N != 0 {
		t.Errorf("Summarise(nil) = %+v", empty)
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(`# HELP shouwang_ingest_stored_total Device messages durably stored, by channel.
# TYPE shouwang_ingest_stored_total counter
shouwang_ingest_stored_total{channel="event"} 3
shouwang_ingest_stored_total{channel="telemetry"} 1.5e+06
shouwang_ingest_stored_total_extra 9
shouwang_spool_depth 42
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Sum("shouwang_ingest_stored_total", `channel="telemetry"`); got != 1.5e6 {
		t.Errorf("telemetry stored = %v; want 1.5e6", got)
	}
	if got := m.Sum("shouwang_ingest_stored_total"); got != 1.5e6+3 {
		t.Errorf("all stored = %v; want the sum over channels, not the _extra metric", got)
	}
	if got := m.Sum("shouwang_spool_depth"); got != 42 {
		t.Errorf("spool depth = %v", got)
	}
}

func TestReadProcStat(t *testing.T) {
	// Burn CPU until the kernel has counted some (a clock tick, 10 ms):
	// on a loaded machine 50 ms of wall time may not get one.
	var st ProcStat
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		for x := 0; x < 1e6; x++ {
			_ = x * x
		}
		if st, err = ReadProcStat(0); err != nil {
			t.Fatal(err)
		}
		if st.CPU > 0 {
			break
		}
	}
	if st.CPU <= 0 || st.RSS <= 0 || st.PeakRSS < st.RSS {
		t.Errorf("ReadProcStat(self) = %+v; want CPU > 0 and 0 < RSS ≤ peak", st)
	}
}

// TestParseChange checks the fast live-feed parser against encoding/json on
// a real alert, including a device whose free text holds quoted keys.
func TestParseChange(t *testing.T) {
	opened := time.Date(2026, 11, 22, 7, 0, 0, 123456789, time.UTC)
	a := &alerts.Alert{ID: 42, Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, DeviceID: "sos-0007",
		Device: devices.Device{ID: "sos-0007", Kind: devices.KindSOSButton,
			Resident: devices.Resident{Name: `王"id":1`, CareNotes: `"occurrences":9, "version":7`}},
		OpenedAt: opened, Occurrences: 1, Version: 3, IncidentID: 5}
	// The feed's own message struct puts "type" first.
	msg := []byte(`{"type":"change","seq":17,"alert":` + string(mustJSON(t, a)) + `}`)
	c, isChange, ok := parseChange(msg)
	if !isChange || !ok {
		t.Fatalf("parseChange: isChange %v ok %v", isChange, ok)
	}
	var want struct {
		Type string `json:"type"`
		Change
	}
	if err := json.Unmarshal(msg, &want); err != nil {
		t.Fatal(err)
	}
	if c.Seq != want.Seq || c.Alert.ID != want.Alert.ID || c.Alert.Kind != want.Alert.Kind || c.Alert.DeviceID != want.Alert.DeviceID ||
		c.Alert.Version != want.Alert.Version || c.Alert.Occurrences != want.Alert.Occurrences || !c.Alert.OpenedAt.Equal(want.Alert.OpenedAt) ||
		c.Alert.IncidentID != 5 || want.Alert.IncidentID != 5 {
		t.Errorf("parseChange = %+v; encoding/json = %+v", c, want.Change)
	}
	// An incident is left to encoding/json.
	inc := &alerts.Alert{ID: 43, Kind: alerts.KindBuildingAlarm, DeviceID: "building:x", Incident: &alerts.Incident{Alerts: 3, Devices: 3}}
	if _, isChange, ok := parseChange([]byte(`{"type":"change","seq":18,"alert":` + string(mustJSON(t, inc)) + `}`)); !isChange || ok {
		t.Errorf("incident: isChange %v ok %v; want true, false", isChange, ok)
	}
	if _, isChange, ok := parseChange([]byte(`{"type":"snapshot","seq":1,"alerts":[]}`)); isChange || !ok {
		t.Errorf("snapshot: isChange %v ok %v; want false, true", isChange, ok)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
