package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTelegrafConf: the side-by-side run's Telegraf configuration says
// what the comparison depends on — QoS 1 on a persistent session under a
// fixed client ID, max_undelivered_messages raised past the default 1,000,
// the device ID taken from the topic, the device's own ts as the time,
// InfluxDB 1.8's database/retention-policy as the bucket, no compression —
// and every TOML string is quoted.
func TestTelegrafConf(t *testing.T) {
	c := telegrafConf{Broker: "tcp://127.0.0.1:41883", ClientID: "bench-telegraf", InfluxURL: "http://127.0.0.1:48086",
		Bucket: "bench_x/autogen", Measurement: "telegraf", BatchSize: 5000, MaxUndelivered: 20000}.String()
	for _, want := range []string{
		`servers = ["tcp://127.0.0.1:41883"]`,
		`topics = ["shouwang/v1/+/telemetry"]`,
		"qos = 1\n",
		`client_id = "bench-telegraf"`,
		"persistent_session = true\n",
		"max_undelivered_messages = 20000\n",
		`name_override = "telegraf"`,
		`data_format = "json"`,
		`json_time_key = "ts"`,
		`json_time_format = "unix_ms"`,
		"[[inputs.mqtt_consumer.topic_parsing]]",
		`tags = "_/_/device/_"`,
		`urls = ["http://127.0.0.1:48086"]`,
		`bucket = "bench_x/autogen"`,
		`content_encoding = "identity"`,
		"metric_batch_size = 5000\n",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("telegraf.conf lacks %q:\n%s", want, c)
		}
	}
	if strings.Count(c, "[[outputs.") != 1 || strings.Count(c, "[[inputs.mqtt_consumer]]") != 1 {
		t.Errorf("want one input and one output:\n%s", c)
	}
	// Quotes: a value with a quote or backslash is escaped (Go's %q is a
	// valid TOML basic string for these).
	odd := telegrafConf{Broker: `tcp://h:1"x`, Bucket: `a\b`}.String()
	if !strings.Contains(odd, `servers = ["tcp://h:1\"x"]`) || !strings.Contains(odd, `bucket = "a\\b"`) {
		t.Errorf("quoting:\n%s", odd)
	}
}

// TestIsPinnedTelegraf: a program is taken for the pinned Telegraf only by
// its Go build information — not this test binary, not a missing file.
func TestIsPinnedTelegraf(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if isPinnedTelegraf(self) {
		t.Error("the test binary was taken for Telegraf")
	}
	if isPinnedTelegraf(filepath.Join(t.TempDir(), "telegraf")) {
		t.Error("a missing file was taken for Telegraf")
	}
}

// TestCompare: the ratios are the hub's over Telegraf's, and the ceiling
// is the cores divided by what the other processes spend per message.
func TestCompare(t *testing.T) {
	hub := ContestantRun{Rate: 40000, CPUMicros: map[string]float64{"hub": 12, "mosquitto": 15, "influxd": 8, "bench": 10}}
	tg := ContestantRun{Rate: 30000, CPUMicros: map[string]float64{"telegraf": 20, "mosquitto": 16, "influxd": 8, "bench": 10}}
	s := compare(hub, tg, 2)
	if s.RateRatio < 1.333 || s.RateRatio > 1.334 || s.CPURatio != 0.6 {
		t.Errorf("ratios %v, %v; want 1.333 and 0.6", s.RateRatio, s.CPURatio)
	}
	if want := 2e6 / 33; s.Ceiling < want-1 || s.Ceiling > want+1 || s.CeilingShare < 0.66 || s.CeilingShare > 0.67 {
		t.Errorf("ceiling %.0f (share %.3f); want %.0f (0.66)", s.Ceiling, s.CeilingShare, want)
	}
	rep := newReport("ingest", nil)
	s.addTo(rep)
	met := map[string]bool{}
	for _, tg := range rep.Targets {
		met[tg.Goal] = tg.Met
	}
	if !met["hub rate ≥ 1.3× Telegraf's"] || !met["hub CPU per message ≤ 0.6× Telegraf's"] || len(rep.Failures) != 0 {
		t.Errorf("targets %+v, failures %v", rep.Targets, rep.Failures)
	}
	if z := compare(hub, ContestantRun{}, 2); z.RateRatio != 0 || z.CPURatio != 0 {
		t.Errorf("against nothing: %+v", z)
	}
}
