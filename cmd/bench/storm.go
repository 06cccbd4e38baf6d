package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// The storm scenario: the ingest load with most gas detectors above their
// alarm level — a leak across a building, a badly calibrated batch, a fire
// — measured beside the same load quiet, in one run on one hub, while an
// operator's console times presses. Its variant (-burst) adds smoke alarms
// and presses from the households of one building within a few seconds.

// Storm targets from issue 15.
const (
	targetStormRate  = 0.5 // storm rate at least this share of the quiet rate
	targetStormCPU   = 2.0 // hub CPU per message at most this many times the quiet figure
	targetStormPress = 50  // press → console p99, ms, throughout
)

// StormOptions size the storm scenario.
type StormOptions struct {
	Devices  int           // gas detectors publishing in each phase
	Alarm    int           // of them, in alarm for the whole storm phase
	Messages int           // readings per phase
	Clients  int           // MQTT connections publishing
	Window   int           // unacknowledged publishes per connection
	Interval time.Duration // between presses timed during the storm
	Burst    int           // devices of one building raising smoke and sos events (0: none)
	Within   time.Duration // the burst's events are spread over this
	// Rate paces the readings at this many a second in all (0: as fast as
	// the broker acknowledges them). Flat out, the publisher outruns the
	// hub and the broker holds the difference — tens of thousands of
	// readings, which mosquitto writes whole at every autosave, stopping
	// all its traffic, presses too (docs/benchmarks.md); paced below the
	// hub's rate, the presses are timed with no backlog in the broker.
	Rate float64
	// Backlog closes the loop (0: off): the publisher keeps at most this
	// many readings published and not yet taken by the hub, so the storm
	// runs at the hub's own rate with at most this many in the broker
	// (storm_backlog.go). With Rate too, both bound it.
	Backlog int64
	// LoadPolicy is the load process's scheduling policy: "idle"
	// (SCHED_IDLE: the CPU the street's parts leave, as devices on their
	// own hardware) or "normal" (storm_policy.go).
	LoadPolicy string
}

// stormOpts is the storm scenario's command line; stormFlags fills it.
var stormOpts = StormOptions{Devices: 1000, Alarm: 900, Messages: 200_000, Clients: 16, Window: 1000,
	Interval: 100 * time.Millisecond, Within: 10 * time.Second, LoadPolicy: loadPolicyIdle}

// stormFlags adds the storm scenario's flags to fs (for "storm" only: its
// -devices and -messages would collide with ingest's under "all").
func stormFlags(fs *flag.FlagSet, name string) {
	if name != "storm" {
		return
	}
	o := &stormOpts
	fs.IntVar(&o.Devices, "devices", o.Devices, "storm: gas detectors publishing in each phase")
	fs.IntVar(&o.Alarm, "alarm", o.Alarm, "storm: of them, above the alarm level for the whole storm phase")
	fs.IntVar(&o.Messages, "messages", o.Messages, "storm: readings per phase (quiet, then storm)")
	fs.IntVar(&o.Clients, "clients", o.Clients, "storm: MQTT connections publishing")
	fs.IntVar(&o.Window, "window", o.Window, "storm: unacknowledged publishes per connection")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "storm: time between the presses timed during the storm")
	fs.IntVar(&o.Burst, "burst", o.Burst, "storm: devices of one building raising smoke alarms and presses during the storm (half each; 0: none)")
	fs.DurationVar(&o.Within, "within", o.Within, "storm: the burst's events are spread over this")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "storm: readings a second in all (0: as fast as the broker acknowledges them)")
	fs.Int64Var(&o.Backlog, "backlog", o.Backlog, "storm: at most this many readings published and not yet taken by the hub (its /metrics, polled; 0: no bound)")
	fs.StringVar(&o.LoadPolicy, "load-policy", o.LoadPolicy, "storm: the load process's scheduling policy: idle (SCHED_IDLE, the CPU the broker, hub and InfluxDB leave, as devices on their own hardware) or normal (their own priority)")
}

