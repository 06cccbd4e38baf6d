package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/parts"
)

// The side-by-side mode (ingest -telegraf): the same ingest load, in the
// same run, against Telegraf's mqtt_consumer → outputs.influxdb_v2 on a
// fresh broker and database of its own, and the hub/Telegraf ratios of
// rate and CPU per message. Telegraf is built on demand, by this mode
// only, with `go install` of a pinned release into .tools/bin (a custom
// build with just the plugins it needs); scripts/setup never builds it.

// Telegraf's pinned release and the plugins its custom build carries.
const (
	telegrafModule  = "github.com/influxdata/telegraf/cmd/telegraf"
	telegrafVersion = "1.37.2"
	telegrafTags    = "custom,inputs.mqtt_consumer,outputs.influxdb_v2,parsers.json"
)

// Side-by-side targets from issue 15 (hub against Telegraf).
const (
	targetSideRate = 1.3 // the hub's rate at least this many times Telegraf's
	targetSideCPU  = 0.6 // the hub's CPU per message at most this share of Telegraf's
)

// withTelegraf is ingest's -telegraf flag.
var withTelegraf bool

// telegrafFlags adds the side-by-side flag to fs (for "ingest").
func telegrafFlags(fs *flag.FlagSet, name string) {
	if name != "ingest" {
		return
	}
	fs.BoolVar(&withTelegraf, "telegraf", false, "ingest: run the same load against Telegraf "+telegrafVersion+
		" (mqtt_consumer → influxdb_v2; built on first use into .tools/bin) and report the hub/Telegraf ratios")
}

// telegrafConf is the configuration of Telegraf's run: tuned for
// throughput, as an operator would tune it — batches as large as the
// hub's, a buffer that never drops, max_undelivered_messages raised far
// past the default of 1,000 so the consumer is not capped by
// configuration, QoS 1 with a persistent session (like the hub's), no
// compression on loopback.
type telegrafConf struct {
	Broker         string // tcp://host:port
	ClientID       string
	InfluxURL      string
	Bucket         string // "database/retention-policy" on InfluxDB 1.8
	Measurement    string
	BatchSize      int
	MaxUndelivered int
}

func (c telegrafConf) String() string {
	return fmt.Sprintf(`# Written by cmd/bench (ingest -telegraf).
[agent]
  interval = "10s"
  flush_interval = "1s"
  flush_jitter = "0s"
  metric_batch_size = %d
  metric_buffer_limit = 2000000
  omit_hostname = true
  debug = false
  quiet = false

[[inputs.mqtt_consumer]]
  servers = [%q]
  topics = ["shouwang/v1/+/telemetry"]
  topic_tag = ""
  qos = 1
  client_id = %q
  persistent_session = true
  max_undelivered_messages = %d
  name_override = %q
  data_format = "json"
  json_time_key = "ts"
  json_time_format = "unix_ms"
  [[inputs.mqtt_consumer.topic_parsing]]
    topic = "shouwang/v1/+/telemetry"
    tags = "_/_/device/_"

[[outputs.influxdb_v2]]
  urls = [%q]
  token = ""
  organization = ""
  bucket = %q
  content_encoding = "identity"
`, c.BatchSize, c.Broker, c.ClientID, c.MaxUndelivered, c.Measurement, c.InfluxURL, c.Bucket)
}

// isPinnedTelegraf reports whether the program at path is Telegraf built
// from the pinned release (its Go build information names the module and
// version; `telegraf --version` says "unknown" in a go install build).
func isPinnedTelegraf(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	return err == nil && bi.Path == telegrafModule && bi.Main.Version == "v"+telegrafVersion
}

// telegrafBinary returns the pinned Telegraf in root/.tools/bin, building
// it with go install when it is missing or another version.
func telegrafBinary(ctx context.Context, root string, out io.Writer) (string, error) {
	bin := filepath.Join(root, ".tools", "bin", "telegraf")
	if isPinnedTelegraf(bin) {
		return bin, nil
	}
	fmt.Fprintf(out, "building Telegraf %s (go install -tags %s %s@v%s into .tools/bin; a few minutes, once) …\n",
		telegrafVersion, telegrafTags, telegrafModule, telegrafVersion)
	cmd := exec.CommandContext(ctx, "go", "install", "-tags", telegrafTags, telegrafModule+"@v"+telegrafVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build telegraf: %w\n%s", err, b)
	}
	if !isPinnedTelegraf(bin) {
		return "", fmt.Errorf("build telegraf: %s is not Telegraf v%s", bin, telegrafVersion)
	}
	return bin, nil
}

// ContestantRun is one contestant's pass of the ingest load.
type ContestantRun struct {
	Name      string             `json:"name"`
	Acked     int64              `json:"acked"`
	InInflux  int                `json:"in_influx"`
	Lost      int                `json:"lost"`
	Doubled   int                `json:"doubled"`
	Seconds   float64            `json:"end_to_end_seconds"`
	Rate      float64            `json:"end_to_end_rate"`
	CPUMicros map[string]float64 `json:"cpu_us_per_msg"` // by process; the contestant's under its Name
}

