package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/internal/sim"
)

// gasFlags are the shape of a triggered gas leak.
type gasFlags struct {
	levels string
	step   time.Duration
}

func (g *gasFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.levels, "levels", joinLevels(sim.DefaultGasLeak), "gas: comma-separated lel readings (% LEL) of the leak")
	fs.DurationVar(&g.step, "step", sim.DefaultGasStep, "gas: time between two readings")
}

func (g *gasFlags) parse() ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(g.levels, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 || v > 100 {
			return nil, fmt.Errorf("-levels %q: want numbers between 0 and 100, comma-separated", g.levels)
		}
		out = append(out, v)
	}
	if g.step < 0 {
		return nil, fmt.Errorf("-step %v: must not be negative", g.step)
	}
	return out, nil
}

func joinLevels(ls []float64) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.FormatFloat(l, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// actionArgs checks the ACTION DEVICE-ID arguments.
func actionArgs(fs *flag.FlagSet, allowed []string) (action, id string, err error) {
	if fs.NArg() != 2 {
		return "", "", badUsage(fs, "want ACTION DEVICE-ID, got %q", fs.Args())
	}
	action, id = fs.Arg(0), fs.Arg(1)
	if !slices.Contains(allowed, action) {
		return "", "", badUsage(fs, "unknown action %q (known: %s)", action, strings.Join(allowed, ", "))
	}
	return action, id, nil
}

func cmdTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("trigger", "[flags] "+strings.Join(sim.Actions, "|")+" DEVICE-ID", stderr)
	control := fs.String("control", "127.0.0.1:8091", "control endpoint of the running devsim run")
	var gas gasFlags
	gas.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	action, id, err := actionArgs(fs, sim.Actions)
	if err != nil {
		return err
	}
	var params url.Values
	if action == "gas" {
		if _, err := gas.parse(); err != nil {
			return badUsage(fs, "%v", err)
		}
		params = url.Values{"levels": {gas.levels}, "step": {gas.step.String()}}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := sim.Trigger(ctx, *control, action, id, params)
	if err != nil {
		return err
	}
	printResult(stdout, res)
	return nil
}

// eventActions are what a one-shot device can do; silence and resume only
// make sense for a running simulation.
var eventActions = []string{"press", "checkin", "test", "smoke", "smoke-clear", "gas", "gas-clear"}

func cmdEvent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("event", "[flags] "+strings.Join(eventActions, "|")+" DEVICE-ID", stderr)
	broker := fs.String("mqtt", "tcp://127.0.0.1:1883", "MQTT broker URL (tls://host:8883 for MQTT over TLS)")
	cafile := caFlag(fs)
	creds := fs.String("creds", "data/demo-devices", "directory written by devsim seed")
	timeout := fs.Duration("timeout", 30*time.Second, "give up connecting and sending after this long")
	verbose := fs.Bool("v", false, "log debug detail")
	var gas gasFlags
	gas.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	action, id, err := actionArgs(fs, eventActions)
	if err != nil {
		return err
	}
	levels, err := gas.parse()
	if err != nil {
		return badUsage(fs, "%v", err)
	}
	tc, err := tlsConfig(*cafile)
	if err != nil {
		return err
	}
	specs, err := sim.LoadCredentials(*creds)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(specs, func(s sim.DeviceSpec) bool { return s.Device.ID == id })
	if i < 0 {
		return fmt.Errorf("device %s is not in %s", id, *creds)
	}
	// Events only: no will, status or telemetry, so the one-shot does not
	// mark the device offline when it leaves.
	s, err := sim.New(sim.Config{BrokerURL: *broker, TLSConfig: tc, Devices: specs[i : i+1], EventsOnly: true}, newLogger(stderr, *verbose))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if err := s.WaitConnected(ctx); err != nil {
		return err
	}
	res := &sim.TriggerResult{ID: id, Action: action}
	var oneShot bool
	if res.Seq, oneShot, err = s.OneShot(action, id); !oneShot && action == "gas" {
		err = s.GasLeak(ctx, id, levels, gas.step)
		res.Note = fmt.Sprintf("leak of %d readings sent", len(levels))
	}
	if err != nil {
		return err
	}
	printResult(stdout, res)
	return nil
}

func printResult(w io.Writer, r *sim.TriggerResult) {
	switch {
	case r.Seq != 0:
		fmt.Fprintf(w, "%s: %s sent, seq %d\n", r.ID, r.Action, r.Seq)
	case r.Note != "":
		fmt.Fprintf(w, "%s: %s: %s\n", r.ID, r.Action, r.Note)
	default:
		fmt.Fprintf(w, "%s: %s done\n", r.ID, r.Action)
	}
}
