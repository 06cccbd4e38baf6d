package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// Ingest targets from the benchmark issue.
const (
	targetIngestRate       = 30_000 // messages a second, end to end
	targetIngestCPU        = 15     // µs of hub CPU per message
	flatMemoryMaxGrowthMiB = 64     // "flat memory": peak RSS at most this far above the RSS before the run
)

// stallTimeout ends a wait for InfluxDB when its count has not moved for
// this long: what is missing by then is lost.
const stallTimeout = 60 * time.Second

// IngestResult is what the ingest scenario measured.
type IngestResult struct {
	Devices  int `json:"devices"`
	Messages int `json:"messages"`
	Clients  int `json:"clients"`
	Window   int `json:"window"`

	Acked         int64   `json:"acked"`          // PUBACKs from the broker
	PublishFailed int64   `json:"publish_failed"` // publishes without a PUBACK
	InInflux      int     `json:"in_influx"`      // points present at the end
	Lost          int     `json:"lost"`           // expected points missing
	Doubled       int     `json:"doubled"`        // points beyond one per (device, seq)
	HubReceived   float64 `json:"hub_received"`
	HubStored     float64 `json:"hub_stored"`
	HubDuplicates float64 `json:"hub_duplicates"` // redeliveries the hub de-duplicated
	HubRejected   float64 `json:"hub_rejected"`
	BrokerDropped int64   `json:"broker_dropped"` // -1: unknown

	PublishSeconds    float64            `json:"publish_seconds"`    // first publish → last PUBACK
	EndToEndSeconds   float64            `json:"end_to_end_seconds"` // first publish → last point in InfluxDB
	PublishRate       float64            `json:"publish_rate"`
	EndToEndRate      float64            `json:"end_to_end_rate"`
	CPUMicrosPerMsg   map[string]float64 `json:"cpu_us_per_msg"` // by process: hub, mosquitto, influxd, bench
	HubRSSBeforeMiB   float64            `json:"hub_rss_before_mib"`
	HubRSSMaxMiB      float64            `json:"hub_rss_max_mib"`  // the largest once-a-second sample
	HubPeakRSSMiB     float64            `json:"hub_peak_rss_mib"` // VmHWM at the end
	HubRSSAfterMiB    float64            `json:"hub_rss_after_mib"`
	Commits           float64            `json:"telemetry_commits"`        // group commits during the run
	CommitMeanMS      float64            `json:"telemetry_commit_mean_ms"` // mean time of one
	BatchMean         float64            `json:"telemetry_batch_mean"`     // mean messages per commit
	Profile           string             `json:"profile,omitempty"`
	MosquittoAutosave int                `json:"mosquitto_autosave_interval"`

	rep *Report
}