// SideBySide compares the hub's pass with Telegraf's.
type SideBySide struct {
	Hub      ContestantRun `json:"hub"`
	Telegraf ContestantRun `json:"telegraf"`
	// RateRatio and CPURatio are hub ÷ Telegraf.
	RateRatio float64 `json:"rate_ratio"`
	CPURatio  float64 `json:"cpu_ratio"`
	// Ceiling is the rate the other processes (publisher, broker,
	// InfluxDB) would leave room for on these cores if the hub cost
	// nothing: cores ÷ their CPU per message in the hub's pass.
	Ceiling      float64 `json:"ceiling_rate"`
	CeilingShare float64 `json:"hub_share_of_ceiling"`
}

// compare works out the ratios; cores is how many CPUs the processes
// share.
func compare(hub, tg ContestantRun, cores int) SideBySide {
	s := SideBySide{Hub: hub, Telegraf: tg, RateRatio: ratio(hub.Rate, tg.Rate),
		CPURatio: ratio(hub.CPUMicros["hub"], tg.CPUMicros["telegraf"])}
	var others float64
	for name, v := range hub.CPUMicros {
		if name != "hub" {
			others += v
		}
	}
	if others > 0 {
		s.Ceiling = float64(cores) * 1e6 / others
		s.CeilingShare = hub.Rate / s.Ceiling
	}
	return s
}

// hubRun is the hub's pass as the ingest scenario measured it.
func hubRun(r *IngestResult) ContestantRun {
	return ContestantRun{Name: "hub", Acked: r.Acked, InInflux: r.InInflux, Lost: r.Lost, Doubled: r.Doubled,
		Seconds: r.EndToEndSeconds, Rate: r.EndToEndRate, CPUMicros: r.CPUMicrosPerMsg}
}

// runTelegrafIngest runs the ingest load against Telegraf on parts of its
// own.
func runTelegrafIngest(ctx context.Context, env *Env, o IngestOptions) (ContestantRun, error) {
	run := ContestantRun{Name: "telegraf"}
	bin, err := telegrafBinary(ctx, env.root, env.out)
	if err != nil {
		return run, err
	}
	st, err := env.startParts(ctx, "telegraf")
	if err != nil {
		return run, err
	}
	defer st.Close()
	const measurement = "telegraf"
	conf := telegrafConf{Broker: st.BrokerURL, ClientID: "bench-telegraf", InfluxURL: st.InfluxURL,
		Bucket: st.Influx.DB + "/autogen", Measurement: measurement, BatchSize: 5000, MaxUndelivered: 20000}
	confPath := filepath.Join(st.Dir, "telegraf.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return run, err
	}
	proc := &parts.Proc{Name: "telegraf", Path: bin, Args: []string{"--config", confPath}, LogPath: filepath.Join(st.Dir, "telegraf.log")}
	started := time.Now()
	if err := proc.Start(func() bool { return time.Since(started) > time.Second }, 30*time.Second); err != nil {
		return run, err
	}
	defer proc.Stop()
	// Ready when a reading goes all the way through.
	if err := telegrafProbe(ctx, st, measurement); err != nil {
		return run, fmt.Errorf("telegraf: %w\n%s", err, proc.LogTail(4096))
	}
	ds := telemetryDevices("t", o.Devices)
	counts := evenCounts(o.Messages, len(ds))
	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-telegraf-load", o.Clients, o.Window)
	if err != nil {
		return run, err
	}
	defer pool.Close()
	pids := map[string]int{"telegraf": proc.Pid(), "bench": 0}
	for name, pid := range st.pids() {
		if name != "bench" {
			pids[name] = pid
		}
	}
	cpu0 := cpuOf(pids)
	query := `SELECT count(seq) FROM "` + measurement + `" WHERE "device" =~ /^t-/`
	fmt.Fprintf(env.out, "telegraf: publishing %d messages from %d devices over %d connections …\n", o.Messages, len(ds), o.Clients)
	start := time.Now()
	var pubWG sync.WaitGroup
	for c, pub := range pool.Pubs {
		pubWG.Go(func() {
			for seq := 1; seq <= counts[0]; seq++ {
				for i := c; i < len(ds); i += len(pool.Pubs) {
					if seq <= counts[i] && ctx.Err() == nil {
						pub.Publish(devices.Topic(ds[i].ID, devices.ChannelTelemetry), telemetryPayload(ds[i].Kind, seq), nil)
					}
				}
			}
		})
	}
	go func() { pubWG.Wait(); pool.Close() }()
	count, end, err := countUntil(ctx, env, st, query, o.Messages, start, pool.Acked)
	run.InInflux, run.Acked = count, pool.Acked()
	if err != nil {
		return run, err
	}
	cpu1 := cpuOf(pids)
	run.Seconds = end.Sub(start).Seconds()
	run.Rate = float64(count) / run.Seconds
	run.CPUMicros = map[string]float64{}
	for name, c := range cpu1 {
		run.CPUMicros[name] = float64((c - cpu0[name]).Microseconds()) / float64(o.Messages)
	}
	expected := map[string]int{}
	for i, d := range ds {
		expected[d.ID] = counts[i]
	}
	run.Lost, run.Doubled, err = checkPerDeviceFrom(ctx, st.Influx, `"`+measurement+`" WHERE "device" =~ /^t-/`, expected)
	return run, err
}

