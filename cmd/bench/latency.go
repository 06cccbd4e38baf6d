package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// Latency targets from the benchmark issue, in milliseconds.
const (
	targetLoadedP99 = 50
	targetIdleP50   = 5
)

// seenTimeout ends the wait for presses to show up on the consoles when
// nothing new has arrived for this long.
const seenTimeout = 15 * time.Second

// LatencyResult is what the latency scenario measured.
type LatencyResult struct {
	Presses        int     `json:"presses_per_phase"`
	IntervalMS     float64 `json:"interval_ms"`
	RateWanted     float64 `json:"background_rate_wanted"`
	RateAchieved   float64 `json:"background_rate_achieved"`
	Background     int64   `json:"background_messages"`
	BackgroundLost int     `json:"background_lost"`
	BackgroundDup  int     `json:"background_doubled"`
	HubCPUPercent  float64 `json:"hub_cpu_percent_loaded"`

	Loaded        bench.Latency `json:"loaded"`
	LoadedUnseen  int           `json:"loaded_unseen"`
	LoadedDoubled int           `json:"loaded_doubled"`
	Idle          bench.Latency `json:"idle"`
	IdleUnseen    int           `json:"idle_unseen"`
	IdleDoubled   int           `json:"idle_doubled"`
	IdleRun       bool          `json:"idle_run"`
	Stray         int           `json:"stray_alerts"`   // sos alerts nobody pressed
	Missed        int           `json:"opening_missed"` // alerts first seen already repeated
	PublishFailed int64         `json:"publish_failed"`

	rep *Report
}

func runLatency(ctx context.Context, env *Env, o LatencyOptions) (*LatencyResult, error) {
	res := &LatencyResult{Presses: o.Presses, IntervalMS: float64(o.Interval) / 1e6, RateWanted: o.Rate, IdleRun: !o.NoIdle}
	res.rep = newReport("latency", map[string]any{"presses_per_phase": o.Presses, "interval": o.Interval.String(),
		"background_rate": o.Rate, "background_devices": o.Devices, "background_connections": o.Clients,
		"mosquitto_autosave_interval": env.opts.Autosave, "rules": benchRules,
		"press_devices": "one distinct sos_button per press (a repeated press joins the open alert)"})
	st, err := env.startParts(ctx, "latency")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startHub(ctx, st, "", benchRules); err != nil {
		return nil, err
	}
	bg := telemetryDevices("b", o.Devices)
	loaded, idle := sosDevices("p", o.Presses), sosDevices("q", o.Presses)
	all := append(append(append([]*devices.Device{}, bg...), loaded...), idle...)
	fmt.Fprintf(env.out, "registering %d devices through the console's CSV import …\n", len(all))
	if err := register(ctx, st.Hub.URL, st.API.Token, all); err != nil {
		return nil, err
	}
	log := newPressLog()
	seen := newSightings(log)
	con, err := bench.DialConsole(ctx, st.Hub.URL, st.API.Token, seen.onChange)
	if err != nil {
		return nil, err
	}
	defer con.Close()
	presser, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-presser", 100)
	if err != nil {
		return nil, err
	}
	defer presser.Close()

	// Phase 1: presses under background telemetry.
	var load *background
	if o.Rate > 0 {
		if load, err = startBackground(ctx, st.BrokerURL, bg, o.Clients, o.Rate); err != nil {
			return nil, err
		}
		defer load.stop()
		fmt.Fprintf(env.out, "background telemetry at %.0f msg/s; warming up …\n", o.Rate)
		time.Sleep(2 * time.Second) // let the rate settle before measuring
	}
	cpu0, t0 := st.cpuSnapshot()["hub"], time.Now()
	fmt.Fprintf(env.out, "phase 1: %d presses every %s under load …\n", o.Presses, o.Interval)
	stopTicker := tick(env, st, "phase 1", func() string {
		s := fmt.Sprintf("presses seen %d/%d", seen.count(ids(loaded)), o.Presses)
		if load != nil {
			s += fmt.Sprintf("  background sent %d", load.pool.Acked())
		}
		return s
	})
	profiled := env.profileCPU(ctx, st, "latency-loaded", time.Duration(o.Presses)*o.Interval)
	err = pressAll(ctx, presser, log, ids(loaded), o.Interval)
	waitSeen(ctx, []*sightings{seen}, ids(loaded), seenTimeout)
	stopTicker()
	profiled()
	if err != nil {
		return res, err
	}
	res.HubCPUPercent = 100 * (st.cpuSnapshot()["hub"] - cpu0).Seconds() / time.Since(t0).Seconds()
	var lat []time.Duration
	res.LoadedUnseen, res.LoadedDoubled, lat = seen.check(ids(loaded))
	res.Loaded = bench.Summarise(lat)
	fmt.Fprintf(env.out, "phase 1: %s\n", res.Loaded)

	if load != nil {
		dur := load.stop()
		res.Background = load.pool.Acked()
		res.RateAchieved = float64(res.Background) / dur.Seconds()
		f, _ := load.pool.Failed()
		res.PublishFailed += f
		fmt.Fprintf(env.out, "checking the background telemetry in InfluxDB …\n")
		done := make(chan struct{})
		close(done)
		if _, _, err := waitInflux(ctx, env, st, "SELECT count(seq) FROM "+measurements, int(res.Background), time.Now(), load.pool.Acked, done, nil); err != nil {
			return res, err
		}
		if res.BackgroundLost, res.BackgroundDup, err = checkPerDevice(ctx, st.Influx, load.expected()); err != nil {
			return res, err
		}
	}

	// Phase 2: the same on an idle hub.
	if !o.NoIdle {
		if err := settle(ctx, st, time.Minute); err != nil {
			return res, err
		}
		fmt.Fprintf(env.out, "phase 2: %d presses every %s on an idle hub …\n", o.Presses, o.Interval)
		stopTicker := tick(env, st, "phase 2", func() string {
			return fmt.Sprintf("presses seen %d/%d", seen.count(ids(idle)), o.Presses)
		})
		profiled := env.profileCPU(ctx, st, "latency-idle", time.Duration(o.Presses)*o.Interval)
		err = pressAll(ctx, presser, log, ids(idle), o.Interval)
		waitSeen(ctx, []*sightings{seen}, ids(idle), seenTimeout)
		stopTicker()
		profiled()
		if err != nil {
			return res, err
		}
		var lat []time.Duration
		res.IdleUnseen, res.IdleDoubled, lat = seen.check(ids(idle))
		res.Idle = bench.Summarise(lat)
		fmt.Fprintf(env.out, "phase 2: %s\n", res.Idle)
	}
	res.Stray, res.Missed = seen.strays(), seen.late()
	f, _ := presser.Failed()
	res.PublishFailed += f
	if err := con.Err(); err != nil {
		return res, fmt.Errorf("console feed ended: %w", err)
	}
	return res, nil
}

