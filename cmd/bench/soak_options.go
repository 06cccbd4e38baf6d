package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
)

// SoakOptions size the soak scenario.
type SoakOptions struct {
	Rate       float64       // telemetry, messages a second
	Duration   time.Duration // of each broker's run
	Devices    int           // telemetry devices
	Clients    int           // connections publishing them (mosquitto; the embedded broker: one per device)
	PressEvery time.Duration // an SOS press from a fresh button, timed to the console
	Sample     time.Duration // how often the broker is looked at
	Warmup     time.Duration // left out of the flatness figures
	Brokers    []string      // brokerSettings names, in order
}

var soakOpts = SoakOptions{Rate: 1000, Duration: 10 * time.Minute, Devices: 200, Clients: 4,
	PressEvery: 5 * time.Second, Sample: 5 * time.Second, Warmup: time.Minute,
	Brokers: []string{"changes-1", "changes-1000", "seconds-1", "embedded"}}

// A brokerSetting is a broker configuration the soak runs against: one of
// the mosquitto configurations operations.md has documented, or the hub's
// embedded broker (Mosq nil).
type brokerSetting struct {
	Name string
	Desc string
	Mosq *bench.MosquittoConfig
}

// brokerSettings are the configurations the soak knows, in the order it
// runs them.
var brokerSettings = []brokerSetting{
	{"changes-1", "autosave_on_changes true, autosave_interval 1: save after every change (operations.md before issue 10)",
		&bench.MosquittoConfig{AutosaveInterval: 1}},
	{"changes-1000", "autosave_on_changes true, autosave_interval 1000: save after 1,000 changes",
		&bench.MosquittoConfig{AutosaveInterval: 1000}},
	{"seconds-1", "autosave_on_changes false, autosave_interval 1: save every second (operations.md now)",
		&bench.MosquittoConfig{AutosaveInterval: 1, AutosaveSeconds: true}},
	{"embedded", "the hub's embedded broker (mochi-mqtt, bbolt store, group commit before PUBACK)", nil},
}

func brokerSettingNamed(name string) (brokerSetting, bool) {
	for _, b := range brokerSettings {
		if b.Name == name {
			return b, true
		}
	}
	return brokerSetting{}, false
}

// soakFlags adds the soak's flags.
func soakFlags(fs *flag.FlagSet, name string) {
	if name != "soak" {
		return
	}
	o := &soakOpts
	fs.Float64Var(&o.Rate, "rate", o.Rate, "soak: telemetry, messages a second")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "soak: how long each broker is run")
	fs.IntVar(&o.Devices, "devices", o.Devices, "soak: telemetry devices")
	fs.IntVar(&o.Clients, "clients", o.Clients, "soak: connections publishing for them (mosquitto)")
	fs.DurationVar(&o.PressEvery, "press-every", o.PressEvery, "soak: time between SOS presses, each from a fresh button")
	fs.DurationVar(&o.Sample, "sample", o.Sample, "soak: time between looks at the broker")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "soak: first part of the run left out of the flatness figures")
	var names []string
	for _, b := range brokerSettings {
		names = append(names, b.Name)
	}
	fs.Func("brokers", "soak: broker configurations to run, comma-separated, of "+strings.Join(names, ", ")+" (default all)", func(s string) error {
		o.Brokers = nil
		for f := range strings.SplitSeq(s, ",") {
			f = strings.TrimSpace(f)
			if _, ok := brokerSettingNamed(f); !ok {
				return fmt.Errorf("unknown broker configuration %q", f)
			}
			o.Brokers = append(o.Brokers, f)
		}
		return nil
	})
}

func (o SoakOptions) validate() error {
	if o.Rate <= 0 || o.Devices <= 0 || o.Clients <= 0 || len(o.Brokers) == 0 {
		return errors.New("soak: -rate, -devices, -clients must be positive and -brokers not empty")
	}
	if o.Duration <= 0 || o.PressEvery <= 0 || o.Sample <= 0 || o.Warmup < 0 {
		return errors.New("soak: -duration, -press-every and -sample must be positive, -warmup not negative")
	}
	return nil
}

// scenarios names one run per broker configuration.
func (o SoakOptions) scenarios() []string {
	out := make([]string, len(o.Brokers))
	for i, b := range o.Brokers {
		out[i] = "soak/" + b
	}
	return out
}
