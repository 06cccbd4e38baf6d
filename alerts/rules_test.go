package alerts_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestDefaultRules(t *testing.T) {
	rs := alerts.DefaultRules()
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	gas := rs.For(device("gas-1", devices.KindGas, false))
	if gas.Gas != (alerts.GasRules{Low: 10, High: 25, Hysteresis: 2}) || gas.Battery != (alerts.BatteryRules{Low: 15, Replaced: 50}) {
		t.Errorf("gas device rules %+v", gas)
	}
	if !gas.Supervised || gas.Supervision.Reporting.D() != 90*time.Second || gas.Supervision.Heartbeat.D() != 30*time.Second {
		t.Errorf("gas supervision %+v", gas.Supervision)
	}
	if air := rs.For(device("air-1", devices.KindAir, false)); air.Supervised {
		t.Error("air monitors are supervised")
	}
	for sev, want := range map[alerts.Severity][3]time.Duration{
		alerts.SeverityCritical: {30 * time.Second, 120 * time.Second, 15 * time.Minute},
		alerts.SeverityMajor:    {120 * time.Second, 600 * time.Second, 30 * time.Minute},
		alerts.SeverityMinor:    {0, 0, 2 * time.Hour},
	} {
		e := rs.Escalation[sev]
		if got := [3]time.Duration{e.T1.D(), e.T2.D(), e.Reminder.D()}; got != want {
			t.Errorf("escalation %s = %v, want %v", sev, got, want)
		}
	}
}

// TestLoadRules: a file names only what it changes; the rest keeps the
// defaults, field by field.
func TestLoadRules(t *testing.T) {
	rs, err := alerts.LoadRules(strings.NewReader(`{
		"gas": {"high": 30},
		"air": {"pm25": {"limit": 50}, "humidity": {"limit": 80, "hysteresis": 5}},
		"supervision": {"gas": {"reporting": "2m"}},
		"escalation": {"minor": {"t1": "10m", "t2": "1h"}},
		"devices": {"gas-9": {"gas": {"low": 15}, "air": {"co2": {"hysteresis": 50}}, "supervision": {"reporting": "5m"}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := alerts.DefaultRules()
	want.Gas.High = 30
	want.Air["pm25"] = alerts.Limit{Limit: 50, Hysteresis: 10}
	want.Air["humidity"] = alerts.Limit{Limit: 80, Hysteresis: 5}
	want.Supervision[devices.KindGas] = alerts.SupervisionRules{Heartbeat: alerts.Duration(30 * time.Second), Reporting: alerts.Duration(2 * time.Minute), Grace: alerts.Duration(2 * time.Minute)}
	want.Escalation[alerts.SeverityMinor] = alerts.EscalationRules{T1: alerts.Duration(10 * time.Minute), T2: alerts.Duration(time.Hour), Reminder: alerts.Duration(2 * time.Hour)}
	low, hyst, rep := 15.0, 50.0, alerts.Duration(5*time.Minute)
	want.Devices = map[string]alerts.DeviceOverride{"gas-9": {
		Gas:         &alerts.GasOverride{Low: &low},
		Air:         map[string]alerts.LimitOverride{"co2": {Hysteresis: &hyst}},
		Supervision: &alerts.SupervisionOverride{Reporting: &rep},
	}}
	if !reflect.DeepEqual(rs, want) {
		t.Fatalf("LoadRules =\n%+v\nwant\n%+v", rs, want)
	}
	d := rs.For(device("gas-9", devices.KindGas, false))
	if d.Gas != (alerts.GasRules{Low: 15, High: 30, Hysteresis: 2}) || d.Supervision.Reporting.D() != 5*time.Minute {
		t.Errorf("gas-9 rules %+v", d)
	}
	if d.Air["co2"] != (alerts.Limit{Limit: 1500, Hysteresis: 50}) || rs.Air["co2"].Hysteresis != 100 {
		t.Errorf("gas-9 co2 %+v; the rule set's co2 %+v (must be unchanged)", d.Air["co2"], rs.Air["co2"])
	}
	if other := rs.For(device("gas-1", devices.KindGas, false)); other.Gas.Low != 10 {
		t.Errorf("gas-1 got gas-9's override: %+v", other.Gas)
	}
}

// TestRulesRoundTrip: a rule set written as JSON reads back the same.
func TestRulesRoundTrip(t *testing.T) {
	rs := alerts.DefaultRules()
	low := 12.5
	rs.Devices = map[string]alerts.DeviceOverride{"gas-1": {Gas: &alerts.GasOverride{Low: &low}}}
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"reporting":"3m0s"`)) {
		t.Errorf("durations not written as strings: %s", b)
	}
	back, err := alerts.LoadRules(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rs) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back, rs)
	}
}