func (o *StormOptions) validate() error {
	if o.Devices <= 0 || o.Alarm < 0 || o.Alarm > o.Devices || o.Messages <= 0 || o.Clients <= 0 || o.Window <= 0 ||
		o.Interval <= 0 || o.Burst < 0 || o.Within <= 0 || o.Rate < 0 {
		return errors.New("storm: -devices, -messages, -clients, -window, -interval and -within must be positive, -alarm, -burst and -rate not negative, -alarm at most -devices")
	}
	if o.Backlog < 0 || o.Backlog > 0 && o.Backlog < paceEvery {
		return fmt.Errorf("storm: -backlog must be 0 (no bound) or at least %d (a publisher takes room for %d readings at a time)", paceEvery, paceEvery)
	}
	if !validLoadPolicy(o.LoadPolicy) {
		return fmt.Errorf("storm: -load-policy must be %s or %s, not %q", loadPolicyIdle, loadPolicyNormal, o.LoadPolicy)
	}
	return nil
}

// stormRules are benchRules with escalation off for major alerts too: the
// storm's gas alerts are major, and an escalation would send the consoles
// changes nobody times.
const stormRules = `{"supervision": {"sos_button": {"reporting": "24h"}, "smoke": {"reporting": "24h"}, "gas": {"reporting": "24h"}},
 "escalation": {"critical": {"t1": "0s", "t2": "0s", "reminder": "0s"}, "major": {"t1": "0s", "t2": "0s", "reminder": "0s"}}}`

// StormPhase is one phase's throughput.
type StormPhase struct {
	Acked         int64              `json:"acked"`
	InInflux      int                `json:"in_influx"`
	Lost          int                `json:"lost"`
	Doubled       int                `json:"doubled"`
	Seconds       float64            `json:"end_to_end_seconds"`
	Rate          float64            `json:"end_to_end_rate"`
	CPUMicros     map[string]float64 `json:"cpu_us_per_msg"`
	PublishFailed int64              `json:"publish_failed"`
	Backlog       *BacklogStats      `json:"backlog,omitempty"` // with -backlog
	// How long the bench process's goroutines waited to run during the
	// phase: the presses' timestamps and the console's and the broker
	// watch's readings lag by as much.
	BenchSched bench.SchedSummary `json:"bench_sched_wait"`
	// LoadPolicy is the scheduling policy the load process's threads had
	// (read by the bench when it was ready): idle, normal or, if they
	// differ, each.
	LoadPolicy string `json:"load_policy"`
}

// StormResult is what the storm scenario measured.
type StormResult struct {
	Options StormOptions `json:"options"`
	Quiet   StormPhase   `json:"quiet"`
	Storm   StormPhase   `json:"storm"`

	GasAlerts      int `json:"gas_alerts"`       // gas alerts of the storm's devices
	GasDevicesOnce int `json:"gas_devices_once"` // alarm devices with exactly one gas alert
	GasWrong       int `json:"gas_wrong"`        // alerts of quiet devices, or a second alert of one device

	QuietPresses      bench.Latency `json:"quiet_presses"` // press → console during the quiet phase, for comparison
	QuietPressUnseen  int           `json:"quiet_presses_unseen"`
	QuietPressDoubled int           `json:"quiet_presses_doubled"`
	Presses           bench.Latency `json:"presses"` // press → console during the storm
	PressUnseen       int           `json:"presses_unseen"`
	PressDoubled      int           `json:"presses_doubled"`
	Burst             bench.Latency `json:"burst"` // burst event → console
	BurstUnseen       int           `json:"burst_unseen"`
	BurstDoubled      int           `json:"burst_doubled"`
	HubRejected       float64       `json:"hub_rejected"`
	Feed              StormFeed     `json:"feed"` // the alarm alerts and incidents on the console (storm_feed.go)
	// The presses' latency split where the hub received them (the alert's
	// opened_at): before, the publisher, the broker and the hub's intake;
	// after, the hub's commit, feed and fan-out and the console's read.
	QuietToHub   bench.Latency `json:"quiet_press_to_hub"`
	QuietFromHub bench.Latency `json:"quiet_press_from_hub"`
	ToHub        bench.Latency `json:"press_to_hub"`
	FromHub      bench.Latency `json:"press_from_hub"`
	// The time to hub split again where a subscriber of the broker got
	// each press (storm_broker.go).
	QuietToBroker    bench.Latency `json:"quiet_press_to_broker"`
	QuietBrokerToHub bench.Latency `json:"quiet_press_broker_to_hub"`
	ToBroker         bench.Latency `json:"press_to_broker"`
	BrokerToHub      bench.Latency `json:"press_broker_to_hub"`

	rep *Report
}