func runIngest(ctx context.Context, env *Env, o IngestOptions) (*IngestResult, error) {
	res := &IngestResult{Devices: o.Devices, Messages: o.Messages, Clients: o.Clients, Window: o.Window,
		MosquittoAutosave: env.opts.Autosave, BrokerDropped: -1}
	res.rep = newReport("ingest", map[string]any{"devices": o.Devices, "messages": o.Messages, "clients": o.Clients,
		"window": o.Window, "qos": 1, "rules": benchRules, "mosquitto_autosave_interval": env.opts.Autosave, "kinds": telemetryKinds})
	st, err := env.startParts(ctx, "ingest")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if o.Instances > 1 {
		res.rep.Config["instances"] = o.Instances
		if err := env.startInstances(ctx, st, benchRules, o.Instances); err != nil {
			return nil, err
		}
	} else if err := env.startHub(ctx, st, "", benchRules); err != nil {
		return nil, err
	}
	ds := telemetryDevices("t", o.Devices)
	fmt.Fprintf(env.out, "registering %d devices through the console's CSV import …\n", len(ds))
	if err := register(ctx, st.Hub.URL, st.API.Token, ds); err != nil {
		return nil, err
	}
	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-ingest", o.Clients, o.Window)
	if err != nil {
		return nil, err
	}
	defer pool.Close()

	// Messages per device: as even as possible.
	counts := make([]int, len(ds))
	for i := range counts {
		counts[i] = o.Messages / len(ds)
		if i < o.Messages%len(ds) {
			counts[i]++
		}
	}
	hubPid := st.Hub.Proc.Pid()
	before, _ := bench.ReadProcStat(hubPid)
	res.HubRSSBeforeMiB = mb(before.RSS)
	cpu0 := st.cpuSnapshot()
	m0, err := st.API.Metrics(ctx)
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(env.out, "publishing %d messages from %d devices over %d connections (window %d) …\n", o.Messages, len(ds), o.Clients, o.Window)
	start := time.Now()
	profiled := env.profileCPU(ctx, st, "ingest", o.ProfileDuration)
	var pubWG sync.WaitGroup
	for c, pub := range pool.Pubs {
		pubWG.Go(func() {
			maxCount := counts[0]
			for seq := 1; seq <= maxCount; seq++ {
				for i := c; i < len(ds); i += len(pool.Pubs) {
					if seq > counts[i] || ctx.Err() != nil {
						continue
					}
					pub.Publish(devices.Topic(ds[i].ID, devices.ChannelTelemetry), telemetryPayload(ds[i].Kind, seq), nil)
				}
			}
		})
	}
	var pubEnd atomic.Int64
	pubDone := make(chan struct{})
	go func() {
		pubWG.Wait()
		pool.Close() // waits for the outstanding acknowledgements
		res.Acked = pool.Acked()
		pubEnd.Store(int64(time.Since(start)))
		close(pubDone)
	}()

	count, end, err := waitInflux(ctx, env, st, "SELECT count(seq) FROM "+measurements, o.Messages, start, pool.Acked, pubDone, &res.HubRSSMaxMiB)
	<-pubDone
	res.InInflux = count
	if err != nil {
		return res, err
	}
	cpu1 := st.cpuSnapshot()
	res.Profile = profiled()
	env.profileNamed(ctx, st, "ingest", "allocs") // what the run allocated
	env.profileNamed(ctx, st, "ingest", "heap")   // what is live now
	res.PublishFailed, _ = pool.Failed()
	res.PublishSeconds = time.Duration(pubEnd.Load()).Seconds()
	res.PublishRate = float64(res.Acked) / res.PublishSeconds
	res.EndToEndSeconds = end.Sub(start).Seconds()
	res.EndToEndRate = float64(count) / res.EndToEndSeconds
	res.CPUMicrosPerMsg = map[string]float64{}
	for name, c := range cpu1 {
		res.CPUMicrosPerMsg[name] = float64((c - cpu0[name]).Microseconds()) / float64(o.Messages)
	}
	after, _ := bench.ReadProcStat(hubPid)
	res.HubPeakRSSMiB, res.HubRSSAfterMiB = mb(after.PeakRSS), mb(after.RSS)
	res.HubRSSMaxMiB = max(res.HubRSSMaxMiB, res.HubRSSAfterMiB)

	// Exactly one point per (device, seq)?
	expected := map[string]int{}
	for i, d := range ds {
		expected[d.ID] = counts[i]
	}
	res.Lost, res.Doubled, err = checkPerDevice(ctx, st.Influx, expected)
	if err != nil {
		return res, err
	}
	if m, err := st.API.Metrics(ctx); err == nil {
		res.HubReceived = m.Sum("shouwang_ingest_received_total", `channel="telemetry"`)
		res.HubStored = m.Sum("shouwang_ingest_stored_total", `channel="telemetry"`)
		res.HubDuplicates = m.Sum("shouwang_ingest_duplicates_total", `channel="telemetry"`)
		res.HubRejected = m.Sum("shouwang_ingest_rejected_total")
		delta := func(name string) float64 {
			return m.Sum(name, `path="telemetry"`) - m0.Sum(name, `path="telemetry"`)
		}
		if res.Commits = delta("shouwang_ingest_commit_seconds_count"); res.Commits > 0 {
			res.CommitMeanMS = 1000 * delta("shouwang_ingest_commit_seconds_sum") / res.Commits
			res.BatchMean = delta("shouwang_ingest_commit_batch_size_sum") / delta("shouwang_ingest_commit_batch_size_count")
		}
	}
	if st.Mosq != nil {
		if n, err := bench.BrokerDropped(ctx, st.BrokerURL); err == nil {
			res.BrokerDropped = n
		}
	}
	return res, nil
}

