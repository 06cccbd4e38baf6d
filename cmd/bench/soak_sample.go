package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// The soak's measurements: looking at the broker and the hub while it
// runs, and what arrived at the end.

// soakSampler samples every interval until stop is closed, printing a
// line each time; the returned function waits for the end and returns the
// samples.
func soakSampler(ctx context.Context, stop <-chan struct{}, env *Env, st *Stack, sys *bench.SysWatch, every time.Duration, start time.Time, acked func() int64) func() []soakSample {
	var out []soakSample
	done := make(chan struct{})
	go func() {
		defer close(done)
		cpu0, t0 := st.cpuSnapshot(), time.Now()
		saves0 := 0
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := soakSample{T: time.Since(start).Seconds(), Stored: -1, Acked: acked()}
			cpu1, t1 := st.cpuSnapshot(), time.Now()
			dt := t1.Sub(t0).Seconds()
			s.HubCPU = 100 * (cpu1["hub"] - cpu0["hub"]).Seconds() / dt
			if m, err := st.API.Metrics(ctx); err == nil {
				s.HubStored = m.Sum("shouwang_ingest_stored_total", `channel="telemetry"`)
				s.HubBehind = m.Sum("shouwang_broker_behind")
				s.Redeliverd = m.Sum("shouwang_mqtt_redelivered_total")
				if st.embedded {
					s.Stored = int64(m.Sum("shouwang_broker_stored_messages"))
					s.HeapMiB = m.Sum("go_memstats_heap_inuse_bytes") / (1 << 20)
				}
			}
			if p, err := bench.ReadProcStat(st.Hub.Proc.Pid()); err == nil {
				s.HubRSS = mb(p.RSS)
				s.BrokerRSS = s.HubRSS
			}
			if st.Mosq != nil {
				s.BrokerCPU = 100 * (cpu1["mosquitto"] - cpu0["mosquitto"]).Seconds() / dt
				if v, ok := sys.Get(bench.SysStoreCount); ok {
					s.Stored = v
				}
				if v, ok := sys.Get(bench.SysHeap); ok {
					s.HeapMiB = float64(v) / (1 << 20)
				}
				if p, err := bench.ReadProcStat(st.Mosq.Proc.Pid()); err == nil {
					s.BrokerRSS = mb(p.RSS)
				}
				if fi, err := os.Stat(filepath.Join(st.Mosq.Dir(), "mosquitto.db")); err == nil {
					s.DBBytes = fi.Size()
				}
				saves := countSaves(filepath.Join(st.Mosq.Dir(), "mosquitto.log"))
				s.SavesPerS, saves0 = float64(saves-saves0)/dt, saves
			} else {
				s.BrokerCPU = s.HubCPU
			}
			cpu0, t0 = cpu1, t1
			out = append(out, s)
			fmt.Fprintf(env.out, "  %6.0fs  acked %d  hub stored %.0f  broker holds %d  heap %.1f MiB  RSS broker %.0f hub %.0f MiB  CPU broker %.0f%% hub %.0f%%  saves/s %.1f  db %.1f MiB  behind %.0f\n",
				s.T, s.Acked, s.HubStored, s.Stored, s.HeapMiB, s.BrokerRSS, s.HubRSS, s.BrokerCPU, s.HubCPU, s.SavesPerS, float64(s.DBBytes)/(1<<20), s.HubBehind)
		}
	}()
	return func() []soakSample { <-done; return out }
}

// countSaves counts mosquitto's "Saving in-memory database" log lines.
func countSaves(logPath string) int {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "Saving in-memory database")
}

// waitAcked sets res's Lost, Doubled and Unacked from InfluxDB, checking
// again while acknowledged readings are missing and their number still
// changes.
func waitAcked(ctx context.Context, f *bench.Influx, tele []*devices.Device, acks map[string]map[int]bool, res *SoakResult) error {
	last, lastChange := -1, time.Now()
	for {
		res.Lost, res.Doubled, res.Unacked = 0, 0, 0
		for _, d := range tele {
			lost, doubled, unacked, err := checkAcked(ctx, f, d.ID, acks[d.ID])
			if err != nil {
				return err
			}
			res.Lost, res.Doubled, res.Unacked = res.Lost+lost, res.Doubled+doubled, res.Unacked+unacked
		}
		if res.Lost == 0 || time.Since(lastChange) > stallTimeout {
			return nil
		}
		if res.Lost != last {
			last, lastChange = res.Lost, time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// checkAcked compares a device's points in InfluxDB with the seqs the
// broker acknowledged.
func checkAcked(ctx context.Context, f *bench.Influx, id string, acked map[int]bool) (lost, doubled, unacked int, err error) {
	series, err := f.Query(ctx, `SELECT seq FROM `+measurements+` WHERE "device" = '`+id+`'`)
	if err != nil {
		return 0, 0, 0, err
	}
	seen := map[int]bool{}
	for _, s := range series {
		for _, row := range s.Values {
			if len(row) < 2 {
				continue
			}
			v, _ := row[1].(float64)
			if seen[int(v)] {
				doubled++
			}
			seen[int(v)] = true
		}
	}
	for seq := range acked {
		if !seen[seq] {
			lost++
		}
	}
	for seq := range seen {
		if !acked[seq] {
			unacked++
		}
	}
	return lost, doubled, unacked, nil
}

// slope is the least-squares slope of ys over xs (0 for fewer than two).
func slope(xs, ys []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	n := float64(len(xs))
	if d := n*sxx - sx*sx; d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}
