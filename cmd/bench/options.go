package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Options is the whole command line.
type Options struct {
	Out     string
	Env     EnvOptions
	Ingest  IngestOptions
	Latency LatencyOptions
	Fanout  FanoutOptions
	Scale   ScaleOptions

	Transitions TransitionsOptions
	Failover    FailoverOptions
}

// EnvOptions say where the real parts come from.
type EnvOptions struct {
	MQTTURL   string // an external broker; empty: start mosquitto
	InfluxURL string // an external InfluxDB 1.8; empty: start influxd
	HubBin    string // a built hub; empty: go build ./cmd/hub
	Mosquitto string // the mosquitto program; empty: look it up
	Influxd   string // the influxd program; empty: look it up
	Autosave  int    // mosquitto autosave_interval (changes)
	WorkDir   string // where temporary directories go; empty: the system's
	Keep      bool   // keep the work directory (logs, data) afterwards
	DB        string // the hub's store: "sqlite" (a file in its data dir) or "postgres" (a cluster of the scenario's own)
	// ProfileDir receives CPU profiles of the hub during each measured
	// phase (and heap profiles where memory is the question).
	ProfileDir string
}

// IngestOptions size the ingest scenario.
type IngestOptions struct {
	Devices         int
	Messages        int
	Clients         int           // MQTT connections publishing
	Window          int           // unacknowledged publishes per connection
	ProfileDuration time.Duration // the CPU profile from the first publish
	Instances       int           // hub instances sharing the load (-db postgres when more than 1)
}

// LatencyOptions size the latency scenario.
type LatencyOptions struct {
	Presses  int           // per phase
	Interval time.Duration // between presses
	Rate     float64       // background telemetry, messages a second
	Devices  int           // background telemetry devices
	Clients  int           // background MQTT connections
	NoIdle   bool          // skip the idle phase
}

// FanoutOptions size the fan-out scenario.
type FanoutOptions struct {
	Consoles int
	Presses  int
	Interval time.Duration
}

// ScaleOptions size the scale scenario.
type ScaleOptions struct {
	Registered int           // supervised call buttons in the store
	Silent     int           // gas detectors that speak once and fall silent
	Reporting  time.Duration // the gas detectors' reporting time
	Lean       bool          // minimal device records instead of full households
}

func defaultOptions() Options {
	return Options{
		Env:     EnvOptions{Autosave: 10000, DB: "sqlite"},
		Ingest:  IngestOptions{Devices: 1000, Messages: 200_000, Clients: 16, Window: 1000, ProfileDuration: 10 * time.Second},
		Latency: LatencyOptions{Presses: 1000, Interval: 100 * time.Millisecond, Rate: 5000, Devices: 1000, Clients: 4},
		Fanout:  FanoutOptions{Consoles: 500, Presses: 200, Interval: 200 * time.Millisecond},
		Scale:   ScaleOptions{Registered: 1_000_000, Silent: 1000, Reporting: 10 * time.Second},

		Transitions: TransitionsOptions{Alerts: 300, Operators: 16},
		Failover:    FailoverOptions{Kills: 10, Devices: 20, Rate: 200},
	}
}

// multiInt sets several ints from one flag (under "all", -devices sizes
// both ingest and the latency background).
type multiInt []*int

func (m multiInt) String() string {
	if len(m) == 0 {
		return ""
	}
	return strconv.Itoa(*m[0])
}

func (m multiInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	for _, p := range m {
		*p = n
	}
	return nil
}

type multiDuration []*time.Duration

func (m multiDuration) String() string {
	if len(m) == 0 {
		return ""
	}
	return m[0].String()
}

func (m multiDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 100ms")
	}
	for _, p := range m {
		*p = d
	}
	return nil
}

