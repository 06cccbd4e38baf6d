// Command bench is Shouwang's benchmark program. It starts the real parts
// itself — mosquitto, InfluxDB 1.8.10 and the hub built from the tree, each
// as a subprocess on loopback ports with temporary data — drives them,
// prints progress once a second and a table at the end, writes the results
// as JSON, and exits non-zero when anything was lost or doubled.
//
//	go run ./cmd/bench ingest  [-devices 1000] [-messages 200000] [-clients 16] [-window 1000]
//	go run ./cmd/bench latency [-presses 1000] [-interval 100ms] [-rate 5000] [-devices 1000]
//	go run ./cmd/bench fanout  [-consoles 500] [-presses 200] [-interval 200ms]
//	go run ./cmd/bench transitions [-alerts 300] [-operators 16]
//	go run ./cmd/bench scale   [-registered 1000000] [-silent 1000] [-reporting 10s] [-lean]
//	go run ./cmd/bench voice   [-setup-calls 50] [-steps 10,25,50,100,150,200,250,300] [-step-time 10s]
//	go run ./cmd/bench storm   [-devices 1000] [-alarm 900] [-messages 200000] [-burst 100] [-within 10s]
//	go run ./cmd/bench burst   [-consoles 50] [-alerts 100] [-within 1s]
//	go run ./cmd/bench soak    [-rate 1000] [-duration 10m] [-brokers changes-1,changes-1000,seconds-1,embedded]
//	go run ./cmd/bench checkins [-households 100000] [-overdue 10] [-gas 1000] [-lead 3m]
//	go run ./cmd/bench failover [-kills 10] [-devices 20] [-rate 200]   (two instances; PostgreSQL)
//	go run ./cmd/bench all     [-out results.json]
//
// Every scenario takes -out FILE (JSON), -profile DIR (pprof profiles of the
// hub), -autosave N (mosquitto), -db sqlite|postgres (the hub's store), -hub-bin,
// -mqtt-url, -influx-url and -keep.
//
// Figures, commands and what limits them: docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

const usage = `bench measures the Shouwang hub end to end against real mosquitto, InfluxDB and the hub.

Usage:
  bench SCENARIO [flags]

Scenarios:
  ingest   devices publish telemetry at QoS 1 as fast as the broker takes it; rate counted in InfluxDB
  latency  press → console live-feed latency under background telemetry, then on an idle hub
  fanout   press → every one of many console clients
  transitions  operators accepting (two at once per alert), dispatching and resolving alerts concurrently
  scale    a million registered, supervised devices: hub memory; silent devices flagged offline
  voice    call setup time, then concurrent relayed calls ramped until loss or CPU limits them
  burst    a hundred presses within a second to fifty consoles
  checkins households of residents living alone: a door reading's cost, then the daily check-in sweep
  storm    the ingest load quiet, then with most gas detectors in alarm (and -burst: a building's smoke alarms and presses), presses timed throughout
  soak     telemetry at a street's peak for a long time against each broker configuration: does the broker keep up?
  failover two hub instances; one killed (SIGKILL) again and again: time until the survivor has its share
  all      each of the above in turn (not burst, storm, soak, checkins or failover), with its defaults unless a flag says otherwise

Run "bench SCENARIO -h" for the flags.
`

var scenarioNames = []string{"ingest", "latency", "fanout", "transitions", "scale", "voice"}

// extraScenarios are run only by name, not by "all" (their flags would
// collide with the others').
var extraScenarios = []string{"storm", "burst", "soak", "checkins", "failover"}