// TestRulesInvalid: every bad rule is refused with a message naming the
// field.
func TestRulesInvalid(t *testing.T) {
	tests := []struct{ json, msg string }{
		{``, "rules: empty; want a JSON object"},
		{`[]`, "rules: want a JSON object, not a JSON array"},
		{`{"gas": {"low": 30}}`, "rules: gas.high 25: must be above gas.low (30) and at most 100 %LEL"},
		{`{"gas": {"low": 0}}`, "rules: gas.low 0: must be above 0 and at most 100 %LEL"},
		{`{"gas": {"hysteresis": 10}}`, "rules: gas.hysteresis 10: must be at least 0 and below gas.low (10)"},
		{`{"gas": {"high": 101}}`, "rules: gas.high 101: must be above gas.low (10) and at most 100 %LEL"},
		{`{"gas": {"lo": 5}}`, `rules: json: unknown field "lo"`},
		{`{"gas": {"low": "5"}}`, "rules: gas.low: want a number, not a JSON string"},
		{`{"air": {"noise": {"limit": 5}}}`, "rules: air.noise: not a field an air monitor reports"},
		{`{"air": {"battery": {"limit": 5}}}`, "rules: air.battery: not a field an air monitor reports"},
		{`{"air": {"pm25": {"limit": 5000}}}`, "rules: air.pm25.limit 5000: must be above 0 and at most 2000 µg/m³"},
		{`{"air": {"pm25": {"hysteresis": 75}}}`, "rules: air.pm25.hysteresis 75: must be at least 0 and leave the clear level (limit − hysteresis) above 0"},
		{`{"battery": {"low": 60}}`, "rules: battery.replaced 50: must be above battery.low (60) and at most 100 %"},
		{`{"supervision": {"air": {"heartbeat": "1m", "reporting": "3m"}}}`, "rules: supervision.air: not a life-safety kind, so it is not supervised"},
		{`{"supervision": {"lamp": {"heartbeat": "1m", "reporting": "3m"}}}`, "rules: supervision.lamp: unknown device kind"},
		{`{"supervision": {"gas": {"reporting": "10s"}}}`, "rules: supervision.gas.reporting 10s: must be at least the heartbeat (30s) and at most 168h0m0s"},
		{`{"supervision": {"gas": {"heartbeat": "0s"}}}`, "rules: supervision.gas.heartbeat 0s: must be between 1s and 168h0m0s"},
		{`{"supervision": {"gas": {"reporting": "90"}}}`, `rules: duration "90": want a form such as "30s", "15m" or "2h"`},
		{`{"supervision": {"gas": {"reporting": 90}}}`, `rules: want a duration string such as "30s"`},
		{`{"escalation": {"urgent": {"t1": "1s"}}}`, "rules: escalation.urgent: unknown severity (want critical, major or minor)"},
		{`{"escalation": {"minor": {"t2": "5m"}}}`, "rules: escalation.minor.t2 5m0s: needs t1 as well (level 2 follows level 1)"},
		{`{"escalation": {"critical": {"t2": "10s"}}}`, "rules: escalation.critical.t2 10s: must be later than t1 (30s)"},
		{`{"escalation": {"critical": {"reminder": "1ms"}}}`, "rules: escalation.critical.reminder 1ms: must be 0 (never) or between 1s and 720h0m0s"},
		{`{"devices": {"a/b": {}}}`, `rules: devices["a/b"]: not a valid device id`},
		{`{"devices": {"gas-1": {"gas": {"low": 26}}}}`, `rules: devices["gas-1"].gas.high 25: must be above gas.low (26) and at most 100 %LEL`},
		{`{"devices": {"air-1": {"air": {"co2": {"limit": -1}}}}}`, `rules: devices["air-1"].air.co2.limit -1: must be above 0 and at most 40000 ppm`},
		{`{"devices": {"gas-1": {"supervision": {"reporting": "20s"}}}}`, `rules: devices["gas-1"].supervision.reporting 20s: must be at least the heartbeat (1m0s) and at most 168h0m0s`},
		{`{"supervision": {"gas": {"grace": "-1s"}}}`, "rules: supervision.gas.grace -1s: must be between 0 (offline at the last will) and 168h0m0s"},
		{`{"incidents": {"alarm": {"min_alerts": 1}}}`, "rules: incidents.alarm.min_alerts 1: must be 0 (off) or between 2 and 10000"},
		{`{"incidents": {"alarm": {"window": "0s"}}}`, "rules: incidents.alarm.window 0s: must be between 1s and 24h0m0s"},
		{`{"incidents": {"outage": {"min_devices": -3}}}`, "rules: incidents.outage.min_devices -3: must be 0 (off) or between 2 and 10000"},
		{`{"incidents": {"outage": {"window": "48h"}}}`, "rules: incidents.outage.window 48h0m0s: must be between 1s and 24h0m0s"},
		{`{"incidents": {"outage": {"threshold": 3}}}`, `rules: json: unknown field "threshold"`},
		{`{"checkin": {"start": "10:00", "end": "09:00"}}`, "rules: checkin.end 09:00: must be after start (10:00) and at most 24:00"},
		{`{"checkin": {"end": "06:10"}}`, "rules: checkin.end 06:10: the window must be at least 15 minutes long"},
		{`{"checkin": {"start": "6:00"}}`, `rules: time of day "6:00": want HH:MM, such as "06:30"`},
		{`{"checkin": {"start": "24:30"}}`, `rules: time of day "24:30": want HH:MM between 00:00 and 24:00`},
		{`{"checkin": {"zone": "Mars/Olympus"}}`, `rules: checkin.zone "Mars/Olympus": not a time zone this machine knows`},
		{`{"evacuation": {"mobility": [""]}}`, `rules: evacuation.mobility[0] "": want a word of 1 to 32 characters`},
		{`{"notify": {"levels": {"3": ["119"]}}}`, "rules: notify.levels.3: levels are 0 (opening), 1 and 2"},
		{`{"notify": {"levels": {"1": ["mayor"]}}}`, `rules: notify.levels.1: "mayor" is not a party`},
		{`{"notify": {"kinds": {"flood": {"1": ["119"]}}}}`, "rules: notify.kinds.flood: not an alert kind"},
		{`{"notify": {"severities": {"urgent": {"1": ["119"]}}}}`, "rules: notify.severities.urgent: not a severity"},
		{`{"notify": {"communities": {"阳光社区": {"kinds": {"smoke": {"1": ["fire brigade"]}}}}}}`, `rules: notify.communities["阳光社区"].kinds.smoke.1: "fire brigade" is not a party`},
		{`{"followup": {"within": "10s"}}`, "rules: followup.within 10s: must be 0 (no follow-ups) or between 1m0s and 720h0m0s"},
		{`{"followup": {"outcomes": ["test"]}}`, `rules: followup.outcomes: "test" is not an outcome`},
		{`{"followup": {"kinds": ["flood"]}}`, `rules: followup.kinds: "flood" is not an alert kind`},
		{`{} {}`, "rules: unexpected data after the JSON object"},
		{`{"gas": `, "rules: unexpected EOF"},
	}
	for _, tt := range tests {
		_, err := alerts.LoadRules(strings.NewReader(tt.json))
		if shouwang.ErrorCode(err) != shouwang.EINVALID || !strings.HasPrefix(shouwang.ErrorMessage(err), tt.msg) {
			t.Errorf("LoadRules(%s):\n got %v\nwant invalid: %s", tt.json, err, tt.msg)
		}
	}
}

