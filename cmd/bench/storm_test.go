package main

import (
	"strings"
	"testing"
	"time"
)

// TestStormSmall runs the storm scenario and its burst with tiny sizes
// against the real parts and checks what it promises — every reading in
// InfluxDB once in both phases, one gas alert for every device in alarm and
// none for the others, every press and burst event seen once, the console
// kept and given every alarm alert and each incident's final state — never
// its speed. It runs closed-loop (-backlog), so the hub's progress is read
// from its real /metrics; the loop's bound holds at every poll.
func TestStormSmall(t *testing.T) {
	ctx, env := startTestEnv(t)
	env.out = testLog{t}
	o := StormOptions{Devices: 20, Alarm: 18, Messages: 1000, Clients: 3, Window: 50, Interval: 20 * time.Millisecond,
		Burst: 10, Within: time.Second, Backlog: 100, LoadPolicy: loadPolicyIdle}
	r, err := runStorm(ctx, env, o)
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, r.report())
	for name, p := range map[string]StormPhase{"quiet": r.Quiet, "storm": r.Storm} {
		if p.Acked != 1000 || p.InInflux != 1000 || p.Lost != 0 || p.Doubled != 0 {
			t.Errorf("%s: acked %d, in InfluxDB %d, lost %d, doubled %d; want 1000, 1000, 0, 0", name, p.Acked, p.InInflux, p.Lost, p.Doubled)
		}
		if p.LoadPolicy != loadPolicyIdle {
			t.Errorf("%s: the load process's threads ran %q; want idle (SCHED_IDLE)", name, p.LoadPolicy)
		}
		if b := p.Backlog; b == nil || b.Limit != 100 || b.MaxHeld > 100 || b.Polls == 0 {
			t.Errorf("%s: closed loop %+v; want polls and at most 100 held", name, b)
		}
	}
	if r.GasAlerts != 18 || r.GasDevicesOnce != 18 || r.GasWrong != 0 {
		t.Errorf("%d gas alerts, %d alarm devices with one, %d wrong; want 18, 18, 0", r.GasAlerts, r.GasDevicesOnce, r.GasWrong)
	}
	if r.Presses.N == 0 || r.PressUnseen != 0 || r.PressDoubled != 0 {
		t.Errorf("presses: %d timed, %d unseen, %d doubled", r.Presses.N, r.PressUnseen, r.PressDoubled)
	}
	if r.Burst.N != 10 || r.BurstUnseen != 0 || r.BurstDoubled != 0 {
		t.Errorf("burst: %d timed, %d unseen, %d doubled; want 10, 0, 0", r.Burst.N, r.BurstUnseen, r.BurstDoubled)
	}
	// The presses timed at the broker and at the hub too (the split).
	if r.ToBroker.N == 0 || r.BrokerToHub.N != r.ToBroker.N || r.ToHub.N == 0 || r.FromHub.N != r.ToHub.N {
		t.Errorf("press splits: to broker %d, broker to hub %d, to hub %d, hub to console %d presses", r.ToBroker.N, r.BrokerToHub.N, r.ToHub.N, r.FromHub.N)
	}
	// The console was not dropped, saw every alarm alert from its opening
	// change on (linked already if its building's incident was open) and
	// each incident's final state: 18 gas alerts and 5 smoke alarms, two
	// buildings' incidents.
	f := r.Feed
	if f.ConsoleErr != "" || f.Alerts != 23 || f.Incidents != 2 || len(f.failures()) > 0 {
		t.Errorf("the console's alarm feed: %+v %q", f, f.failures())
	}
}

// TestBurstSmall: ten presses within a fifth of a second to five consoles;
// every console has every alert once.
func TestBurstSmall(t *testing.T) {
	ctx, env := startTestEnv(t)
	env.out = testLog{t}
	rep, err := runBurst(ctx, env, BurstOptions{Consoles: 5, Alerts: 10, Within: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, rep)
	for _, tg := range rep.Targets {
		if strings.Contains(tg.Goal, "every console has every alert") && !tg.Met {
			t.Errorf("%s: %s", tg.Goal, tg.Measured)
		}
	}
}
