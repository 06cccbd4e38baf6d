package main

// One phase of the storm scenario (its readings published, paced or held to
// a backlog, and measured) and the burst of one building's events.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// paceEvery is how many readings a publisher sends between two waits,
// when paced (-rate) or held to a backlog (-backlog).
const paceEvery = 16

// stormPhase publishes o.Messages readings from ds (the first alarm of them
// in alarm), runs side beside it if given, and measures the rate into
// InfluxDB and each process's CPU per message; then it checks every
// reading is there once.
func stormPhase(ctx context.Context, env *Env, st *Stack, o StormOptions, profile string, ds []*devices.Device, alarm int,
	side func(context.Context)) (StormPhase, error) {
	var ph StormPhase
	query := fmt.Sprintf(`SELECT count(seq) FROM "gas" WHERE "device" =~ /^%s-/`, ds[0].ID[:1])
	before, err := st.Influx.Count(ctx, query)
	if err != nil {
		return ph, err
	}
	// The readings come from a process of their own (storm_load.go); with
	// -backlog, it reads the hub's progress so far before the clock starts.
	load, err := startLoad(ctx, loadSpec{BrokerURL: st.BrokerURL, HubURL: st.API.Base, ClientPrefix: "bench-storm-" + ds[0].ID,
		Devices: ids(ds), Alarm: alarm, Messages: o.Messages, Clients: o.Clients, Window: o.Window, Rate: o.Rate, Backlog: o.Backlog, Policy: o.LoadPolicy}, env.out)
	if err != nil {
		return ph, err
	}
	defer load.stop()
	ph.LoadPolicy = load.policy
	cpu0 := st.cpuSnapshot()
	sched := bench.StartSchedWait()
	start := time.Now()
	var profiled func() string
	traced := func() {}
	if profile != "" {
		profiled = env.profileCPU(ctx, st, profile, 10*time.Second)
		traced = env.traceHub(ctx, st, profile, 2*time.Second)
	}
	sideCtx, stopSide := context.WithCancel(ctx)
	sideDone := make(chan struct{})
	go func() {
		defer close(sideDone)
		if side != nil {
			side(sideCtx)
		}
	}()
	if err := load.publish(); err != nil {
		stopSide()
		<-sideDone
		return ph, fmt.Errorf("load process: %w", err)
	}
	count, end, err := waitInflux(ctx, env, st, query, before+o.Messages, start, load.acked.Load, load.done, nil)
	res, loadCPU, lerr := load.wait()
	ph.BenchSched = sched.Summary()
	stopSide()
	<-sideDone
	if lerr != nil && err == nil {
		err = fmt.Errorf("load process: %w", lerr)
	}
	ph.Backlog = res.Backlog
	if res.BacklogErr != "" && err == nil {
		err = errors.New(res.BacklogErr)
	}
	if profiled != nil {
		profiled()
	}
	traced()
	ph.Acked, ph.InInflux = res.Acked, count-before
	ph.PublishFailed = res.Failed
	if err != nil {
		return ph, err
	}
	cpu1 := st.cpuSnapshot()
	ph.Seconds = end.Sub(start).Seconds()
	ph.Rate = float64(ph.InInflux) / ph.Seconds
	ph.CPUMicros = map[string]float64{}
	cpu1["bench"] += loadCPU // the bench is its process and the load's
	for name, c := range cpu1 {
		ph.CPUMicros[name] = float64((c - cpu0[name]).Microseconds()) / float64(o.Messages)
	}
	counts := evenCounts(o.Messages, len(ds))
	expected := map[string]int{}
	for i, d := range ds {
		expected[d.ID] = counts[i]
	}
	ph.Lost, ph.Doubled, err = checkPerDeviceFrom(ctx, st.Influx, fmt.Sprintf(`"gas" WHERE "device" =~ /^%s-/`, ds[0].ID[:1]), expected)
	return ph, err
}

// alertSightings times the first change of each new sos or smoke alert
// from its device's event (sightings times sos alerts only).
type alertSightings struct{ *sightings }

func newAlertSightings(p *pressLog) *alertSightings { return &alertSightings{newSightings(p)} }

func (s *alertSightings) onChange(at time.Time, c *bench.Change) {
	if c.Alert.Kind == "smoke" {
		cc := *c
		cc.Alert.Kind = "sos" // timed like a press: the device identifies its event
		c = &cc
	}
	s.sightings.onChange(at, c)
}

// burstDevices returns n devices of one building: smoke detectors and
// emergency call buttons, in turn.
func burstDevices(n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		kind := devices.KindSmoke
		if i%2 == 1 {
			kind = devices.KindSOSButton
		}
		ds[i] = benchDevice(fmt.Sprintf("b-%05d", i+1), kind, i)
		ds[i].Location.Building, ds[i].Location.Grid = "火警楼", "网格1"
	}
	return ds
}

// burstAll sends each burst device's event once — a smoke alarm or a
// press — spread evenly over within.
func burstAll(ctx context.Context, pub *bench.Publisher, log *pressLog, ds []*devices.Device, within time.Duration) {
	pace := bench.NewPacer(float64(len(ds)) / within.Seconds())
	for _, d := range ds {
		if !pace.Wait(ctx) {
			return
		}
		now := time.Now()
		log.record(d.ID, now)
		payload := pressPayload(1, now)
		if d.Kind == devices.KindSmoke {
			payload = fmt.Appendf(nil, `{"seq":1,"ts":%d,"type":"smoke"}`, now.UnixMilli())
		}
		pub.Publish(devices.Topic(d.ID, devices.ChannelEvent), payload, nil)
	}
}
