package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// The failover scenario: two hub instances on one mosquitto and one
// PostgreSQL share telemetry; one of them is killed with SIGKILL, again
// and again, alternately, and started again after each kill. A kill's
// failover time is from the SIGKILL until the survivor has taken the dead
// instance's share: every reading published in the first second after the
// kill is in InfluxDB (mosquitto queues half of them for the dead
// instance's session until the survivor holding its lease drains it). A
// press made just before each kill escalates after 1 s; its lateness (the
// alert's update time against its due time) says whether due timers fire
// on time across the kill.

// FailoverOptions size the failover scenario.
type FailoverOptions struct {
	Kills   int     // SIGKILLs, alternating between the two instances
	Devices int     // telemetry devices
	Rate    float64 // telemetry, messages a second
}

// FailoverResult is the failover scenario's outcome.
type FailoverResult struct {
	Kills     int     `json:"kills"`
	Devices   int     `json:"devices"`
	Rate      float64 `json:"rate"`
	Published int64   `json:"published"`
	InInflux  int     `json:"in_influx"`
	// Failover is per kill: SIGKILL → every reading of the second after
	// it in InfluxDB.
	Failover bench.Latency `json:"failover"`
	// Takeover is per kill: SIGKILL → the survivor holds the dead
	// instance's telemetry session lease (the API says so).
	Takeover bench.Latency `json:"takeover"`
	// TimerLate is per kill: how late the press's escalation fired after
	// its due time.
	TimerLate  bench.Latency `json:"timer_late"`
	Escalated  int           `json:"escalated"` // presses escalated exactly once
	PerKill    []KillTimes   `json:"per_kill"`
	LoadBefore string        `json:"load_before"`

	rep *Report
}

// KillTimes are one kill's figures, in milliseconds.
type KillTimes struct {
	Victim     string  `json:"victim"`
	FailoverMS float64 `json:"failover_ms"`
	TakeoverMS float64 `json:"takeover_ms"`
	TimerMS    float64 `json:"timer_late_ms"`
}

// failoverRules: a press escalates after 1 s (a due timer to fire across
// the kill); nobody falls silent during the run.
const failoverRules = `{"supervision": {"sos_button": {"reporting": "24h"}, "smoke": {"reporting": "24h"}, "gas": {"reporting": "24h"}},
 "escalation": {"critical": {"t1": "1s", "t2": "0s", "reminder": "0s"}}}`