func main() {
	if os.Getenv(loadEnv) != "" {
		loadMain()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// loadMain runs this program as a storm's load process (storm_load.go) and
// exits.
func loadMain() {
	if err := runLoad(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench: load process:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args[0]
	if name != "all" && !slices.Contains(scenarioNames, name) && !slices.Contains(extraScenarios, name) {
		fmt.Fprintf(stderr, "bench: unknown scenario %q\n\n%s", name, usage)
		return 2
	}
	o := defaultOptions()
	fs := o.flags(name, stderr)
	voiceFlags(fs, name)
	stormFlags(fs, name)
	telegrafFlags(fs, name)
	burstFlags(fs, name)
	soakFlags(fs, name)
	checkinsFlags(fs, name)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := errors.Join(o.validate(), stormOpts.validate(), burstOpts.validate(), checkinsOpts.validate()); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if name == "failover" && o.Env.DB != "postgres" {
		fmt.Fprintf(stderr, "bench: failover: -db %s: the two instances share PostgreSQL; leave -db out or say postgres\n", o.Env.DB)
		return 2
	}
	if err := soakOpts.validate(); name == "soak" && err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	env, err := newEnv(ctx, o.Env, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer env.Close()

	names := []string{name}
	switch name {
	case "all":
		names = scenarioNames
	case "soak":
		names = soakOpts.scenarios()
	}
	out := Output{Machine: machineInfo(env.root), Command: append([]string{"bench"}, args...)}
	failed := false
	for _, n := range names {
		rep, err := runScenario(ctx, env, n, o)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %s: %v\n", n, err)
			if rep == nil {
				rep = newReport(n, nil)
			}
			rep.Failures = append(rep.Failures, "error: "+err.Error())
		}
		if rep.Config == nil {
			rep.Config = map[string]any{}
		}
		rep.Config["store"] = o.Env.DB
		rep.print(stdout)
		out.Results = append(out.Results, rep)
		if len(rep.Failures) > 0 {
			failed = true
		}
		if ctx.Err() != nil {
			break
		}
	}
	if o.Out != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(o.Out, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench: write results:", err)
			return 1
		}
		fmt.Fprintf(stdout, "results written to %s\n", o.Out)
	}
	if failed {
		fmt.Fprintln(stderr, "bench: FAILED: something was lost, doubled or not seen (see above)")
		return 1
	}
	return 0
}

// runScenario runs one scenario and returns its report (nil if it did not
// get far enough to have one).
func runScenario(ctx context.Context, env *Env, name string, o Options) (*Report, error) {
	fmt.Fprintf(env.out, "\n== %s (load average before: %s) ==\n", name, loadAverage())
	var rep *Report
	var err error
	switch name {
	case "ingest":
		var r *IngestResult
		if r, err = runIngest(ctx, env, o.Ingest); r != nil {
			rep = r.report()
		}
		if err == nil && withTelegraf {
			var tg ContestantRun
			tg, err = runTelegrafIngest(ctx, env, o.Ingest)
			side := compare(hubRun(r), tg, runtime.NumCPU())
			side.addTo(rep)
			rep.Details = map[string]any{"hub": r, "side_by_side": side}
		}
	case "latency":
		var r *LatencyResult
		if r, err = runLatency(ctx, env, o.Latency); r != nil {
			rep = r.report()
		}
	case "fanout":
		var r *FanoutResult
		if r, err = runFanout(ctx, env, o.Fanout); r != nil {
			rep = r.report()
		}
	case "transitions":
		var r *TransitionsResult
		if r, err = runTransitions(ctx, env, o.Transitions); r != nil {
			rep = r.report()
		}
	case "scale":
		var r *ScaleResult
		if r, err = runScale(ctx, env, o.Scale); r != nil {
			rep = r.report()
		}
	case "burst":
		rep, err = runBurst(ctx, env, burstOpts)
	case "checkins":
		var r *CheckinsResult
		if r, err = runCheckins(ctx, env, checkinsOpts); r != nil {
			rep = r.report()
		}
	case "storm":
		var r *StormResult
		if r, err = runStorm(ctx, env, stormOpts); r != nil {
			rep = r.report()
		}
	case "voice":
		var r *VoiceResult
		if r, err = runVoice(ctx, env, voiceOpts); r != nil {
			rep = r.report()
		}
	case "failover":
		var r *FailoverResult
		if r, err = runFailover(ctx, env, o.Failover); r != nil {
			rep = r.report()
		}
	default:
		b, ok := brokerSettingNamed(strings.TrimPrefix(name, "soak/"))
		if !ok || !strings.HasPrefix(name, "soak/") {
			err = fmt.Errorf("unknown scenario %q", name)
			break
		}
		var r *SoakResult
		if r, err = runSoak(ctx, env, soakOpts, b); r != nil {
			rep = r.report()
		}
	}
	return rep, err
}

// Output is the JSON file -out writes.
type Output struct {
	Machine Machine   `json:"machine"`
	Command []string  `json:"command"`
	Results []*Report `json:"results"`
}

// elapsed rounds a duration for progress lines.
func elapsed(since time.Time) string { return time.Since(since).Round(100 * time.Millisecond).String() }
