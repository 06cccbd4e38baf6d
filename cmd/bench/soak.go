package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// Soak bounds: after the warm-up, a broker keeping up holds at most
// soakStoreMaxSeconds of traffic and its count trends by at most
// soakTrendMax a minute; its heap grows by at most soakHeapGrowthMaxMiB.
const (
	soakStoreMaxSeconds  = 5
	soakTrendMax         = 100
	soakHeapGrowthMaxMiB = 16
)

// soakSample is one look at the broker and the hub during the soak.
type soakSample struct {
	T          float64 `json:"t_s"`              // since the first publish
	Stored     int64   `json:"broker_stored"`    // messages the broker holds; -1 unknown
	HeapMiB    float64 `json:"broker_heap_mib"`  // mosquitto's heap, or the hub's Go heap (embedded)
	BrokerRSS  float64 `json:"broker_rss_mib"`   // mosquitto's RSS, or the hub's (embedded)
	HubRSS     float64 `json:"hub_rss_mib"`      //
	Acked      int64   `json:"acked"`            // publishes the broker acknowledged
	HubStored  float64 `json:"hub_stored"`       // telemetry the hub stored
	HubBehind  float64 `json:"hub_says_behind"`  // shouwang_broker_behind
	Redeliverd float64 `json:"hub_redelivered"`  // shouwang_mqtt_redelivered_total
	DBBytes    int64   `json:"broker_db_bytes"`  // mosquitto.db's size
	BrokerCPU  float64 `json:"broker_cpu_pct"`   // since the last sample, % of one core
	HubCPU     float64 `json:"hub_cpu_pct"`      //
	SavesPerS  float64 `json:"broker_saves_per"` // database saves a second since the last sample
}

// SoakResult is what one soak run measured.
type SoakResult struct {
	Broker   string  `json:"broker"`
	Desc     string  `json:"broker_config"`
	Rate     float64 `json:"rate_wanted"`
	Achieved float64 `json:"rate_achieved"`
	Seconds  float64 `json:"seconds"`
	Devices  int     `json:"devices"`

	Acked, PublishFailed int64
	InInflux             int `json:"in_influx"`
	// Lost are acknowledged readings missing from InfluxDB, Doubled the
	// points beyond one per (device, seq); Unacked are readings that
	// arrived although their PUBACK did not come in time (a device would
	// have sent them again: not a loss, not a doubling).
	Lost, Doubled, Unacked int
	BrokerDropped          int64 `json:"broker_dropped"` // -1 unknown

	StoreMax, StoreLast int64   // after the warm-up
	StoreTrend          float64 `json:"store_trend_per_min"`
	// The broker's heap (mosquitto's own count; the hub's Go heap for the
	// embedded broker) and RSS: the means of the first and the last
	// quarter after the warm-up (a Go heap swings with each collection),
	// and the largest sample.
	HeapStartMiB, HeapEndMiB, HeapMaxMiB float64
	RSSStartMiB, RSSEndMiB, RSSMaxMiB    float64
	DBMaxBytes                           int64   `json:"broker_db_max_bytes"`
	Saves                                int     `json:"broker_saves"`
	BrokerCPU, HubCPU                    float64 // mean % of one core
	HubSaidBehind                        bool    `json:"hub_said_behind"`

	Presses        bench.Latency `json:"presses"`
	PressesUnseen  int           `json:"presses_unseen"`
	PressesDoubled int           `json:"presses_doubled"`

	Samples []soakSample `json:"samples"`
	rep     *Report
}

// soakGroup is one MQTT connection and the devices it publishes for.
type soakGroup struct {
	pub  *bench.Publisher
	devs []*devices.Device
}