// waitInflux polls an InfluxQL count once a second while publishing runs
// and ten times a second after pubDone is closed, printing progress, until
// the count reaches want or stops moving for stallTimeout. It returns the
// last count and the moment it reached want.
func waitInflux(ctx context.Context, env *Env, st *Stack, query string, want int, start time.Time,
	sent func() int64, pubDone <-chan struct{}, rssMax *float64) (int, time.Time, error) {
	prog := newProgress(env, st, start, sent)
	var count, lastCount int
	lastChange := time.Now()
	done := false
	for {
		interval := time.Second
		if done {
			interval = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return count, time.Time{}, ctx.Err()
		case <-pubDone:
			done, pubDone = true, nil
		case <-time.After(interval):
		}
		n, err := st.Influx.Count(ctx, query)
		if err != nil {
			return count, time.Time{}, err
		}
		now := time.Now()
		count = n
		if count >= want {
			prog.print(ctx, count, rssMax)
			return count, now, nil
		}
		if count != lastCount {
			lastCount, lastChange = count, now
		} else if done && now.Sub(lastChange) > stallTimeout {
			return count, now, nil
		}
		if now.Sub(prog.at) >= time.Second {
			prog.print(ctx, count, rssMax)
		}
	}
}

// progress prints a line a second: sent, stored by the hub, in InfluxDB,
// the rate into InfluxDB, the hub's CPU and memory.
type progress struct {
	env   *Env
	st    *Stack
	start time.Time
	sent  func() int64
	at    time.Time
	count int
	cpu   time.Duration
}

func newProgress(env *Env, st *Stack, start time.Time, sent func() int64) *progress {
	p := &progress{env: env, st: st, start: start, sent: sent, at: time.Now()}
	if s, err := bench.ReadProcStat(st.Hub.Proc.Pid()); err == nil {
		p.cpu = s.CPU
	}
	return p
}

func (p *progress) print(ctx context.Context, count int, rssMax *float64) {
	now := time.Now()
	dt := now.Sub(p.at).Seconds()
	line := fmt.Sprintf("  %7s  sent %d", elapsed(p.start), p.sent())
	m, err := p.st.API.Metrics(ctx)
	if err == nil {
		line += fmt.Sprintf("  stored %.0f  spool %.0f", m.Sum("shouwang_ingest_stored_total", `channel="telemetry"`), m.Sum("shouwang_spool_depth"))
	}
	line += fmt.Sprintf("  in InfluxDB %d (%.0f/s)", count, float64(count-p.count)/dt)
	if s, err := bench.ReadProcStat(p.st.Hub.Proc.Pid()); err == nil {
		line += fmt.Sprintf("  hub CPU %.0f%%  RSS %.0f MiB", 100*(s.CPU-p.cpu).Seconds()/dt, mb(s.RSS))
		if m != nil {
			line += fmt.Sprintf(" (Go heap %.0f)", m.Sum("go_memstats_heap_inuse_bytes")/(1<<20))
		}
		p.cpu = s.CPU
		if rssMax != nil {
			*rssMax = max(*rssMax, mb(s.RSS))
		}
	}
	fmt.Fprintln(p.env.out, line)
	p.at, p.count = now, count
}

// checkPerDevice counts each device's points and distinct seq values in
// InfluxDB against what it sent: lost is what is missing, doubled what is
// there more than once or was never sent.
func checkPerDevice(ctx context.Context, f *bench.Influx, expected map[string]int) (lost, doubled int, err error) {
	return checkPerDeviceFrom(ctx, f, measurements, expected)
}

// checkPerDeviceFrom is checkPerDevice over the points of a FROM clause
// (with its WHERE, if any).
func checkPerDeviceFrom(ctx context.Context, f *bench.Influx, from string, expected map[string]int) (lost, doubled int, err error) {
	series, err := f.Query(ctx, `SELECT count(seq), count(distinct(seq)) FROM `+from+` GROUP BY "device"`)
	if err != nil {
		return 0, 0, err
	}
	got := map[string][2]int{}
	for _, s := range series {
		d := s.Tags["device"]
		for _, row := range s.Values {
			if len(row) < 3 {
				continue
			}
			n, _ := row[1].(float64)
			distinct, _ := row[2].(float64)
			g := got[d]
			got[d] = [2]int{g[0] + int(n), g[1] + int(distinct)}
		}
	}
	for d, want := range expected {
		g := got[d]
		lost += max(0, want-g[1])
		doubled += (g[0] - g[1]) + max(0, g[1]-want)
	}
	for d, g := range got {
		if _, ok := expected[d]; !ok {
			doubled += g[0] // points of a device that sent nothing
		}
	}
	return lost, doubled, nil
}

