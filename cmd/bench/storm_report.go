package main

func (r *StormResult) report() *Report {
	rep := r.rep
	rep.Details = r
	q, s := r.Quiet, r.Storm
	rep.fig("quiet: end-to-end rate", q.Rate, "msg/s")
	rep.fig("storm: end-to-end rate", s.Rate, "msg/s")
	rep.fig("storm / quiet rate", ratio(s.Rate, q.Rate), "")
	for _, p := range []string{"hub", "mosquitto", "influxd", "postgres", "bench"} {
		if v, ok := q.CPUMicros[p]; ok {
			rep.fig("quiet: "+p+" CPU per message", v, "µs")
			rep.fig("storm: "+p+" CPU per message", s.CPUMicros[p], "µs")
		}
	}
	rep.fig("storm / quiet hub CPU per message", ratio(s.CPUMicros["hub"], q.CPUMicros["hub"]), "")
	for name, p := range []StormPhase{q, s} {
		if b := p.Backlog; b != nil {
			phase := []string{"quiet", "storm"}[name]
			rep.fig(phase+": most readings published and not yet taken by the hub (-backlog)", float64(b.MaxHeld), "")
			rep.fig(phase+": publishers' waits for the hub", float64(b.Waits), "")
			rep.fig(phase+": the hub's /metrics read, mean", b.PollMillis, "ms")
		}
	}
	for name, p := range []StormPhase{q, s} {
		phase := []string{"quiet", "storm"}[name]
		rep.fig(phase+": the bench process's goroutines' wait to run p50", p.BenchSched.P50, "ms")
		rep.fig(phase+": the bench process's goroutines' wait to run p99", p.BenchSched.P99, "ms")
		rep.fig(phase+": the bench process's goroutines' wait to run p99.9", p.BenchSched.P999, "ms")
	}
	rep.fig("gas alerts opened", float64(r.GasAlerts), "")
	rep.fig("alarm alert and incident changes on the console", float64(r.Feed.Changes), "")
	rep.fig("press → console during the quiet phase p50", r.QuietPresses.P50, "ms")
	rep.fig("press → console during the quiet phase p99", r.QuietPresses.P99, "ms")
	rep.fig("press → console during the storm p50", r.Presses.P50, "ms")
	rep.fig("press → console during the storm p99", r.Presses.P99, "ms")
	rep.fig("presses timed", float64(r.Presses.N), "")
	rep.fig("quiet phase: press → hub received p50", r.QuietToHub.P50, "ms")
	rep.fig("quiet phase: press → hub received p99", r.QuietToHub.P99, "ms")
	rep.fig("quiet phase: press → broker p50", r.QuietToBroker.P50, "ms")
	rep.fig("quiet phase: press → broker p99", r.QuietToBroker.P99, "ms")
	rep.fig("quiet phase: broker → hub received p50", r.QuietBrokerToHub.P50, "ms")
	rep.fig("quiet phase: broker → hub received p99", r.QuietBrokerToHub.P99, "ms")
	rep.fig("quiet phase: hub received → console p50", r.QuietFromHub.P50, "ms")
	rep.fig("quiet phase: hub received → console p99", r.QuietFromHub.P99, "ms")
	rep.fig("storm (presses and burst): press → hub received p50", r.ToHub.P50, "ms")
	rep.fig("storm (presses and burst): press → hub received p99", r.ToHub.P99, "ms")
	rep.fig("storm (presses and burst): press → broker p50", r.ToBroker.P50, "ms")
	rep.fig("storm (presses and burst): press → broker p99", r.ToBroker.P99, "ms")
	rep.fig("storm (presses and burst): broker → hub received p50", r.BrokerToHub.P50, "ms")
	rep.fig("storm (presses and burst): broker → hub received p99", r.BrokerToHub.P99, "ms")
	rep.fig("storm (presses and burst): hub received → console p50", r.FromHub.P50, "ms")
	rep.fig("storm (presses and burst): hub received → console p99", r.FromHub.P99, "ms")
	if r.Options.Burst > 0 {
		rep.fig("burst event → console p50", r.Burst.P50, "ms")
		rep.fig("burst event → console p99", r.Burst.P99, "ms")
	}
	rep.target("storm ingest ≥ 0.5× the quiet rate", ratio(s.Rate, q.Rate) >= targetStormRate, "%.0f against %.0f msg/s (%.2f×)", s.Rate, q.Rate, ratio(s.Rate, q.Rate))
	rep.target("storm hub CPU per message ≤ 2× the quiet figure", ratio(s.CPUMicros["hub"], q.CPUMicros["hub"]) <= targetStormCPU && s.CPUMicros["hub"] > 0,
		"%.1f against %.1f µs (%.2f×)", s.CPUMicros["hub"], q.CPUMicros["hub"], ratio(s.CPUMicros["hub"], q.CPUMicros["hub"]))
	rep.target("press → console p99 ≤ 50 ms during the storm", r.Presses.N > 0 && r.Presses.P99 <= targetStormPress, "p99 %.1f ms over %d presses (the load process %s)",
		r.Presses.P99, r.Presses.N, s.LoadPolicy)
	if r.Options.Burst > 0 {
		rep.target("burst event → console p99 ≤ 50 ms", r.Burst.N > 0 && r.Burst.P99 <= targetStormPress, "p99 %.1f ms over %d events (the load process %s)",
			r.Burst.P99, r.Burst.N, s.LoadPolicy)
	}
	rep.target("nothing lost or doubled, every alert opened once", q.Lost+q.Doubled+s.Lost+s.Doubled == 0 && r.GasDevicesOnce == r.Options.Alarm && r.GasWrong == 0,
		"lost %d, doubled %d, %d of %d alarm devices with one alert, %d wrong", q.Lost+s.Lost, q.Doubled+s.Doubled, r.GasDevicesOnce, r.Options.Alarm, r.GasWrong)
	for name, p := range map[string]StormPhase{"quiet": q, "storm": s} {
		if p.Lost > 0 || p.Doubled != 0 {
			rep.failf("%s phase: %d readings lost, %d doubled", name, p.Lost, p.Doubled)
		}
		if p.PublishFailed > 0 {
			rep.failf("%s phase: %d publishes got no PUBACK", name, p.PublishFailed)
		}
	}
	if r.GasDevicesOnce != r.Options.Alarm || r.GasWrong > 0 {
		rep.failf("%d of %d alarm devices have exactly one gas alert; %d alerts too many or of quiet devices", r.GasDevicesOnce, r.Options.Alarm, r.GasWrong)
	}
	if r.QuietPressUnseen+r.QuietPressDoubled+r.PressUnseen+r.PressDoubled+r.BurstUnseen+r.BurstDoubled > 0 {
		rep.failf("presses: %d unseen, %d doubled (quiet phase: %d, %d); burst: %d unseen, %d doubled",
			r.PressUnseen, r.PressDoubled, r.QuietPressUnseen, r.QuietPressDoubled, r.BurstUnseen, r.BurstDoubled)
	}
	if r.HubRejected > 0 {
		rep.failf("the hub rejected %.0f messages", r.HubRejected)
	}
	for _, f := range r.Feed.failures() {
		rep.failf("%s", f)
	}
	return rep
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