func runSoak(ctx context.Context, env *Env, o SoakOptions, b brokerSetting) (*SoakResult, error) {
	res := &SoakResult{Broker: b.Name, Desc: b.Desc, Rate: o.Rate, Devices: o.Devices, BrokerDropped: -1}
	res.rep = newReport("soak/"+b.Name, map[string]any{"broker": b.Name, "broker_config": b.Desc, "rate": o.Rate,
		"duration": o.Duration.String(), "devices": o.Devices, "press_every": o.PressEvery.String(), "warmup": o.Warmup.String(), "qos": 1})
	var mosq *bench.MosquittoConfig
	if b.Mosq != nil {
		c := *b.Mosq
		c.Verbose = true // its log counts the saves
		mosq = &c
	}
	st, err := env.startPartsWith(ctx, "soak_"+strings.ReplaceAll(b.Name, "-", "_"), mosq)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startHub(ctx, st, "", benchRules); err != nil {
		return nil, err
	}
	nPress := max(1, int(o.Duration/o.PressEvery))
	tele, press := telemetryDevices("s", o.Devices), sosDevices("sp", nPress)
	fmt.Fprintf(env.out, "registering %d devices …\n", len(tele)+len(press))
	specs, err := registerSpecs(ctx, st.Hub.URL, st.API.Token, append(append([]*devices.Device{}, tele...), press...))
	if err != nil {
		return nil, err
	}
	groups, pressPubs, err := soakConnect(ctx, st, o, specs[:len(tele)], specs[len(tele):])
	defer func() {
		for _, g := range groups {
			g.pub.Close()
		}
		for _, p := range pressPubs {
			p.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	var sys *bench.SysWatch
	if st.Mosq != nil {
		if sys, err = bench.WatchSys(ctx, st.BrokerURL); err != nil {
			return nil, err
		}
		defer sys.Close()
	}
	log := newPressLog()
	seen := newSightings(log)
	con, err := bench.DialConsole(ctx, st.Hub.URL, st.API.Token, seen.onChange)
	if err != nil {
		return nil, err
	}
	defer con.Close()

	fmt.Fprintf(env.out, "soak: %.0f msg/s from %d devices for %s against %s, a press every %s …\n", o.Rate, o.Devices, o.Duration, b.Name, o.PressEvery)
	runCtx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	start := time.Now()
	seqs := make(map[string]int, len(tele))
	acks := make(map[string]map[int]bool, len(tele)) // the acknowledged seqs of each device
	var mu sync.Mutex                                // guards seqs and acks
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			pace := bench.NewPacer(o.Rate * float64(len(g.devs)) / float64(len(tele)))
			for i := 0; pace.Wait(runCtx); i++ {
				d := g.devs[i%len(g.devs)]
				mu.Lock()
				seqs[d.ID]++
				seq := seqs[d.ID]
				mu.Unlock()
				g.pub.Publish(devices.Topic(d.ID, devices.ChannelTelemetry), telemetryPayload(d.Kind, seq), func(time.Time) {
					mu.Lock()
					if acks[d.ID] == nil {
						acks[d.ID] = map[int]bool{}
					}
					acks[d.ID][seq] = true
					mu.Unlock()
				})
			}
		})
	}
	pressed := 0 // read after wg.Wait
	wg.Go(func() {
		pace := bench.NewPacer(float64(time.Second) / float64(o.PressEvery))
		for ; pressed < len(press) && pace.Wait(runCtx); pressed++ {
			now := time.Now()
			log.record(press[pressed].ID, now)
			pressPubs[pressed%len(pressPubs)].Publish(devices.Topic(press[pressed].ID, devices.ChannelEvent), pressPayload(1, now), nil)
		}
	})
	acked := func() int64 {
		var n int64
		for _, g := range groups {
			n += g.pub.Acked()
		}
		return n
	}
	samples := soakSampler(ctx, runCtx.Done(), env, st, sys, o.Sample, start, acked)
	wg.Wait()
	res.Samples = samples()
	res.Seconds = time.Since(start).Seconds()
	for _, g := range groups {
		g.pub.Close() // waits for the outstanding acknowledgements
		f, _ := g.pub.Failed()
		res.PublishFailed += f
	}
	res.Acked = acked()
	res.Achieved = float64(res.Acked) / res.Seconds

	fmt.Fprintf(env.out, "waiting for every acknowledged reading in InfluxDB …\n")
	done := make(chan struct{})
	close(done)
	if res.InInflux, _, err = waitInflux(ctx, env, st, "SELECT count(seq) FROM "+measurements, int(res.Acked), time.Now(), acked, done, nil); err != nil {
		return res, err
	}
	// The count above includes readings that arrived without a PUBACK, so
	// an acknowledged one may still be on its way (from a broker that is
	// far behind): check each device until none is missing, or nothing
	// has changed for stallTimeout.
	if err := waitAcked(ctx, st.Influx, tele, acks, res); err != nil {
		return res, err
	}
	pressedIDs := ids(press[:pressed])
	waitSeen(ctx, []*sightings{seen}, pressedIDs, seenTimeout)
	var lat []time.Duration
	res.PressesUnseen, res.PressesDoubled, lat = seen.check(pressedIDs)
	res.Presses = bench.Summarise(lat)
	if sys != nil {
		if n, ok := sys.Get(bench.SysDropped); ok {
			res.BrokerDropped = n
		}
	}
	if st.Mosq != nil {
		res.Saves = countSaves(filepath.Join(st.Mosq.Dir(), "mosquitto.log"))
	}
	res.summarise(o.Warmup)
	return res, nil
}

