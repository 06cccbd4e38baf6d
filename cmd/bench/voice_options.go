package main

import (
	"errors"
	"flag"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The voice scenario's options: their defaults, their flags and their
// validation (voice.go runs the scenario).

// VoiceOptions size the voice scenario.
type VoiceOptions struct {
	SetupCalls int           // sequential calls timed for setup
	Steps      []int         // concurrent calls of each ramp step, ascending
	StepTime   time.Duration // the measured window of a step
	Settle     time.Duration // after a step's calls all hear audio, before measuring
	MaxCalls   int           // the hub's -max-calls; 0: the largest step
	MaxLoss    float64       // percent; the ramp stops past it
	Connect    int           // calls set up at once while ramping
}

// voiceOpts is the voice scenario's command line; voiceFlags fills it.
var voiceOpts = VoiceOptions{
	SetupCalls: 50, Steps: []int{10, 25, 50, 100, 150, 200, 250, 300},
	StepTime: 10 * time.Second, Settle: 2 * time.Second, MaxLoss: 0.5, Connect: 8,
}

// voiceFlags adds the voice scenario's flags to fs (for "voice" and "all").
func voiceFlags(fs *flag.FlagSet, name string) {
	if name != "voice" && name != "all" {
		return
	}
	o := &voiceOpts
	fs.IntVar(&o.SetupCalls, "setup-calls", o.SetupCalls, "voice: sequential calls timed for setup")
	fs.Func("steps", "voice: concurrent calls of each ramp step, comma-separated (default 10,25,50,100,150,200,250,300)", func(s string) error {
		var steps []int
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return errors.New("want positive whole numbers such as 10,50,100")
			}
			steps = append(steps, n)
		}
		o.Steps = steps
		return nil
	})
	fs.DurationVar(&o.StepTime, "step-time", o.StepTime, "voice: measured window of each ramp step")
	fs.DurationVar(&o.Settle, "settle", o.Settle, "voice: wait after a step's calls all hear audio, before measuring")
	fs.IntVar(&o.MaxCalls, "max-calls", o.MaxCalls, "voice: the hub's -max-calls (default: the largest step)")
	fs.Float64Var(&o.MaxLoss, "max-loss", o.MaxLoss, "voice: packet loss, percent, past which the ramp stops")
	fs.IntVar(&o.Connect, "connect", o.Connect, "voice: calls set up at once while ramping")
}

func (o *VoiceOptions) validate() error {
	if o.SetupCalls <= 0 || len(o.Steps) == 0 || o.StepTime <= 0 || o.Settle < 0 || o.MaxLoss <= 0 || o.Connect <= 0 || o.MaxCalls < 0 {
		return errors.New("voice: -setup-calls, -steps, -step-time, -max-loss and -connect must be positive")
	}
	if !slices.IsSorted(o.Steps) {
		return errors.New("voice: -steps must ascend")
	}
	if o.MaxCalls == 0 {
		o.MaxCalls = o.Steps[len(o.Steps)-1]
	}
	return nil
}
