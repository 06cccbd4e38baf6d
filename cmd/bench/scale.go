package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// Scale targets from the benchmark issue.
const (
	targetScaleRSSBytes = 500_000_000 // 1,000,000 supervised devices in ≤ 500 MB RSS
	targetOfflineLate   = time.Second // flagged within the reporting time + 1 s
	earlyTolerance      = 5 * time.Millisecond
)

// ScaleResult is what the scale scenario measured.
type ScaleResult struct {
	Registered   int     `json:"registered"`
	Silent       int     `json:"silent"`
	ReportingS   float64 `json:"reporting_seconds"`
	Lean         bool    `json:"lean_devices"`
	PopulateSecs float64 `json:"populate_seconds"` // writing the store before the hub starts
	StartSecs    float64 `json:"hub_start_seconds"`

	RSSReadyMiB     float64 `json:"hub_rss_ready_mib"` // index and supervision heap built
	PeakReadyMiB    float64 `json:"hub_peak_rss_ready_mib"`
	HeapInuseMiB    float64 `json:"hub_heap_inuse_ready_mib"`
	LiveHeapMiB     float64 `json:"hub_live_heap_mib"` // after a forced collection
	RSSAfterGCMiB   float64 `json:"hub_rss_after_gc_mib"`
	RSSAfterMiB     float64 `json:"hub_rss_after_mib"` // after the silent devices were flagged
	PeakAfterMiB    float64 `json:"hub_peak_rss_after_mib"`
	DevicesInMetric float64 `json:"devices_registered_metric"`

	Flagged      int           `json:"flagged"`
	Unflagged    int           `json:"unflagged"`        // silent devices never flagged
	WrongFlagged int           `json:"wrong_flagged"`    // offline alerts for devices that kept quiet by rule
	Early        int           `json:"flagged_early"`    // before their reporting time
	Outages      int           `json:"outage_incidents"` // silent devices grouped instead of flagged each
	Lateness     bench.Latency `json:"lateness"`         // opened_at − (last message + reporting)

	rep *Report
}

