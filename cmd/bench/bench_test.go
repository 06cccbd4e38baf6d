package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// startTestEnv starts the real parts for a small run — mosquitto and
// InfluxDB (a missing one fails under CI) and the hub built from the tree —
// and returns them with a context that bounds the test.
func startTestEnv(t *testing.T) (context.Context, *Env) {
	t.Helper()
	mosq := testenv.ToolPath(t, "mosquitto")
	influxd := testenv.ToolPath(t, "influxd")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	env, err := newEnv(ctx, EnvOptions{Mosquitto: mosq, Influxd: influxd, Autosave: 100, WorkDir: t.TempDir()}, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return ctx, env
}

// TestScenariosSmall runs every scenario with tiny sizes against the real
// parts — mosquitto, InfluxDB and the hub built from the tree — and checks
// what the benchmark promises: nothing lost, nothing doubled, every press
// seen by every console, every silent device flagged once. It asserts
// counts, never speed.
func TestScenariosSmall(t *testing.T) {
	ctx, env := startTestEnv(t)

	t.Run("ingest", func(t *testing.T) {
		env.out = testLog{t}
		r, err := runIngest(ctx, env, IngestOptions{Devices: 20, Messages: 1000, Clients: 3, Window: 50})
		if err != nil {
			t.Fatal(err)
		}
		noFailures(t, r.report())
		if r.Acked != 1000 || r.InInflux != 1000 || r.Lost != 0 || r.Doubled != 0 {
			t.Errorf("acked %d, in InfluxDB %d, lost %d, doubled %d; want 1000, 1000, 0, 0", r.Acked, r.InInflux, r.Lost, r.Doubled)
		}
		if r.HubStored != 1000 || r.HubRejected != 0 {
			t.Errorf("hub stored %.0f, rejected %.0f; want 1000 and 0", r.HubStored, r.HubRejected)
		}
		if r.CPUMicrosPerMsg["hub"] <= 0 || r.HubPeakRSSMiB <= 0 {
			t.Errorf("hub CPU %v µs/msg, peak RSS %v MiB: /proc not read", r.CPUMicrosPerMsg["hub"], r.HubPeakRSSMiB)
		}
	})
	t.Run("latency", func(t *testing.T) {
		env.out = testLog{t}
		r, err := runLatency(ctx, env, LatencyOptions{Presses: 20, Interval: 20 * time.Millisecond, Rate: 500, Devices: 20, Clients: 2})
		if err != nil {
			t.Fatal(err)
		}
		noFailures(t, r.report())
		if r.Loaded.N != 20 || r.Idle.N != 20 {
			t.Errorf("timed %d loaded and %d idle presses; want 20 each", r.Loaded.N, r.Idle.N)
		}
		if r.Background == 0 || r.BackgroundLost != 0 || r.BackgroundDup != 0 {
			t.Errorf("background: %d sent, %d lost, %d doubled", r.Background, r.BackgroundLost, r.BackgroundDup)
		}
	})
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run("transitions on "+db, func(t *testing.T) {
			env.out = testLog{t}
			env.opts.DB = db
			defer func() { env.opts.DB = "" }()
			r, err := runTransitions(ctx, env, TransitionsOptions{Alerts: 10, Operators: 3})
			if err != nil {
				t.Fatal(err)
			}
			noFailures(t, r.report())
			if r.Committed != 30 || r.Refused != 10 || r.Wrong != 0 || r.NotResolved != 0 {
				t.Errorf("committed %d, refused %d, wrong %d, not resolved %d; want 30, 10, 0, 0", r.Committed, r.Refused, r.Wrong, r.NotResolved)
			}
			if _, ok := r.CPUMicrosPerTx["postgres"]; ok != (db == "postgres") {
				t.Errorf("PostgreSQL's CPU measured: %v, on %s", ok, db)
			}
		})
	}
	t.Run("fanout", func(t *testing.T) {
		env.out = testLog{t}
		r, err := runFanout(ctx, env, FanoutOptions{Consoles: 5, Presses: 20, Interval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		noFailures(t, r.report())
		if r.Latency.N != 5*20 || r.Unseen != 0 || r.Doubled != 0 || r.Dropped != 0 {
			t.Errorf("timed %d sightings (want 100), unseen %d, doubled %d, dropped consoles %d", r.Latency.N, r.Unseen, r.Doubled, r.Dropped)
		}
	})
	t.Run("scale", func(t *testing.T) {
		env.out = testLog{t}
		r, err := runScale(ctx, env, ScaleOptions{Registered: 10_000, Silent: 20, Reporting: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		noFailures(t, r.report())
		if r.Flagged != 20 || r.WrongFlagged != 0 || r.Early != 0 {
			t.Errorf("flagged %d of 20, %d wrongly, %d early", r.Flagged, r.WrongFlagged, r.Early)
		}
		if r.DevicesInMetric != 10_020 {
			t.Errorf("the hub has %.0f devices registered; want 10020", r.DevicesInMetric)
		}
		if r.RSSReadyMiB <= 0 {
			t.Error("hub RSS not read")
		}
	})
}

// TestSoakSmall runs the broker soak briefly against mosquitto saving every
// second and against the embedded broker, with a context of its own: it
// asserts that every acknowledged reading arrived once, every press was
// seen and the broker's store was read — not the figures.
func TestSoakSmall(t *testing.T) {
	ctx, env := startTestEnv(t)
	o := SoakOptions{Rate: 200, Duration: 8 * time.Second, Devices: 20, Clients: 2,
		PressEvery: time.Second, Sample: time.Second}
	for _, name := range []string{"seconds-1", "embedded"} {
		env.out = testLog{t}
		b, _ := brokerSettingNamed(name)
		r, err := runSoak(ctx, env, o, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		noFailures(t, r.report())
		if r.Acked < 1000 || int64(r.InInflux) != r.Acked || r.Lost != 0 || r.Doubled != 0 {
			t.Errorf("%s: acked %d, in InfluxDB %d, lost %d, doubled %d", name, r.Acked, r.InInflux, r.Lost, r.Doubled)
		}
		if r.Presses.N < 5 || r.PressesUnseen != 0 || len(r.Samples) < 5 {
			t.Errorf("%s: %d presses timed, %d unseen, %d samples", name, r.Presses.N, r.PressesUnseen, len(r.Samples))
		}
		if r.StoreLast < 0 {
			t.Errorf("%s: the broker's store count was never read", name)
		}
	}
}

func noFailures(t *testing.T, rep *Report) {
	t.Helper()
	var b bytes.Buffer
	rep.print(&b)
	t.Log(b.String())
	if len(rep.Failures) > 0 {
		t.Errorf("%s: failures: %s", rep.Scenario, strings.Join(rep.Failures, "; "))
	}
}

// TestSightings checks the press bookkeeping the latency and fan-out
// scenarios rely on: a press seen twice as separate alerts, an alert nobody
// pressed and a press never seen are all caught, and later changes of an
// alert already timed are ignored.
func TestSightings(t *testing.T) {
	log := newPressLog()
	t0 := time.Now()
	log.record("a", t0)
	log.record("b", t0)
	log.record("c", t0)
	s := newSightings(log)
	change := func(id int64, dev string, version int64, after time.Duration) {
		c := &bench.Change{}
		c.Alert.ID, c.Alert.Kind, c.Alert.DeviceID, c.Alert.Version, c.Alert.Occurrences = id, "sos", dev, version, 1
		s.onChange(t0.Add(after), c)
	}
	change(1, "a", 1, 3*time.Millisecond)
	change(1, "a", 2, 9*time.Millisecond) // the device ack: not a new sighting
	change(2, "b", 1, 5*time.Millisecond)
	change(3, "b", 1, 7*time.Millisecond) // the same press as a second alert
	change(4, "x", 1, 1*time.Millisecond) // nobody pressed x
	unseen, extra, lat := s.check([]string{"a", "b", "c"})
	if unseen != 1 || extra != 1 || s.strays() != 1 {
		t.Errorf("unseen %d, extra %d, strays %d; want 1, 1, 1", unseen, extra, s.strays())
	}
	if len(lat) != 2 || lat[0] != 3*time.Millisecond || lat[1] != 5*time.Millisecond {
		t.Errorf("latencies %v; want [3ms 5ms]", lat)
	}
}

// TestReportFailures checks that lost or doubled messages make a report
// fail (and so the program exit non-zero), while a missed speed target
// does not.
func TestReportFailures(t *testing.T) {
	newIngest := func() *IngestResult {
		return &IngestResult{Messages: 100, Acked: 100, InInflux: 100, CPUMicrosPerMsg: map[string]float64{"hub": 40},
			EndToEndRate: 10, rep: newReport("ingest", nil)}
	}
	if rep := newIngest().report(); len(rep.Failures) != 0 {
		t.Errorf("slow but complete run: failures %v; want none", rep.Failures)
	}
	for name, spoil := range map[string]func(*IngestResult){
		"lost":     func(r *IngestResult) { r.Lost = 1 },
		"doubled":  func(r *IngestResult) { r.Doubled = 1 },
		"rejected": func(r *IngestResult) { r.HubRejected = 1 },
		"no ack":   func(r *IngestResult) { r.PublishFailed = 1 },
		"dropped":  func(r *IngestResult) { r.BrokerDropped = 1 },
	} {
		r := newIngest()
		spoil(r)
		if rep := r.report(); len(rep.Failures) == 0 {
			t.Errorf("%s: no failure reported", name)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"nonsense"}, &out, &errs); code != 2 {
		t.Errorf("unknown scenario: exit %d; want 2", code)
	}
	if code := run(context.Background(), []string{"ingest", "-messages", "0"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-messages") {
		t.Errorf("bad flag: exit %d, %q; want 2 naming -messages", code, errs.String())
	}
	// failover runs on PostgreSQL: its help says so, and SQLite is refused.
	errs.Reset()
	if code := run(context.Background(), []string{"failover", "-h"}, &out, &errs); code != 0 || !strings.Contains(errs.String(), `(default "postgres")`) {
		t.Errorf("failover -h: exit %d; want 0 and -db's default postgres in:\n%s", code, errs.String())
	}
	errs.Reset()
	if code := run(context.Background(), []string{"failover", "-db", "sqlite"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "PostgreSQL") {
		t.Errorf("failover -db sqlite: exit %d, %q; want 2 saying it needs PostgreSQL", code, errs.String())
	}
}

// testLog sends the benchmark's progress to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestFailoverSmall runs the failover scenario with two kills (one of
// each instance) on PostgreSQL: the survivor takes each dead instance's
// share, every acknowledged reading reaches InfluxDB and each press
// escalates once. It asserts counts, never the times.
func TestFailoverSmall(t *testing.T) {
	ctx, env := startTestEnv(t)
	env.opts.DB = "postgres"
	env.out = testLog{t}
	r, err := runFailover(ctx, env, FailoverOptions{Kills: 2, Devices: 10, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, r.report())
	if len(r.PerKill) != 2 || r.Escalated != 2 || r.Published == 0 || int64(r.InInflux) != r.Published {
		t.Errorf("%d kills measured, %d presses escalated once, %d readings published, %d in InfluxDB; want 2, 2 and all",
			len(r.PerKill), r.Escalated, r.Published, r.InInflux)
	}
}