// soakConnect connects the telemetry load and the presser. Against
// mosquitto a few anonymous connections publish for many devices; the
// embedded broker checks each device's credentials, so there each device
// is its own connection.
func soakConnect(ctx context.Context, st *Stack, o SoakOptions, tele, press []sim.DeviceSpec) ([]soakGroup, []*bench.Publisher, error) {
	var groups []soakGroup
	var pressPubs []*bench.Publisher
	if !st.embedded {
		for c := range o.Clients {
			pub, err := bench.NewPublisher(ctx, st.BrokerURL, fmt.Sprintf("bench-soak-%d", c), 1000)
			if err != nil {
				return groups, pressPubs, err
			}
			g := soakGroup{pub: pub}
			for i := c; i < len(tele); i += o.Clients {
				g.devs = append(g.devs, tele[i].Device)
			}
			groups = append(groups, g)
		}
		pub, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-soak-presser", 100)
		return groups, append(pressPubs, pub), err
	}
	for _, s := range tele {
		pub, err := bench.NewPublisherAs(ctx, st.BrokerURL, s.Device.ID, s.Device.ID, s.Password, 100)
		if err != nil {
			return groups, pressPubs, err
		}
		groups = append(groups, soakGroup{pub: pub, devs: []*devices.Device{s.Device}})
	}
	for _, s := range press {
		pub, err := bench.NewPublisherAs(ctx, st.BrokerURL, s.Device.ID, s.Device.ID, s.Password, 10)
		if err != nil {
			return groups, pressPubs, err
		}
		pressPubs = append(pressPubs, pub)
	}
	return groups, pressPubs, nil
}

// summarise computes the figures over the samples after warmup.
func (r *SoakResult) summarise(warmup time.Duration) {
	var xs, ys []float64
	var cpuB, cpuH float64
	var after []soakSample
	for _, s := range r.Samples {
		r.DBMaxBytes = max(r.DBMaxBytes, s.DBBytes)
		r.HubSaidBehind = r.HubSaidBehind || s.HubBehind > 0
		if s.T < warmup.Seconds() {
			continue
		}
		after = append(after, s)
		cpuB += s.BrokerCPU
		cpuH += s.HubCPU
		r.HeapMaxMiB, r.RSSMaxMiB = max(r.HeapMaxMiB, s.HeapMiB), max(r.RSSMaxMiB, s.BrokerRSS)
		if s.Stored >= 0 {
			xs, ys = append(xs, s.T/60), append(ys, float64(s.Stored))
			r.StoreMax, r.StoreLast = max(r.StoreMax, s.Stored), s.Stored
		}
	}
	if n := len(after); n > 0 {
		r.BrokerCPU, r.HubCPU = cpuB/float64(n), cpuH/float64(n)
		q := max(1, n/4)
		mean := func(ss []soakSample, f func(soakSample) float64) float64 {
			var sum float64
			for _, s := range ss {
				sum += f(s)
			}
			return sum / float64(len(ss))
		}
		heap := func(s soakSample) float64 { return s.HeapMiB }
		rss := func(s soakSample) float64 { return s.BrokerRSS }
		r.HeapStartMiB, r.HeapEndMiB = mean(after[:q], heap), mean(after[n-q:], heap)
		r.RSSStartMiB, r.RSSEndMiB = mean(after[:q], rss), mean(after[n-q:], rss)
	}
	r.StoreTrend = slope(xs, ys)
}

