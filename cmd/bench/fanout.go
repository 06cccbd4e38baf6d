package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
)

// targetFanoutP99 is the fan-out target, in milliseconds.
const targetFanoutP99 = 20

// FanoutResult is what the fan-out scenario measured.
type FanoutResult struct {
	Consoles       int           `json:"consoles"`
	Presses        int           `json:"presses"`
	IntervalMS     float64       `json:"interval_ms"`
	ConnectSecs    float64       `json:"connect_seconds"` // to open every console's feed
	Latency        bench.Latency `json:"latency"`         // over consoles × presses
	First          bench.Latency `json:"first_console"`   // per press, the first console to see it
	Last           bench.Latency `json:"last_console"`    // per press, the last console to see it
	BenchCPU       float64       `json:"bench_cpu_percent"`
	FramesPerPress float64       `json:"frames_per_press"` // change frames each console got per press
	Unseen         int           `json:"unseen"`           // (console, press) pairs never seen
	Doubled        int           `json:"doubled"`
	Stray          int           `json:"stray_alerts"`
	Missed         int           `json:"opening_missed"`   // alerts first seen already repeated
	Dropped        int           `json:"consoles_dropped"` // feeds that ended early
	HubCPUPercent  float64       `json:"hub_cpu_percent"`
	PublishFailed  int64         `json:"publish_failed"`

	rep *Report
}

func runFanout(ctx context.Context, env *Env, o FanoutOptions) (*FanoutResult, error) {
	res := &FanoutResult{Consoles: o.Consoles, Presses: o.Presses, IntervalMS: float64(o.Interval) / 1e6}
	res.rep = newReport("fanout", map[string]any{"consoles": o.Consoles, "presses": o.Presses, "interval": o.Interval.String(),
		"press_devices": "one distinct sos_button per press", "background_telemetry": "none", "rules": benchRules})
	st, err := env.startParts(ctx, "fanout")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startHub(ctx, st, "", benchRules); err != nil {
		return nil, err
	}
	ds := sosDevices("f", o.Presses)
	if err := register(ctx, st.Hub.URL, st.API.Token, ds); err != nil {
		return nil, err
	}

	log := newPressLog()
	fmt.Fprintf(env.out, "connecting %d consoles to the live feed …\n", o.Consoles)
	start := time.Now()
	seen := make([]*sightings, o.Consoles)
	cons := make([]*bench.Console, o.Consoles)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range cons {
		seen[i] = newSightings(log)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := bench.DialConsole(ctx, st.Hub.URL, st.API.Token, seen[i].onChange)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("console %d: %w", i, err)
			}
			cons[i] = c
		})
	}
	wg.Wait()
	defer func() {
		var wg sync.WaitGroup
		for _, c := range cons {
			if c != nil {
				wg.Go(c.Close)
			}
		}
		wg.Wait()
	}()
	if firstErr != nil {
		return nil, firstErr
	}
	res.ConnectSecs = time.Since(start).Seconds()
	if m, err := st.API.Metrics(ctx); err == nil {
		fmt.Fprintf(env.out, "%.0f consoles connected in %.1f s\n", m.Sum("shouwang_console_live_clients"), res.ConnectSecs)
	}

	presser, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-presser", 100)
	if err != nil {
		return nil, err
	}
	defer presser.Close()
	fmt.Fprintf(env.out, "%d presses every %s …\n", o.Presses, o.Interval)
	cpu0, t0 := st.cpuSnapshot(), time.Now()
	stopTicker := tick(env, st, "fanout", func() string {
		n := 0
		for _, s := range seen {
			n += s.frames() // not count: it would look up every press in every console, each second, beside the presses it times
		}
		return fmt.Sprintf("change frames %d/%d", n, o.Consoles*o.Presses)
	})
	profiled := env.profileCPU(ctx, st, "fanout", time.Duration(o.Presses)*o.Interval)
	err = pressAll(ctx, presser, log, ids(ds), o.Interval)
	waitSeen(ctx, seen, ids(ds), seenTimeout)
	stopTicker()
	profiled()
	if err != nil {
		return res, err
	}
	cpu1, dt := st.cpuSnapshot(), time.Since(t0).Seconds()
	res.HubCPUPercent = 100 * (cpu1["hub"] - cpu0["hub"]).Seconds() / dt
	res.BenchCPU = 100 * (cpu1["bench"] - cpu0["bench"]).Seconds() / dt
	var first, last []time.Duration
	for _, id := range ids(ds) {
		lo, hi, n := time.Duration(1<<62), time.Duration(0), 0
		for _, s := range seen {
			if d, ok := s.latencyOf(id); ok {
				lo, hi, n = min(lo, d), max(hi, d), n+1
			}
		}
		if n > 0 {
			first, last = append(first, lo), append(last, hi)
		}
	}
	res.First, res.Last = bench.Summarise(first), bench.Summarise(last)
	var all []time.Duration
	for i, s := range seen {
		u, d, lat := s.check(ids(ds))
		res.Unseen += u
		res.Doubled += d
		res.Stray += s.strays()
		res.Missed += s.late()
		res.FramesPerPress += float64(s.frames()) / float64(o.Presses*o.Consoles)
		all = append(all, lat...)
		if err := cons[i].Err(); err != nil || !cons[i].Alive() {
			res.Dropped++
		}
	}
	res.Latency = bench.Summarise(all)
	res.PublishFailed, _ = presser.Failed()
	fmt.Fprintf(env.out, "fan-out: %s\n", res.Latency)
	return res, nil
}

func (r *FanoutResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("consoles", float64(r.Consoles), "")
	rep.fig("presses", float64(r.Presses), "")
	rep.fig("sightings timed (consoles × presses)", float64(r.Latency.N), "")
	rep.fig("time to connect every console", r.ConnectSecs, "s")
	rep.fig("p50", r.Latency.P50, "ms")
	rep.fig("p95", r.Latency.P95, "ms")
	rep.fig("p99", r.Latency.P99, "ms")
	rep.fig("max", r.Latency.Max, "ms")
	rep.fig("per press, first console: p50", r.First.P50, "ms")
	rep.fig("per press, first console: p99", r.First.P99, "ms")
	rep.fig("per press, last console: p50", r.Last.P50, "ms")
	rep.fig("per press, last console: p99", r.Last.P99, "ms")
	rep.fig("change frames per press per console", r.FramesPerPress, "")
	rep.fig("hub CPU while pressing", r.HubCPUPercent, "% of one core")
	rep.fig("bench (500 clients) CPU while pressing", r.BenchCPU, "% of one core")
	rep.target(fmt.Sprintf("%d consoles: fan-out p99 ≤ %d ms", r.Consoles, targetFanoutP99), r.Latency.N > 0 && r.Latency.P99 <= targetFanoutP99,
		"p99 %.1f ms", r.Latency.P99)
	if r.Unseen > 0 {
		rep.failf("%d (console, press) pairs never seen", r.Unseen)
	}
	if r.Doubled > 0 || r.Stray > 0 {
		rep.failf("%d extra sos alerts seen (%d for devices that never pressed)", r.Doubled+r.Stray, r.Stray)
	}
	if r.Missed > 0 {
		rep.failf("%d alerts reached a console without their opening change", r.Missed)
	}
	if r.Dropped > 0 {
		rep.failf("%d consoles' feeds ended early (dropped as lagging?)", r.Dropped)
	}
	if r.PublishFailed > 0 {
		rep.failf("%d presses got no PUBACK", r.PublishFailed)
	}
	return rep
}