// TestRulesValidateInGo: a rule set built in Go is checked as strictly.
func TestRulesValidateInGo(t *testing.T) {
	rs := alerts.DefaultRules()
	delete(rs.Supervision, devices.KindSmoke)
	if err := rs.Validate(); err == nil || shouwang.ErrorMessage(err) != "rules: supervision.smoke: required for a life-safety kind" {
		t.Errorf("Validate = %v", err)
	}
	if _, err := alerts.NewService(alerts.Config{Rules: rs}); err == nil {
		t.Error("NewService took invalid rules")
	}
	for _, cfg := range []alerts.Config{
		{MaxNotifyAttempts: -1},
	} {
		if _, err := alerts.NewService(cfg); shouwang.ErrorCode(err) != shouwang.EINVALID {
			t.Errorf("NewService(%+v) = %v, want invalid", cfg, err)
		}
	}
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil || !reflect.DeepEqual(svc.Rules(), alerts.DefaultRules()) {
		t.Errorf("the zero Config does not mean the default rules: %v", err)
	}
}

// FuzzLoadRules: no input panics, and whatever loads is valid and reads
// back the same after writing it out.
func FuzzLoadRules(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"gas": {"low": 12, "high": 30, "hysteresis": 3}}`))
	f.Add([]byte(`{"incidents": {"alarm": {"window": "3m", "min_alerts": 2}, "outage": {"min_devices": 0}}, "checkin": {"start": "07:30", "end": "24:00", "zone": "UTC"}}`))
	f.Add([]byte(`{"supervision": {"smoke": {"grace": "0s"}}, "evacuation": {"mobility": ["轮椅"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := alerts.LoadRules(bytes.NewReader(data))
		if err != nil {
			if shouwang.ErrorCode(err) != shouwang.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if err := rs.Validate(); err != nil {
			t.Fatalf("loaded rules do not validate: %v", err)
		}
		b, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := alerts.LoadRules(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("written rules do not load: %v\n%s", err, b)
		}
		b2, _ := json.Marshal(back)
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
	})
}

// TestNotifyPolicy: who is told at each level, by community, kind and
// severity: the defaults out of the box, and a rules file's changes laid
// over them (a community's own levels; a kind replaced; a severity added).
func TestNotifyPolicy(t *testing.T) {
	def := alerts.DefaultRules().Notify
	for _, tc := range []struct {
		kind  alerts.Kind
		sev   alerts.Severity
		level int
		want  string
	}{
		{alerts.KindSOS, alerts.SeverityCritical, 0, "family"},
		{alerts.KindSOS, alerts.SeverityCritical, 1, "grid_worker community_duty"},
		{alerts.KindSOS, alerts.SeverityCritical, 2, "street_leader"},
		{alerts.KindSmoke, alerts.SeverityCritical, 0, ""},
		{alerts.KindSmoke, alerts.SeverityCritical, 1, "grid_worker community_duty 119"},
		{alerts.KindGasHigh, alerts.SeverityCritical, 1, "grid_worker community_duty gas_company"},
		{alerts.KindGasLow, alerts.SeverityMajor, 2, "street_leader gas_company"},
	} {
		if got := strings.Join(def.PartiesFor("阳光社区", tc.kind, tc.sev, tc.level), " "); got != tc.want {
			t.Errorf("default, %s at level %d: %q, want %q", tc.kind, tc.level, got, tc.want)
		}
	}
	rs, err := alerts.LoadRules(strings.NewReader(`{"notify": {
		"kinds": {"smoke": {"1": ["119", "property"]}},
		"severities": {"major": {"1": ["property"]}},
		"communities": {"月季社区": {"levels": {"1": ["community_duty"], "2": []}, "kinds": {"sos": {"0": []}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	n := rs.Notify
	for _, tc := range []struct {
		community string
		kind      alerts.Kind
		sev       alerts.Severity
		level     int
		want      string
	}{
		{"阳光社区", alerts.KindSmoke, alerts.SeverityCritical, 1, "grid_worker community_duty 119 property"},
		{"阳光社区", alerts.KindGasHigh, alerts.SeverityCritical, 1, "grid_worker community_duty gas_company"}, // kept
		{"阳光社区", alerts.KindFault, alerts.SeverityMajor, 1, "grid_worker community_duty property"},
		{"阳光社区", alerts.KindSOS, alerts.SeverityCritical, 0, "family"},
		{"月季社区", alerts.KindSOS, alerts.SeverityCritical, 0, ""},
		{"月季社区", alerts.KindSOS, alerts.SeverityCritical, 1, "community_duty"},
		{"月季社区", alerts.KindSOS, alerts.SeverityCritical, 2, ""},
		{"月季社区", alerts.KindSmoke, alerts.SeverityCritical, 1, "community_duty 119 property"}, // the street's kinds
	} {
		if got := strings.Join(n.PartiesFor(tc.community, tc.kind, tc.sev, tc.level), " "); got != tc.want {
			t.Errorf("%s, %s at level %d: %q, want %q", tc.community, tc.kind, tc.level, got, tc.want)
		}
	}
}