// tick prints a progress line a second until the returned stop is called.
func tick(env *Env, st *Stack, label string, line func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		cpu := st.cpuSnapshot()["hub"]
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c := st.cpuSnapshot()["hub"]
				fmt.Fprintf(env.out, "  %7s  %s  hub CPU %.0f%%\n", elapsed(start), line(), 100*(c-cpu).Seconds())
				cpu = c
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// background publishes telemetry at a steady rate over a few connections
// until stopped.
type background struct {
	pool   *bench.Pool
	ds     []*devices.Device
	seqs   []int // messages published per device; each connection owns its devices
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
}

func startBackground(ctx context.Context, url string, ds []*devices.Device, clients int, rate float64) (*background, error) {
	pool, err := bench.NewPool(ctx, url, "bench-bg", clients, 1000)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	b := &background{pool: pool, ds: ds, seqs: make([]int, len(ds)), cancel: cancel, start: time.Now()}
	for c, pub := range pool.Pubs {
		b.wg.Go(func() {
			pace := bench.NewPacer(rate / float64(len(pool.Pubs)))
			for {
				for i := c; i < len(ds); i += len(pool.Pubs) {
					if !pace.Wait(ctx) {
						return
					}
					b.seqs[i]++
					pub.Publish(devices.Topic(ds[i].ID, devices.ChannelTelemetry), telemetryPayload(ds[i].Kind, b.seqs[i]), nil)
				}
			}
		})
	}
	return b, nil
}

// stop ends the publishing, waits for the outstanding acknowledgements and
// returns how long it ran. It is idempotent.
func (b *background) stop() time.Duration {
	b.cancel()
	b.wg.Wait()
	b.pool.Close()
	return time.Since(b.start)
}

// expected is how many messages each device published.
func (b *background) expected() map[string]int {
	m := make(map[string]int, len(b.ds))
	for i, d := range b.ds {
		m[d.ID] = b.seqs[i]
	}
	return m
}

func (r *LatencyResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("presses per phase", float64(r.Presses), "")
	if r.RateWanted > 0 {
		rep.fig("background telemetry achieved", r.RateAchieved, "msg/s")
		rep.fig("hub CPU during phase 1", r.HubCPUPercent, "% of one core")
	}
	rep.fig("under load: p50", r.Loaded.P50, "ms")
	rep.fig("under load: p95", r.Loaded.P95, "ms")
	rep.fig("under load: p99", r.Loaded.P99, "ms")
	rep.fig("under load: max", r.Loaded.Max, "ms")
	if r.IdleRun {
		rep.fig("idle: p50", r.Idle.P50, "ms")
		rep.fig("idle: p95", r.Idle.P95, "ms")
		rep.fig("idle: p99", r.Idle.P99, "ms")
		rep.fig("idle: max", r.Idle.Max, "ms")
	}
	rep.target(fmt.Sprintf("press → console p99 ≤ %d ms under %.0f msg/s telemetry", targetLoadedP99, r.RateWanted),
		r.Loaded.N > 0 && r.Loaded.P99 <= targetLoadedP99, "p99 %.1f ms (background %.0f msg/s)", r.Loaded.P99, r.RateAchieved)
	if r.IdleRun {
		rep.target(fmt.Sprintf("press → console p50 ≤ %d ms idle", targetIdleP50), r.Idle.N > 0 && r.Idle.P50 <= targetIdleP50, "p50 %.2f ms", r.Idle.P50)
	}
	if r.LoadedUnseen+r.IdleUnseen > 0 {
		rep.failf("%d presses never reached the console", r.LoadedUnseen+r.IdleUnseen)
	}
	if r.LoadedDoubled+r.IdleDoubled > 0 {
		rep.failf("%d extra sos alerts (a press seen as more than one alert, or an alert nobody pressed)", r.LoadedDoubled+r.IdleDoubled)
	}
	if r.Missed > 0 {
		rep.failf("%d alerts reached the console without their opening change", r.Missed)
	}
	if r.Stray > 0 {
		rep.failf("%d sos alerts for devices that never pressed", r.Stray)
	}
	if r.BackgroundLost > 0 || r.BackgroundDup > 0 {
		rep.failf("background telemetry: %d lost, %d doubled in InfluxDB", r.BackgroundLost, r.BackgroundDup)
	}
	if r.PublishFailed > 0 {
		rep.failf("%d publishes got no PUBACK", r.PublishFailed)
	}
	return rep
}