// stormPayload is reading seq of gas detector i: in alarm (12–21 %LEL,
// above the low level of 10 and under the high level of 25, so each opens
// one gas_low alert and never raises it) or quiet (under 1.5 %LEL).
func stormPayload(alarm bool, seq int) []byte {
	if !alarm {
		return telemetryPayload(devices.KindGas, seq)
	}
	b := make([]byte, 0, 120)
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, baseTS+int64(seq)*10, 10)
	return fmt.Appendf(b, `,"lel":%d,"temperature":%.1f,"battery":%d,"signal":%d}`, 12+seq%10, 18+float64(seq%80)/10, 90-seq%5, -60-seq%20)
}

// gasDevices returns n gas detectors named prefix-00001 ….
func gasDevices(prefix string, n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		ds[i] = benchDevice(fmt.Sprintf("%s-%05d", prefix, i+1), devices.KindGas, i)
	}
	return ds
}

func runStorm(ctx context.Context, env *Env, o StormOptions) (*StormResult, error) {
	res := &StormResult{Options: o}
	res.rep = newReport("storm", map[string]any{"devices": o.Devices, "alarm": o.Alarm, "messages_per_phase": o.Messages,
		"clients": o.Clients, "window": o.Window, "press_interval": o.Interval.String(), "burst": o.Burst,
		"burst_within": o.Within.String(), "rules": stormRules, "mosquitto_autosave_interval": env.opts.Autosave, "rate": o.Rate,
		"backlog": o.Backlog, "load_policy": o.LoadPolicy})
	st, err := env.startParts(ctx, "storm")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := env.startHub(ctx, st, "", stormRules); err != nil {
		return nil, err
	}
	quiet, storm := gasDevices("q", o.Devices), gasDevices("s", o.Devices)
	presses := sosDevices("p", 2000)
	burst := burstDevices(o.Burst)
	all := append(append(append(append([]*devices.Device{}, quiet...), storm...), presses...), burst...)
	fmt.Fprintf(env.out, "registering %d devices through the console's CSV import …\n", len(all))
	if err := register(ctx, st.Hub.URL, st.API.Token, all); err != nil {
		return nil, err
	}
	log := newPressLog()
	seen := newAlertSightings(log)
	feed := newAlarmFeed()
	con, err := bench.DialConsole(ctx, st.Hub.URL, st.API.Token, func(at time.Time, c *bench.Change) {
		feed.onChange(c)
		seen.onChange(at, c)
	})
	if err != nil {
		return nil, err
	}
	defer con.Close()
	watch, err := watchBroker(st.BrokerURL)
	if err != nil {
		return nil, err
	}
	defer watch.Close()

	presser, err := bench.NewPublisher(ctx, st.BrokerURL, "bench-presser", 1000)
	if err != nil {
		return res, err
	}
	defer presser.Close()
	outer := ctx
	// pressing presses the buttons of ds in turn every o.Interval while a
	// phase publishes (and the whole burst, with burst), then sends the
	// IDs pressed on out.
	pressing := func(ds []*devices.Device, burst []*devices.Device, out chan<- []string) func(context.Context) {
		return func(ctx context.Context) {
			var ids []string
			var wg sync.WaitGroup
			if len(burst) > 0 {
				// The whole burst, even if the readings are all in first.
				wg.Go(func() { burstAll(outer, presser, log, burst, o.Within) })
			}
			pace := bench.NewPacer(float64(time.Second) / float64(o.Interval))
			for _, d := range ds {
				if !pace.Wait(ctx) {
					break
				}
				now := time.Now()
				log.record(d.ID, now)
				presser.Publish(devices.Topic(d.ID, devices.ChannelEvent), pressPayload(1, now), nil)
				ids = append(ids, d.ID)
			}
			wg.Wait()
			out <- ids
		}
	}
	profileAs := func(name string) string {
		if env.opts.ProfileDir == "" {
			return ""
		}
		return name
	}
	fmt.Fprintf(env.out, "quiet phase: %d readings from %d gas detectors (the load process's policy: %s), presses every %s …\n",
		o.Messages, o.Devices, o.LoadPolicy, o.Interval)
	quietPressed := make(chan []string, 1)
	if res.Quiet, err = stormPhase(ctx, env, st, o, profileAs("storm-quiet"), quiet, 0, pressing(presses[:len(presses)/2], nil, quietPressed)); err != nil {
		return res, err
	}
	quietIDs := <-quietPressed
	if err := settle(ctx, st, time.Minute); err != nil {
		return res, err
	}
	fmt.Fprintf(env.out, "storm phase: %d readings, %d of %d gas detectors in alarm, presses every %s, burst %d …\n",
		o.Messages, o.Alarm, o.Devices, o.Interval, o.Burst)
	pressed := make(chan []string, 1)
	if res.Storm, err = stormPhase(ctx, env, st, o, profileAs("storm"), storm, o.Alarm, pressing(presses[len(presses)/2:], burst, pressed)); err != nil {
		return res, err
	}
	pressIDs := <-pressed
	waitSeen(ctx, []*sightings{seen.sightings}, append(append(pressIDs, quietIDs...), ids(burst)...), seenTimeout)
	var lat []time.Duration
	res.QuietPressUnseen, res.QuietPressDoubled, lat = seen.check(quietIDs)
	res.QuietPresses = bench.Summarise(lat)
	res.PressUnseen, res.PressDoubled, lat = seen.check(pressIDs)
	res.Presses = bench.Summarise(lat)
	res.BurstUnseen, res.BurstDoubled, lat = seen.check(ids(burst))
	res.Burst = bench.Summarise(lat)
	to, from := seen.split(quietIDs)
	res.QuietToHub, res.QuietFromHub = bench.Summarise(to), bench.Summarise(from)
	stormIDs := append(slices.Clone(pressIDs), ids(burst)...)
	to, from = seen.split(stormIDs)
	res.ToHub, res.FromHub = bench.Summarise(to), bench.Summarise(from)
	res.QuietToBroker, res.QuietBrokerToHub = watch.split(quietIDs, log, seen.sightings)
	res.ToBroker, res.BrokerToHub = watch.split(stormIDs, log, seen.sightings)
	f, _ := presser.Failed()
	res.Storm.PublishFailed += f

	// Every alarm device opened one gas alert, and no other device did.
	gas, err := st.API.Alerts(ctx, "kind=gas_low")
	if err != nil {
		return res, err
	}
	high, err := st.API.Alerts(ctx, "kind=gas_high")
	if err != nil {
		return res, err
	}
	perDevice := map[string]int{}
	for _, a := range append(gas, high...) {
		perDevice[a.DeviceID]++
	}
	res.GasAlerts = len(gas) + len(high)
	for i, d := range storm {
		n := perDevice[d.ID]
		delete(perDevice, d.ID)
		switch {
		case i < o.Alarm && n == 1:
			res.GasDevicesOnce++
		case i < o.Alarm && n > 1:
			res.GasWrong += n - 1
		case i >= o.Alarm:
			res.GasWrong += n
		}
	}
	for _, n := range perDevice {
		res.GasWrong += n // quiet-phase devices
	}
	if m, err := st.API.Metrics(ctx); err == nil {
		res.HubRejected = m.Sum("shouwang_ingest_rejected_total")
	}
	if err := con.Err(); err != nil {
		res.Feed.ConsoleErr = err.Error()
	}
	consoleErr := res.Feed.ConsoleErr
	if res.Feed, err = feed.check(ctx, st.API); err != nil {
		return res, err
	}
	res.Feed.ConsoleErr = consoleErr
	return res, nil
}