// flags returns the flag set of a scenario ("all": every flag).
func (o *Options) flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	is := func(names ...string) bool {
		for _, n := range names {
			if name == n || name == "all" {
				return true
			}
		}
		return false
	}
	fs.StringVar(&o.Out, "out", "", "write the results as JSON to this file")
	fs.StringVar(&o.Env.MQTTURL, "mqtt-url", "", "use this MQTT broker instead of starting mosquitto (anonymous publishing for any device ID must be allowed)")
	fs.StringVar(&o.Env.InfluxURL, "influx-url", "", "use this InfluxDB 1.8 instead of starting influxd (a fresh database is created per scenario)")
	fs.StringVar(&o.Env.HubBin, "hub-bin", "", "use this hub binary instead of building ./cmd/hub")
	fs.StringVar(&o.Env.Mosquitto, "mosquitto", "", "the mosquitto program (default: .tools/bin, PATH, /usr/sbin)")
	fs.StringVar(&o.Env.Influxd, "influxd", "", "the influxd program (default: .tools/bin, PATH, /usr/sbin)")
	fs.IntVar(&o.Env.Autosave, "autosave", o.Env.Autosave, "mosquitto autosave_interval in changes (production: 1; see docs/operations.md)")
	fs.StringVar(&o.Env.WorkDir, "workdir", "", "directory for temporary data and logs (default: the system temp dir)")
	fs.BoolVar(&o.Env.Keep, "keep", false, "keep the work directory with every log and data file")
	if name == "failover" {
		o.Env.DB = "postgres" // several instances share PostgreSQL (the default -h shows)
	}
	fs.StringVar(&o.Env.DB, "db", o.Env.DB, "the hub's store: sqlite, or postgres (a PostgreSQL 15 cluster of each scenario's own, durability as in production)")
	fs.StringVar(&o.Env.ProfileDir, "profile", "", "write CPU profiles of the hub during each measured phase (and heap/allocs profiles) into this directory")

	var devices multiInt
	var presses multiInt
	var interval multiDuration
	if is("ingest") {
		devices = append(devices, &o.Ingest.Devices)
		fs.IntVar(&o.Ingest.Messages, "messages", o.Ingest.Messages, "ingest: telemetry messages in all")
		fs.IntVar(&o.Ingest.Clients, "clients", o.Ingest.Clients, "ingest: MQTT connections publishing")
		fs.IntVar(&o.Ingest.Window, "window", o.Ingest.Window, "ingest: unacknowledged publishes per connection")
		fs.DurationVar(&o.Ingest.ProfileDuration, "profile-time", o.Ingest.ProfileDuration, "ingest: length of the CPU profile taken from the first publish (with -profile; at most 30s)")
		fs.IntVar(&o.Ingest.Instances, "instances", 1, "ingest: hub instances sharing the telemetry ($share; needs -db postgres when more than 1)")
	}
	if is("latency") {
		devices = append(devices, &o.Latency.Devices)
		presses = append(presses, &o.Latency.Presses)
		interval = append(interval, &o.Latency.Interval)
		fs.Float64Var(&o.Latency.Rate, "rate", o.Latency.Rate, "latency: background telemetry, messages a second (0: none)")
		fs.IntVar(&o.Latency.Clients, "bg-clients", o.Latency.Clients, "latency: MQTT connections of the background telemetry")
		fs.BoolVar(&o.Latency.NoIdle, "no-idle", false, "latency: skip the idle phase")
	}
	if is("fanout") {
		presses = append(presses, &o.Fanout.Presses)
		interval = append(interval, &o.Fanout.Interval)
		fs.IntVar(&o.Fanout.Consoles, "consoles", o.Fanout.Consoles, "fanout: console clients of the live feed")
	}
	if is("transitions") {
		fs.IntVar(&o.Transitions.Alerts, "alerts", o.Transitions.Alerts, "transitions: alerts opened, then each accepted (twice at once), dispatched and resolved")
		fs.IntVar(&o.Transitions.Operators, "operators", o.Transitions.Operators, "transitions: operators working at once")
	}
	if is("scale") {
		fs.IntVar(&o.Scale.Registered, "registered", o.Scale.Registered, "scale: supervised devices registered in the store")
		fs.IntVar(&o.Scale.Silent, "silent", o.Scale.Silent, "scale: gas detectors that send one message and fall silent")
		fs.DurationVar(&o.Scale.Reporting, "reporting", o.Scale.Reporting, "scale: the gas detectors' reporting time")
		fs.BoolVar(&o.Scale.Lean, "lean", false, "scale: register minimal device records (id, kind, community, building) instead of full households")
	}
	if name == "failover" {
		fs.IntVar(&o.Failover.Kills, "kills", o.Failover.Kills, "failover: SIGKILLs, alternating between the two instances")
		fs.IntVar(&o.Failover.Devices, "devices", o.Failover.Devices, "failover: telemetry devices")
		fs.Float64Var(&o.Failover.Rate, "rate", o.Failover.Rate, "failover: telemetry, messages a second")
	}
	if len(devices) > 0 {
		fs.Var(devices, "devices", "ingest: devices publishing; latency: background telemetry devices (default 1000)")
	}
	if len(presses) > 0 {
		fs.Var(presses, "presses", "latency: presses per phase (default 1000); fanout: presses (default 200)")
		fs.Var(interval, "interval", "time between presses (latency default 100ms, fanout 200ms)")
	}
	return fs
}

func (o Options) validate() error {
	pos := func(v int, name string) error {
		if v <= 0 {
			return fmt.Errorf("-%s %d: must be positive", name, v)
		}
		return nil
	}
	return errors.Join(
		func() error {
			if o.Env.DB != "sqlite" && o.Env.DB != "postgres" {
				return fmt.Errorf("-db %q: want sqlite or postgres", o.Env.DB)
			}
			return nil
		}(),
		pos(o.Env.Autosave, "autosave"),
		pos(o.Ingest.Devices, "devices"), pos(o.Ingest.Messages, "messages"),
		pos(o.Ingest.Clients, "clients"), pos(o.Ingest.Window, "window"),
		pos(o.Latency.Presses, "presses"), pos(o.Latency.Devices, "devices"), pos(o.Latency.Clients, "bg-clients"),
		pos(o.Fanout.Consoles, "consoles"), pos(o.Fanout.Presses, "presses"),
		pos(o.Transitions.Alerts, "alerts"), pos(o.Transitions.Operators, "operators"),
		pos(o.Scale.Registered, "registered"), pos(o.Scale.Silent, "silent"),
		func() error {
			if o.Latency.Interval <= 0 || o.Fanout.Interval <= 0 || o.Scale.Reporting < time.Second {
				return errors.New("-interval must be positive and -reporting at least 1s")
			}
			if o.Latency.Rate < 0 {
				return errors.New("-rate must not be negative")
			}
			return nil
		}(),
		func() error {
			if o.Ingest.Instances > 1 && o.Env.DB != "postgres" {
				return errors.New("-instances: several hub instances share PostgreSQL: add -db postgres")
			}
			if o.Failover.Kills <= 0 || o.Failover.Devices <= 0 || o.Failover.Rate <= 0 {
				return errors.New("failover: -kills, -devices and -rate must be positive")
			}
			return nil
		}(),
	)
}
