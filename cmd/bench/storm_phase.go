package main

// One phase of the storm scenario (its readings published, paced or held to
// a backlog, and measured) and the burst of one building's events.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-storm-"+ds[0].ID, o.Clients, o.Window)
	if err != nil {
		return ph, err
	}
	defer pool.Close()
	counts := evenCounts(o.Messages, len(ds))
	query := fmt.Sprintf(`SELECT count(seq) FROM "gas" WHERE "device" =~ /^%s-/`, ds[0].ID[:1])
	before, err := st.Influx.Count(ctx, query)
	if err != nil {
		return ph, err
	}
	// With -backlog, the hub's progress so far is read before the clock
	// starts.
	var gate *backlogGate
	gateCtx, stopGate := context.WithCancel(ctx)
	var gateDone sync.WaitGroup
	defer func() { stopGate(); gateDone.Wait() }()
	if o.Backlog > 0 {
		if gate, err = newBacklogGate(ctx, o.Backlog, hubTelemetryTaken(st.API)); err != nil {
			return ph, err
		}
	}
	cpu0 := st.cpuSnapshot()
	sched := bench.StartSchedWait()
	start := time.Now()
	var profiled func() string
	if profile != "" {
		profiled = env.profileCPU(ctx, st, profile, 10*time.Second)
	}
	sideCtx, stopSide := context.WithCancel(ctx)
	sideDone := make(chan struct{})
	go func() {
		defer close(sideDone)
		if side != nil {
			side(sideCtx)
		}
	}()
	if gate != nil {
		gateDone.Go(func() { gate.run(gateCtx, backlogPoll) })
	}
	var pubWG sync.WaitGroup
	for c, pub := range pool.Pubs {
		pubWG.Go(func() {
			var pace *bench.Pacer
			if o.Rate > 0 {
				pace = bench.NewPacer(o.Rate / float64(len(pool.Pubs)) / paceEvery)
			}
			sent := 0
			for seq := 1; seq <= counts[0]; seq++ {
				for i := c; i < len(ds); i += len(pool.Pubs) {
					if seq > counts[i] || ctx.Err() != nil {
						continue
					}
					if sent%paceEvery == 0 && (pace != nil && !pace.Wait(ctx) || gate != nil && !gate.acquire(ctx, paceEvery)) {
						return
					}
					sent++
					pub.Publish(devices.Topic(ds[i].ID, devices.ChannelTelemetry), stormPayload(i < alarm, seq), nil)
				}
			}
		})
	}
	var pubEnd atomic.Int64
	pubDone := make(chan struct{})
	go func() {
		pubWG.Wait()
		pool.Close()
		pubEnd.Store(int64(time.Since(start)))
		close(pubDone)
	}()
	count, end, err := waitInflux(ctx, env, st, query, before+o.Messages, start, pool.Acked, pubDone, nil)
	<-pubDone
	ph.BenchSched = sched.Summary()
	stopSide()
	<-sideDone
	if gate != nil {
		stopGate()
		gateDone.Wait()
		var gerr error
		if ph.Backlog, gerr = gate.stats(); gerr != nil && err == nil {
			err = gerr
		}
	}
	if profiled != nil {
		profiled()
	}
	ph.Acked, ph.InInflux = pool.Acked(), count-before
	ph.PublishFailed, _ = pool.Failed()
	if err != nil {
		return ph, err
	}
	cpu1 := st.cpuSnapshot()
	ph.Seconds = end.Sub(start).Seconds()
	ph.Rate = float64(ph.InInflux) / ph.Seconds
	ph.CPUMicros = map[string]float64{}
	for name, c := range cpu1 {
		ph.CPUMicros[name] = float64((c - cpu0[name]).Microseconds()) / float64(o.Messages)
	}
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