// telegrafProbe publishes one reading of a probe device a second until it
// is in InfluxDB: Telegraf is subscribed and writing.
func telegrafProbe(ctx context.Context, st *Stack, measurement string) error {
	pub, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-telegraf-probe", 10)
	if err != nil {
		return err
	}
	defer pub.Close()
	deadline := time.Now().Add(60 * time.Second)
	for seq := 1; time.Now().Before(deadline); seq++ {
		pub.Publish(devices.Topic("probe-1", devices.ChannelTelemetry), telemetryPayload(devices.KindGas, seq), nil)
		for range 10 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if n, err := st.Influx.Count(ctx, `SELECT count(seq) FROM "`+measurement+`" WHERE "device" = 'probe-1'`); err == nil && n > 0 {
				return nil
			}
		}
	}
	return errors.New("no probe reading reached InfluxDB within 60 s")
}

// countUntil polls an InfluxQL count until it reaches want or stops moving
// for stallTimeout, printing progress a second.
func countUntil(ctx context.Context, env *Env, st *Stack, query string, want int, start time.Time, sent func() int64) (int, time.Time, error) {
	var count, last int
	lastChange, lastPrint := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return count, time.Time{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		n, err := st.Influx.Count(ctx, query)
		if err != nil {
			return count, time.Time{}, err
		}
		now := time.Now()
		count = n
		if count >= want {
			return count, now, nil
		}
		if count != last {
			last, lastChange = count, now
		} else if now.Sub(lastChange) > stallTimeout {
			return count, now, nil
		}
		if now.Sub(lastPrint) >= time.Second {
			fmt.Fprintf(env.out, "  %7s  sent %d  in InfluxDB %d\n", elapsed(start), sent(), count)
			lastPrint = now
		}
	}
}

// cpuOf reads the CPU time of each named process (pid 0: this one).
func cpuOf(pids map[string]int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range pids {
		if s, err := bench.ReadProcStat(pid); err == nil {
			out[name] = s.CPU
		}
	}
	return out
}

// evenCounts spreads messages over n devices as evenly as possible.
func evenCounts(messages, n int) []int {
	counts := make([]int, n)
	for i := range counts {
		counts[i] = messages / n
		if i < messages%n {
			counts[i]++
		}
	}
	return counts
}

// addTo puts the comparison on the ingest report.
func (s SideBySide) addTo(rep *Report) {
	rep.fig("telegraf: end-to-end rate", s.Telegraf.Rate, "msg/s")
	rep.fig("telegraf: CPU per message", s.Telegraf.CPUMicros["telegraf"], "µs")
	for _, p := range []string{"mosquitto", "influxd", "bench"} {
		if v, ok := s.Telegraf.CPUMicros[p]; ok {
			rep.fig("telegraf pass: "+p+" CPU per message", v, "µs")
		}
	}
	rep.fig("hub / telegraf rate", s.RateRatio, "")
	rep.fig("hub / telegraf CPU per message", s.CPURatio, "")
	rep.fig("rate the other processes leave room for (cores ÷ their CPU per message)", s.Ceiling, "msg/s")
	rep.fig("hub rate as a share of that", s.CeilingShare, "")
	rep.target("hub rate ≥ 1.3× Telegraf's", s.RateRatio >= targetSideRate, "%.0f against %.0f msg/s (%.2f×)", s.Hub.Rate, s.Telegraf.Rate, s.RateRatio)
	rep.target("hub CPU per message ≤ 0.6× Telegraf's", s.CPURatio > 0 && s.CPURatio <= targetSideCPU, "%.1f against %.1f µs (%.2f×)",
		s.Hub.CPUMicros["hub"], s.Telegraf.CPUMicros["telegraf"], s.CPURatio)
	if s.Telegraf.Lost > 0 || s.Telegraf.Doubled > 0 {
		// Telegraf's losses are its own; they are reported, not the hub's failure.
		rep.fig("telegraf: lost", float64(s.Telegraf.Lost), "")
		rep.fig("telegraf: doubled", float64(s.Telegraf.Doubled), "")
	}
}