func runScale(ctx context.Context, env *Env, o ScaleOptions) (*ScaleResult, error) {
	res := &ScaleResult{Registered: o.Registered, Silent: o.Silent, ReportingS: o.Reporting.Seconds(), Lean: o.Lean}
	rules := fmt.Sprintf(`{"supervision": {"sos_button": {"heartbeat": "1h", "reporting": "24h"}, "gas": {"heartbeat": %q, "reporting": %q}}}`,
		(o.Reporting / 2).String(), o.Reporting.String())
	res.rep = newReport("scale", map[string]any{"registered_sos_buttons": o.Registered, "silent_gas_detectors": o.Silent,
		"rules": rules, "device_records": map[bool]string{true: "lean (id, kind, community, building)", false: "full household (location, resident, 2 contacts, grid worker)"}[o.Lean]})
	st, err := env.startParts(ctx, "scale")
	if err != nil {
		return nil, err
	}
	defer st.Close()

	dataDir := filepath.Join(st.Dir, "hub")
	silent := make([]*devices.Device, o.Silent)
	for i := range silent {
		silent[i] = silentDevice(i)
	}
	fmt.Fprintf(env.out, "writing %d supervised call buttons into the store …\n", o.Registered)
	t := time.Now()
	if err := populate(ctx, env, dataDir, o, silent); err != nil {
		return nil, err
	}
	res.PopulateSecs = time.Since(t).Seconds()

	fmt.Fprintf(env.out, "starting the hub on %d devices …\n", o.Registered+o.Silent)
	if err := env.startHub(ctx, st, dataDir, rules); err != nil {
		return nil, err
	}
	res.StartSecs = st.Hub.Started.Seconds()
	pid := st.Hub.Proc.Pid()
	if ps, err := bench.ReadProcStat(pid); err == nil {
		res.RSSReadyMiB, res.PeakReadyMiB = mb(ps.RSS), mb(ps.PeakRSS)
	}
	if m, err := st.API.Metrics(ctx); err == nil {
		res.HeapInuseMiB = m.Sum("go_memstats_heap_inuse_bytes") / (1 << 20)
		res.DevicesInMetric = m.Sum("shouwang_devices_registered")
	}
	fmt.Fprintf(env.out, "hub ready in %.1f s: RSS %.0f MiB (peak %.0f MiB, Go heap in use %.0f MiB)\n",
		res.StartSecs, res.RSSReadyMiB, res.PeakReadyMiB, res.HeapInuseMiB)
	// What is live once the garbage of loading is collected (the heap
	// profile forces a collection).
	if _, err := st.API.NamedProfile(ctx, "heap?gc=1"); err != nil {
		return res, err
	}
	env.profileNamed(ctx, st, "scale", "heap")
	if m, err := st.API.Metrics(ctx); err == nil {
		res.LiveHeapMiB = m.Sum("go_memstats_heap_alloc_bytes") / (1 << 20)
	}
	if ps, err := bench.ReadProcStat(pid); err == nil {
		res.RSSAfterGCMiB = mb(ps.RSS)
	}
	fmt.Fprintf(env.out, "after a collection: live Go heap %.0f MiB, RSS %.0f MiB\n", res.LiveHeapMiB, res.RSSAfterGCMiB)

	// The gas detectors each speak once, then fall silent.
	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-scale", 4, 100)
	if err != nil {
		return res, err
	}
	log := newPressLog()
	for i, d := range silent {
		now := time.Now()
		log.record(d.ID, now)
		pool.Pubs[i%len(pool.Pubs)].Publish(devices.Topic(d.ID, devices.ChannelTelemetry), telemetryPayload(d.Kind, 1), nil)
	}
	pool.Close()
	if f, err := pool.Failed(); f > 0 {
		return res, fmt.Errorf("%d of the silent devices' messages got no PUBACK: %v", f, err)
	}
	fmt.Fprintf(env.out, "%d gas detectors spoke once and fell silent; waiting for their %s reporting time …\n", o.Silent, o.Reporting)

	// Wait for the offline alerts.
	deadline := time.Now().Add(o.Reporting + time.Minute)
	start, printed := time.Now(), time.Now()
	for {
		n, err := st.API.AlertTotal(ctx, "kind=offline")
		if err != nil {
			return res, err
		}
		if n >= o.Silent || time.Now().After(deadline) {
			break
		}
		if time.Since(printed) >= time.Second {
			fmt.Fprintf(env.out, "  %7s  flagged offline %d/%d\n", elapsed(start), n, o.Silent)
			printed = time.Now()
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if ps, err := bench.ReadProcStat(pid); err == nil {
		res.RSSAfterMiB, res.PeakAfterMiB = mb(ps.RSS), mb(ps.PeakRSS)
	}
	if res.Outages, err = st.API.AlertTotal(ctx, "kind=outage"); err != nil {
		return res, err
	}
	as, err := st.API.Alerts(ctx, "kind=offline")
	if err != nil {
		return res, err
	}
	flagged := map[string]bool{}
	var late []time.Duration
	for _, a := range as {
		t0, ok := log.at(a.DeviceID)
		if !ok {
			res.WrongFlagged++
			continue
		}
		if flagged[a.DeviceID] {
			res.WrongFlagged++ // a second offline alert for one silence
			continue
		}
		flagged[a.DeviceID] = true
		d := a.OpenedAt.Sub(t0.Add(o.Reporting))
		if d < -earlyTolerance {
			res.Early++
		}
		late = append(late, d)
	}
	res.Flagged = len(flagged)
	res.Unflagged = o.Silent - res.Flagged
	res.Lateness = bench.Summarise(late)
	fmt.Fprintf(env.out, "flagged %d/%d: lateness after the reporting time %s\n", res.Flagged, o.Silent, res.Lateness)
	return res, nil
}

// populate writes the store the hub will start on: o.Registered call
// buttons, all heard from just now (so supervised from the start), and the
// silent gas detectors, never heard from yet.
func populate(ctx context.Context, env *Env, dataDir string, o ScaleOptions, silent []*devices.Device) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	store, err := sqlstore.Open(filepath.Join(dataDir, "hub.db"), nil)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	hash := devices.HashPassword("the-same-for-every-bench-device")
	const batch = 5000
	ds := make([]*devices.Device, 0, batch)
	hashes := slices.Repeat([]string{hash}, batch)
	health := make([]devices.HealthUpdate, 0, batch)
	now := time.Now()
	last := time.Now()
	for i := range o.Registered {
		d := scaleDevice(i, o.Lean)
		ds = append(ds, d)
		health = append(health, devices.HealthUpdate{ID: d.ID, LastSeen: now})
		if len(ds) == batch || i == o.Registered-1 {
			if err := store.ImportDevices(ctx, ds, hashes[:len(ds)]); err != nil {
				return err
			}
			if err := store.UpdateHealth(ctx, health); err != nil {
				return err
			}
			ds, health = ds[:0], health[:0]
		}
		if time.Since(last) >= 5*time.Second {
			fmt.Fprintf(env.out, "  %d/%d written\n", i+1, o.Registered)
			last = time.Now()
		}
	}
	return store.ImportDevices(ctx, silent, slices.Repeat([]string{hash}, len(silent)))
}

// silentDevice is silent gas detector number i, in a building of its own:
// several devices of one building falling silent together are one outage
// incident (incidents.outage.min_devices, 5 by default), not an offline
// alert each, and this scenario measures how late supervision flags each
// silent device by its own reporting time.
func silentDevice(i int) *devices.Device {
	d := benchDevice(fmt.Sprintf("gas-s-%05d", i+1), devices.KindGas, i)
	d.Location.Building = fmt.Sprintf("%d号楼", i+1)
	d.Location.Floor = "1"
	d.Location.Household = fmt.Sprintf("%d-1-101", i+1)
	return d
}

// scaleDevice is call button number i. A full record carries what an
// installer's import does: the household's location, the resident, two
// contacts and the grid worker; a lean one only what is required.
func scaleDevice(i int, lean bool) *devices.Device {
	b := i/40 + 1
	d := &devices.Device{
		ID: fmt.Sprintf("sos-%07d", i+1), Kind: devices.KindSOSButton,
		Location: devices.Location{Community: fmt.Sprintf("第%d社区", i/20000+1), Building: fmt.Sprintf("%d号楼", b)},
	}
	if lean {
		return d
	}
	unit, floor, door := i%40/20+1, i%20/2+1, i%2+1
	d.Vendor, d.Model = "安居智联", "AJ-SOS200"
	d.Location.Grid = fmt.Sprintf("网格%d", i/2000+1)
	d.Location.Unit = fmt.Sprintf("%d单元", unit)
	d.Location.Floor = fmt.Sprintf("%d层", floor)
	d.Location.Household = fmt.Sprintf("%d-%d-%d%02d", b, unit, floor, door)
	d.Resident = devices.Resident{Name: "王秀英", BirthYear: 1930 + i%31, LivesAlone: i%5 < 2, Language: "普通话"}
	if i%3 == 0 {
		d.Resident.CareNotes = "高血压；行动不便"
	}
	d.Contacts = []devices.Contact{
		{Name: "王伟", Relation: "儿子", Phone: fmt.Sprintf("138-%04d-%04d", i/10000%10000, i%10000)},
		{Name: "李芳", Relation: "邻居", Phone: fmt.Sprintf("139-%04d-%04d", i/10000%10000, (i+1)%10000)},
	}
	d.GridWorker = devices.GridWorker{Name: "李敏", Phone: fmt.Sprintf("137-0000-%04d", i/2000%10000)}
	return d
}

func (r *ScaleResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("registered supervised devices", float64(r.Registered), "")
	rep.fig("writing the store (before the hub starts)", r.PopulateSecs, "s")
	rep.fig("hub start (exec → ready: index and supervision heap built)", r.StartSecs, "s")
	rep.fig("hub RSS when ready", r.RSSReadyMiB, "MiB")
	rep.fig("hub peak RSS when ready (VmHWM)", r.PeakReadyMiB, "MiB")
	rep.fig("hub Go heap in use when ready", r.HeapInuseMiB, "MiB")
	rep.fig("hub live Go heap after a collection", r.LiveHeapMiB, "MiB")
	rep.fig("hub RSS after that collection", r.RSSAfterGCMiB, "MiB")
	rep.fig("hub RSS after the silent devices were flagged", r.RSSAfterMiB, "MiB")
	rep.fig("hub peak RSS at the end (VmHWM)", r.PeakAfterMiB, "MiB")
	rep.fig("silent devices flagged offline", float64(r.Flagged), "")
	rep.fig("lateness after reporting time: p50", r.Lateness.P50, "ms")
	rep.fig("lateness after reporting time: p99", r.Lateness.P99, "ms")
	rep.fig("lateness after reporting time: max", r.Lateness.Max, "ms")

	rss := max(r.RSSReadyMiB, r.RSSAfterMiB)
	rep.target(fmt.Sprintf("%s supervised devices in ≤ 500 MB RSS", groupThousands(int64(r.Registered))),
		rss*(1<<20) <= targetScaleRSSBytes, "RSS %.0f MiB (%.0f MB); peak %.0f MiB", rss, rss*(1<<20)/1e6, r.PeakAfterMiB)
	rep.target("silent devices flagged within reporting time + 1 s", r.Lateness.N > 0 && r.Unflagged == 0 && r.Lateness.Max <= ms(targetOfflineLate),
		"max %.0f ms, p99 %.0f ms late", r.Lateness.Max, r.Lateness.P99)

	if r.Unflagged > 0 {
		rep.failf("%d silent devices were never flagged offline", r.Unflagged)
	}
	if r.WrongFlagged > 0 {
		rep.failf("%d offline alerts for devices that were not silent past their reporting time, or repeated", r.WrongFlagged)
	}
	if r.Outages > 0 {
		rep.failf("%d outage incidents opened: silent devices were grouped, not flagged each by its own reporting time", r.Outages)
	}
	if r.Early > 0 {
		rep.failf("%d devices were flagged before their reporting time had passed", r.Early)
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