func runFailover(ctx context.Context, env *Env, o FailoverOptions) (*FailoverResult, error) {
	res := &FailoverResult{Kills: o.Kills, Devices: o.Devices, Rate: o.Rate, LoadBefore: loadAverage()}
	res.rep = newReport("failover", map[string]any{"kills": o.Kills, "devices": o.Devices, "rate": o.Rate,
		"instances": 2, "rules": failoverRules, "lease_ttl": "10s", "lease_renew": "2.5s"})
	st, err := env.startParts(ctx, "failover")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startInstances(ctx, st, failoverRules, 2); err != nil {
		return nil, err
	}
	hubs := []*bench.Hub{st.Hub, st.Others[0]}
	apis := make([]*bench.API, 2)
	for i, h := range hubs {
		if apis[i], err = bench.Login(ctx, h.URL, "admin", adminPassword); err != nil {
			return nil, err
		}
	}
	ds := telemetryDevices("f", o.Devices)
	sos := sosDevices("fp", o.Kills)
	if err := register(ctx, st.Hub.URL, st.API.Token, append(slices.Clone(ds), sos...)); err != nil {
		return nil, err
	}
	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-failover", 2, 200)
	if err != nil {
		return nil, err
	}
	presser, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-failover-presser", 10)
	if err != nil {
		pool.Close()
		return nil, err
	}

	// Telemetry in rounds: every device publishes round r at once, Rate
	// messages a second in all.
	var round atomic.Int64
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubWG sync.WaitGroup
	pubWG.Go(func() {
		every := time.Duration(float64(time.Second) * float64(len(ds)) / o.Rate)
		t := time.NewTicker(every)
		defer t.Stop()
		for r := 1; pubCtx.Err() == nil; r++ {
			for i, d := range ds {
				pool.Pubs[i%len(pool.Pubs)].Publish(devices.Topic(d.ID, devices.ChannelTelemetry), telemetryPayload(d.Kind, r), nil)
			}
			round.Store(int64(r))
			select {
			case <-pubCtx.Done():
			case <-t.C:
			}
		}
	})
	stop := func() {
		stopPub()
		pubWG.Wait()
		pool.Close()
		presser.Close()
	}
	roundsPerSecond := int64(max(1, o.Rate/float64(len(ds))))
	fmt.Fprintf(env.out, "two instances; %d devices publishing %.0f msg/s; %d kills …\n", len(ds), o.Rate, o.Kills)

	var failover, takeover, late []time.Duration
	for k := range o.Kills {
		v := k % 2
		victim, survivor := hubs[v], apis[1-v]
		name, other := string(rune('a'+v)), string(rune('a'+1-v))
		if err := waitOwnSessions(ctx, survivor, []string{name, other}); err != nil {
			stop()
			return res, err
		}
		press := sos[k].ID
		pressedAt := time.Now()
		presser.Publish(devices.Topic(press, devices.ChannelEvent), pressPayload(1, pressedAt), nil)
		time.Sleep(500 * time.Millisecond)

		victim.Proc.Kill()
		killed := time.Now()
		first := round.Load() + 1
		last := first + roundsPerSecond - 1
		// Takeover (the lease) and drain (the readings), polled together.
		var tTake, tDrain time.Duration
		for tTake == 0 || tDrain == 0 {
			if ctx.Err() != nil {
				stop()
				return res, ctx.Err()
			}
			if time.Since(killed) > time.Minute {
				stop()
				return res, fmt.Errorf("kill %d: instance %s's share not taken over within a minute", k+1, name)
			}
			if tTake == 0 {
				if held, err := leasesHeld(ctx, survivor, other); err == nil && slices.Contains(held, "session/"+name) {
					tTake = time.Since(killed)
				}
			}
			if tDrain == 0 && round.Load() > last {
				n, err := st.Influx.Count(ctx, fmt.Sprintf("SELECT count(seq) FROM %s WHERE time >= %d AND time <= %d",
					measurements, (baseTS+first*10)*int64(time.Millisecond), (baseTS+last*10)*int64(time.Millisecond)))
				if err == nil && n >= int(last-first+1)*len(ds) {
					tDrain = time.Since(killed)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The press's escalation: fired once, by whichever instance.
		timerLate, err := waitEscalated(ctx, survivor, press, pressedAt.Add(time.Second))
		if err != nil {
			stop()
			return res, fmt.Errorf("kill %d: %w", k+1, err)
		}
		failover, takeover, late = append(failover, tDrain), append(takeover, tTake), append(late, timerLate)
		res.PerKill = append(res.PerKill, KillTimes{Victim: name, FailoverMS: ms(tDrain), TakeoverMS: ms(tTake), TimerMS: ms(timerLate)})
		fmt.Fprintf(env.out, "kill %d of instance %s: takeover %v, share drained %v, timer %v late\n",
			k+1, name, tTake.Round(time.Millisecond), tDrain.Round(time.Millisecond), timerLate.Round(time.Millisecond))
		if err := victim.Restart(); err != nil {
			stop()
			return res, fmt.Errorf("restart instance %s: %w", name, err)
		}
	}
	stop()
	res.Published = pool.Acked()
	// Everything published is in InfluxDB, once.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := st.Influx.Count(ctx, "SELECT count(seq) FROM "+measurements)
		if err != nil {
			return res, err
		}
		res.InInflux = n
		if int64(n) >= res.Published || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, id := range sos {
		as, err := st.API.Alerts(ctx, "device="+id.ID)
		if err == nil && len(as) == 1 && as[0].EscalationLevel == 1 {
			res.Escalated++
		}
	}
	res.Failover, res.Takeover, res.TimerLate = bench.Summarise(failover), bench.Summarise(takeover), bench.Summarise(late)
	return res, nil
}

// waitOwnSessions waits until every named instance is alive and holds its
// own telemetry session's lease.
func waitOwnSessions(ctx context.Context, api *bench.API, names []string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ok := true
		for _, n := range names {
			held, err := leasesHeld(ctx, api, n)
			if err != nil || !slices.Contains(held, "session/"+n) {
				ok = false
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instances %v did not all hold their sessions within a minute", names)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// leasesHeld returns the leases of instance name as api's instance lists
// them (none while it is not alive).
func leasesHeld(ctx context.Context, api *bench.API, name string) ([]string, error) {
	code, body, err := api.Call(ctx, "GET", "/api/v1/instances", nil)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("instances: %d", code)
	}
	var out struct {
		Instances []struct {
			Name   string   `json:"name"`
			Alive  bool     `json:"alive"`
			Leases []string `json:"leases"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	for _, x := range out.Instances {
		if x.Name == name && x.Alive {
			return x.Leases, nil
		}
	}
	return nil, nil
}

// waitEscalated waits for the device's alert to reach level 1 and returns
// how late after due that was seen (polled every 50 ms).
func waitEscalated(ctx context.Context, api *bench.API, device string, due time.Time) (time.Duration, error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		as, err := api.Alerts(ctx, "device="+device)
		if err == nil && len(as) == 1 && as[0].EscalationLevel >= 1 {
			// The escalation's own time: the alert's last update.
			return as[0].UpdatedAt.Sub(due), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return 0, errors.New(device + ": the press did not escalate within a minute")
}

func (r *FailoverResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("kills (SIGKILL, alternating)", float64(len(r.PerKill)), "")
	rep.fig("failover (SIGKILL → the dead instance's share in InfluxDB): p50", r.Failover.P50, "ms")
	rep.fig("failover: max", r.Failover.Max, "ms")
	rep.fig("takeover of the dead instance's session lease: p50", r.Takeover.P50, "ms")
	rep.fig("takeover: max", r.Takeover.Max, "ms")
	rep.fig("escalation timer lateness: p50", r.TimerLate.P50, "ms")
	rep.fig("escalation timer lateness: max", r.TimerLate.Max, "ms")
	rep.fig("readings published (PUBACK)", float64(r.Published), "")
	rep.fig("readings in InfluxDB", float64(r.InInflux), "")
	rep.fig("presses escalated once", float64(r.Escalated), "")
	rep.target("leases pass within 15 s of a SIGKILL", r.Takeover.Max > 0 && r.Takeover.Max <= 15000, "max %.0f ms", r.Takeover.Max)
	if r.InInflux < int(r.Published) {
		rep.failf("%d readings published, %d in InfluxDB", r.Published, r.InInflux)
	}
	if r.Escalated != len(r.PerKill) {
		rep.failf("%d of %d presses escalated exactly once to level 1", r.Escalated, len(r.PerKill))
	}
	return rep
}