func (r *SoakResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("telemetry acknowledged by the broker", float64(r.Acked), "")
	rep.fig("rate achieved", r.Achieved, "msg/s")
	rep.fig("points in InfluxDB", float64(r.InInflux), "")
	rep.fig("lost", float64(r.Lost), "")
	rep.fig("doubled", float64(r.Doubled), "")
	rep.fig("publishes without a PUBACK within 60 s", float64(r.PublishFailed), "")
	rep.fig("of them in InfluxDB anyway", float64(r.Unacked), "")
	rep.fig("broker holds after warm-up: max", float64(r.StoreMax), "messages")
	rep.fig("broker holds at the end", float64(r.StoreLast), "messages")
	rep.fig("broker store trend", r.StoreTrend, "messages/min")
	rep.fig("broker heap: first quarter after warm-up (mean)", r.HeapStartMiB, "MiB")
	rep.fig("broker heap: last quarter (mean)", r.HeapEndMiB, "MiB")
	rep.fig("broker heap max", r.HeapMaxMiB, "MiB")
	rep.fig("broker RSS: first quarter after warm-up (mean)", r.RSSStartMiB, "MiB")
	rep.fig("broker RSS: last quarter (mean)", r.RSSEndMiB, "MiB")
	rep.fig("broker RSS max", r.RSSMaxMiB, "MiB")
	if r.DBMaxBytes > 0 {
		rep.fig("mosquitto.db largest", float64(r.DBMaxBytes)/(1<<20), "MiB")
		rep.fig("database saves", float64(r.Saves), "")
	}
	rep.fig("broker CPU (mean)", r.BrokerCPU, "% of one core")
	rep.fig("hub CPU (mean)", r.HubCPU, "% of one core")
	rep.fig("hub said the broker fell behind (shouwang_broker_behind)", b2f(r.HubSaidBehind), "")
	rep.fig("presses timed", float64(r.Presses.N), "")
	rep.fig("press → console p50", r.Presses.P50, "ms")
	rep.fig("press → console p99", r.Presses.P99, "ms")
	rep.fig("press → console max", r.Presses.Max, "ms")

	storeMax := int64(soakStoreMaxSeconds * r.Rate)
	rep.target(fmt.Sprintf("broker store flat: ≤ %d messages (%d s of traffic) and a trend ≤ %d/min after warm-up", storeMax, soakStoreMaxSeconds, soakTrendMax),
		r.StoreMax <= storeMax && r.StoreTrend <= soakTrendMax, "max %d, trend %+.0f/min", r.StoreMax, r.StoreTrend)
	rep.target(fmt.Sprintf("broker memory flat: heap and RSS grow ≤ %d MiB from the first to the last quarter after warm-up", soakHeapGrowthMaxMiB),
		r.HeapEndMiB-r.HeapStartMiB <= soakHeapGrowthMaxMiB && r.RSSEndMiB-r.RSSStartMiB <= soakHeapGrowthMaxMiB,
		"heap %.1f → %.1f, RSS %.0f → %.0f MiB", r.HeapStartMiB, r.HeapEndMiB, r.RSSStartMiB, r.RSSEndMiB)
	rep.target(fmt.Sprintf("keeps %.0f msg/s", r.Rate), r.Achieved >= 0.98*r.Rate, "%.0f msg/s", r.Achieved)

	if r.PublishFailed > 0 {
		rep.failf("%d publishes got no PUBACK within 60 s (a device would resend them)", r.PublishFailed)
	}
	if r.Lost > 0 || r.Doubled > 0 {
		rep.failf("%d lost, %d doubled in InfluxDB", r.Lost, r.Doubled)
	}
	if r.BrokerDropped > 0 {
		rep.failf("mosquitto dropped %d messages", r.BrokerDropped)
	}
	if r.PressesUnseen > 0 || r.PressesDoubled > 0 {
		rep.failf("presses: %d never reached the console, %d extra alerts", r.PressesUnseen, r.PressesDoubled)
	}
	return rep
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