func (r *IngestResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("messages sent and acknowledged (QoS 1)", float64(r.Acked), "")
	rep.fig("points in InfluxDB", float64(r.InInflux), "")
	rep.fig("lost", float64(r.Lost), "")
	rep.fig("doubled", float64(r.Doubled), "")
	rep.fig("end-to-end rate (first publish → last point in InfluxDB)", r.EndToEndRate, "msg/s")
	rep.fig("end-to-end time", r.EndToEndSeconds, "s")
	rep.fig("publish rate (first publish → last PUBACK)", r.PublishRate, "msg/s")
	for _, p := range []string{"hub", "hub-b", "hub-c", "mosquitto", "influxd", "postgres", "bench"} {
		if v, ok := r.CPUMicrosPerMsg[p]; ok {
			rep.fig(p+" CPU per message", v, "µs")
		}
	}
	if _, ok := r.CPUMicrosPerMsg["hub-b"]; ok {
		sum := 0.0
		for _, p := range []string{"hub", "hub-b", "hub-c"} {
			sum += r.CPUMicrosPerMsg[p]
		}
		rep.fig("hub instances together CPU per message", sum, "µs")
	}
	rep.fig("hub RSS before", r.HubRSSBeforeMiB, "MiB")
	rep.fig("hub RSS max (sampled 1/s)", r.HubRSSMaxMiB, "MiB")
	rep.fig("hub peak RSS (VmHWM)", r.HubPeakRSSMiB, "MiB")
	rep.fig("hub RSS after", r.HubRSSAfterMiB, "MiB")
	rep.fig("hub telemetry group commits", r.Commits, "")
	rep.fig("hub mean commit time (durable, fsync)", r.CommitMeanMS, "ms")
	rep.fig("hub mean messages per commit", r.BatchMean, "")
	rep.fig("hub duplicates dropped (redeliveries)", r.HubDuplicates, "")
	rep.fig("hub rejected", r.HubRejected, "")
	if r.BrokerDropped >= 0 {
		rep.fig("broker dropped ($SYS)", float64(r.BrokerDropped), "")
	}

	rep.target("ingest ≥ 30,000 msg/s end to end at QoS 1", r.EndToEndRate >= targetIngestRate, "%.0f msg/s", r.EndToEndRate)
	hubCPU := r.CPUMicrosPerMsg["hub"]
	rep.target("≤ 15 µs hub CPU per message", hubCPU > 0 && hubCPU <= targetIngestCPU, "%.1f µs", hubCPU)
	growth := r.HubPeakRSSMiB - r.HubRSSBeforeMiB
	rep.target(fmt.Sprintf("flat memory (peak RSS ≤ %d MiB above the idle hub)", flatMemoryMaxGrowthMiB), growth <= flatMemoryMaxGrowthMiB,
		"%.0f → peak %.0f MiB (+%.0f)", r.HubRSSBeforeMiB, r.HubPeakRSSMiB, growth)
	rep.target("nothing lost, nothing doubled", r.Lost == 0 && r.Doubled == 0, "lost %d, doubled %d", r.Lost, r.Doubled)

	if r.PublishFailed > 0 {
		rep.failf("%d publishes got no PUBACK", r.PublishFailed)
	}
	if r.Lost > 0 {
		rep.failf("%d of %d messages are not in InfluxDB", r.Lost, r.Messages)
	}
	if r.Doubled > 0 {
		rep.failf("%d points in InfluxDB are doubled or unexpected", r.Doubled)
	}
	if r.HubRejected > 0 {
		rep.failf("the hub rejected %.0f messages", r.HubRejected)
	}
	if r.BrokerDropped > 0 {
		rep.failf("mosquitto dropped %d messages", r.BrokerDropped)
	}
	return rep
}
