package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"
)

// The burst scenario (issue 15): a hundred alerts within one second —
// presses of a hundred call buttons, as when a building's residents all
// press at once — to fifty consoles; every console must have every alert,
// and p99 ≤ 100 ms. It is the fan-out run with the presses packed into the
// burst instead of spread out.

// targetBurstP99 is the burst target, in milliseconds.
const targetBurstP99 = 100

// BurstOptions size the burst scenario.
type BurstOptions struct {
	Consoles int
	Alerts   int
	Within   time.Duration
}

// burstOpts is the burst scenario's command line; burstFlags fills it.
var burstOpts = BurstOptions{Consoles: 50, Alerts: 100, Within: time.Second}

// burstFlags adds the burst scenario's flags to fs (for "burst" only).
func burstFlags(fs *flag.FlagSet, name string) {
	if name != "burst" {
		return
	}
	fs.IntVar(&burstOpts.Consoles, "consoles", burstOpts.Consoles, "burst: console clients of the live feed")
	fs.IntVar(&burstOpts.Alerts, "alerts", burstOpts.Alerts, "burst: presses, each from its own call button")
	fs.DurationVar(&burstOpts.Within, "within", burstOpts.Within, "burst: the presses are spread evenly over this")
}

func (o BurstOptions) validate() error {
	if o.Consoles <= 0 || o.Alerts <= 0 || o.Within <= 0 {
		return errors.New("burst: -consoles, -alerts and -within must be positive")
	}
	return nil
}

// runBurst runs the burst and returns its report.
func runBurst(ctx context.Context, env *Env, o BurstOptions) (*Report, error) {
	r, err := runFanout(ctx, env, FanoutOptions{Consoles: o.Consoles, Presses: o.Alerts, Interval: o.Within / time.Duration(o.Alerts)})
	if r == nil {
		return nil, err
	}
	rep := r.report()
	rep.Scenario = "burst"
	rep.Config["within"] = o.Within.String()
	rep.Targets = nil
	rep.target(fmt.Sprintf("%d alerts within %s to %d consoles: every console has every alert", o.Alerts, o.Within, o.Consoles),
		r.Unseen == 0 && r.Latency.N == o.Alerts*o.Consoles, "%d of %d sightings", r.Latency.N, o.Alerts*o.Consoles)
	rep.target(fmt.Sprintf("burst p99 ≤ %d ms", targetBurstP99), r.Latency.N > 0 && r.Latency.P99 <= targetBurstP99, "p99 %.1f ms", r.Latency.P99)
	return rep, err
}
