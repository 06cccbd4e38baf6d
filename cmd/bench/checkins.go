package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// The checkins scenario (issue 17): a street of households whose residents
// live alone, each with a call button and a door contact, watched by the
// daily check-in. The doors of most households open and close during
// today's window — readings over MQTT, as a Zigbee2MQTT bridge or a native
// sensor would send them — and the rest show no sign of life. When the
// window ends the hub's sweep opens one no_activity alert for each of
// those, and none for the others. It measures:
//   - what check-ins cost a reading: door readings of households nobody
//     watches (a kind check and a missed lookup) against the same number of
//     door readings, from as many doors, of watched households (each one
//     noted as a sign of life, stored every few seconds); any other kind of
//     reading pays only the kind check;
//   - the sweep: from the window's end until the API counts every
//     no_activity alert, and the hub's CPU meanwhile;
//   - the hub's start and memory with the book of every household.

// targetSweep is the issue's "with 100,000 households the daily sweep runs
// in seconds", read as ten.
const targetSweep = 10 * time.Second

// CheckinsOptions size the checkins scenario.
type CheckinsOptions struct {
	Households int           // watched households: a call button and a door contact each
	Overdue    int           // per cent of them without a sign of life
	Clients    int           // MQTT connections publishing
	Lead       time.Duration // the window ends the first whole minute at least this long after the hub is asked to start
}

// checkinsOpts is the checkins scenario's command line; checkinsFlags
// fills it.
var checkinsOpts = CheckinsOptions{Households: 100_000, Overdue: 10, Clients: 8, Lead: 3 * time.Minute}

// checkinsFlags adds the checkins scenario's flags to fs (for "checkins"
// only).
func checkinsFlags(fs *flag.FlagSet, name string) {
	if name != "checkins" {
		return
	}
	fs.IntVar(&checkinsOpts.Households, "households", checkinsOpts.Households, "checkins: watched households (a call button and a door contact each)")
	fs.IntVar(&checkinsOpts.Overdue, "overdue", checkinsOpts.Overdue, "checkins: per cent of households without a sign of life today (0–100)")
	fs.IntVar(&checkinsOpts.Clients, "clients", checkinsOpts.Clients, "checkins: MQTT connections publishing")
	fs.DurationVar(&checkinsOpts.Lead, "lead", checkinsOpts.Lead, "checkins: today's window ends the first whole minute this long after the hub starts (room for its start and the readings)")
}

func (o CheckinsOptions) validate() error {
	switch {
	case o.Households <= 0 || o.Clients <= 0:
		return errors.New("checkins: -households and -clients must be positive")
	case o.Overdue < 0 || o.Overdue > 100:
		return errors.New("checkins: -overdue is a per cent, 0 to 100")
	case o.Lead < 10*time.Second || o.Lead > 6*time.Hour:
		return errors.New("checkins: -lead must be between 10s and 6h")
	}
	return nil
}

// CheckinsResult is what the checkins scenario measured.
type CheckinsResult struct {
	Households   int     `json:"households"`
	Overdue      int     `json:"overdue_households"`
	Zone         string  `json:"zone"`
	Window       string  `json:"window"`
	PopulateSecs float64 `json:"populate_seconds"`
	StartSecs    float64 `json:"hub_start_seconds"`
	RSSReadyMiB  float64 `json:"hub_rss_ready_mib"`

	Readings          int     `json:"readings_per_phase"`
	PlainMicrosPerMsg float64 `json:"hub_us_per_unwatched_door_reading"`
	DoorMicrosPerMs   float64 `json:"hub_us_per_door_reading"`
	PublishFailed     int64   `json:"publish_failed"`
	CheckedIn         int     `json:"checked_in"`   // as GET /api/v1/checkins counts them before the window ends
	Waiting           int     `json:"waiting"`      // likewise
	ListSecs          float64 `json:"list_seconds"` // that request

	FirstAlertSecs float64 `json:"first_alert_after_window_seconds"`
	SweepSecs      float64 `json:"sweep_seconds"` // the window's end → the API counts every no_activity alert (polled every 50 ms)
	SweepCPUSecs   float64 `json:"hub_cpu_seconds_during_sweep"`
	Alerts         int     `json:"no_activity_alerts"`
	Missing        int     `json:"missing"` // overdue households without an alert
	Wrong          int     `json:"wrong"`   // alerts of households that showed a sign of life, or a second one
	RSSAfterMiB    float64 `json:"hub_rss_after_mib"`
	PeakRSSMiB     float64 `json:"hub_peak_rss_mib"`

	rep *Report
}

func runCheckins(ctx context.Context, env *Env, o CheckinsOptions) (*CheckinsResult, error) {
	if env.opts.DB == "postgres" {
		return nil, errors.New("checkins: the households are written into a SQLite store before the hub starts; run it on sqlite")
	}
	res := &CheckinsResult{Households: o.Households}
	overdue := func(i int) bool { return i%100 < o.Overdue }
	for i := range o.Households {
		if overdue(i) {
			res.Overdue++
		}
	}
	res.Readings = 2 * (o.Households - res.Overdue) // each door that opens closes again
	res.rep = newReport("checkins", map[string]any{"households": o.Households, "overdue_percent": o.Overdue,
		"clients": o.Clients, "qos": 1})
	// A zone whose local time is near noon, so today's window (from an
	// hour ago to the lead's end) never crosses midnight.
	offset := 12 - time.Now().UTC().Hour()
	res.Zone = "Etc/GMT"
	if offset > 0 {
		res.Zone += fmt.Sprintf("-%d", offset) // POSIX signs: Etc/GMT-8 is UTC+8
	} else if offset < 0 {
		res.Zone += fmt.Sprintf("+%d", -offset)
	}
	loc, err := time.LoadLocation(res.Zone)
	if err != nil {
		return nil, fmt.Errorf("checkins: time zone %s: %w", res.Zone, err)
	}
	// Registered two hours ago: before today's window began and after
	// yesterday's, so judged today and not for yesterday.
	registered := time.Now().Add(-2 * time.Hour)

	st, err := env.startParts(ctx, "checkins")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	dataDir := filepath.Join(st.Dir, "hub")
	fmt.Fprintf(env.out, "writing %d watched households (a call button and a door contact each) and the doors of %d households not watched into the store …\n", o.Households, res.Readings/2)
	t := time.Now()
	if err := populateCheckins(ctx, dataDir, o, res.Readings/2, registered); err != nil {
		return nil, err
	}
	res.PopulateSecs = time.Since(t).Seconds()
	local := time.Now().In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	start := local.Add(-time.Hour).Truncate(time.Minute)
	end := local.Add(o.Lead + time.Minute - 1).Truncate(time.Minute)
	clock := func(t time.Time) string {
		m := int(t.Sub(midnight).Minutes())
		return fmt.Sprintf("%02d:%02d", m/60, m%60)
	}
	res.Window = clock(start) + "–" + clock(end) + " " + res.Zone
	rules := fmt.Sprintf(`{"checkin": {"lives_alone": true, "start": %q, "end": %q, "zone": %q},
 "supervision": {"sos_button": {"reporting": "24h"}},
 "escalation": {"critical": {"t1": "0s", "t2": "0s", "reminder": "0s"}}}`, clock(start), clock(end), res.Zone)
	res.rep.Config["rules"] = rules
	fmt.Fprintf(env.out, "starting the hub; today's window is %s\n", res.Window)
	if err := env.startHub(ctx, st, dataDir, rules); err != nil {
		return nil, err
	}
	res.StartSecs = st.Hub.Started.Seconds()
	pid := st.Hub.Proc.Pid()
	if ps, err := bench.ReadProcStat(pid); err == nil {
		res.RSSReadyMiB = mb(ps.RSS)
	}
	fmt.Fprintf(env.out, "hub ready in %.1f s, RSS %.0f MiB\n", res.StartSecs, res.RSSReadyMiB)

	pool, err := bench.NewPool(ctx, st.BrokerURL, "bench-checkins", o.Clients, 1000)
	if err != nil {
		return res, err
	}
	var stored float64
	// phase publishes n readings (msg(k) for k < n, each device's on one
	// connection) and returns the hub's CPU per reading, counted until the
	// hub has stored them all and one flush of signs of life (5 s) later.
	phase := func(name, tag string, n int, msg func(k int) (conn int, topic string, payload []byte)) (float64, error) {
		cpu0 := st.cpuSnapshot()["hub"]
		profiled := env.profileCPU(ctx, st, "checkins-"+tag, 15*time.Second)
		defer profiled()
		fmt.Fprintf(env.out, "%s: publishing %d readings …\n", name, n)
		t0 := time.Now()
		for k := range n {
			c, topic, payload := msg(k)
			pool.Pubs[c%len(pool.Pubs)].Publish(topic, payload, nil)
		}
		stored += float64(n)
		for {
			m, err := st.API.Metrics(ctx)
			if err != nil {
				return 0, err
			}
			got := m.Sum("shouwang_ingest_stored_total", `channel="telemetry"`)
			if got >= stored {
				break
			}
			if time.Since(t0) > 5*time.Minute {
				return 0, fmt.Errorf("%s: the hub stored %.0f of %.0f readings in 5 minutes", name, got, stored)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		fmt.Fprintf(env.out, "%s: stored in %s\n", name, elapsed(t0))
		select { // the signs of life noted are stored every 5 s: count one such write
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(6 * time.Second):
		}
		return float64((st.cpuSnapshot()["hub"] - cpu0).Microseconds()) / float64(n), nil
	}
	ts := time.Now().UnixMilli()
	doorReading := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"contact":%d}`, seq, ts+int64(seq), seq%2) // closed, then open
	}
	plain := res.Readings / 2
	if res.PlainMicrosPerMsg, err = phase("door readings of households not watched", "plain", res.Readings, func(k int) (int, string, []byte) {
		i, seq := k%plain, k/plain+1
		return i, devices.Topic(plainDoorID(i), devices.ChannelTelemetry), doorReading(seq)
	}); err != nil {
		return res, err
	}
	var doors []int // households whose door opens and closes
	for i := range o.Households {
		if !overdue(i) {
			doors = append(doors, i)
		}
	}
	if res.DoorMicrosPerMs, err = phase("door readings of watched households", "doors", res.Readings, func(k int) (int, string, []byte) {
		i, seq := doors[k%len(doors)], k/len(doors)+1
		return i, devices.Topic(doorID(i), devices.ChannelTelemetry), doorReading(seq)
	}); err != nil {
		return res, err
	}
	pool.Close()
	res.PublishFailed, _ = pool.Failed()

	t = time.Now()
	code, raw, err := st.API.Call(ctx, http.MethodGet, "/api/v1/checkins", nil)
	res.ListSecs = time.Since(t).Seconds()
	if err != nil {
		return res, err
	}
	var list struct {
		Counts map[string]int `json:"counts"`
	}
	if code != http.StatusOK || json.Unmarshal(raw, &list) != nil {
		return res, fmt.Errorf("GET /api/v1/checkins: %d %.200s", code, raw)
	}
	res.CheckedIn, res.Waiting = list.Counts[alerts.CheckinCheckedIn], list.Counts[alerts.CheckinWaiting]
	fmt.Fprintf(env.out, "check-ins before the window ends: %v (%.1f s, %d bytes)\n", list.Counts, res.ListSecs, len(raw))
	if time.Now().After(end) {
		return res, fmt.Errorf("the window ended (%s) before the readings were in: raise -lead", end.Format(time.TimeOnly))
	}

	fmt.Fprintf(env.out, "waiting for the window to end at %s …\n", end.Format(time.TimeOnly))
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(time.Until(end)):
	}
	// The alerts of one sweep share its start as their opened_at, so the
	// sweep's length is seen from outside: when the API first counts one,
	// and all.
	cpu0 := st.cpuSnapshot()["hub"]
	profiled := env.profileCPU(ctx, st, "checkins-sweep", 10*time.Second)
	deadline := end.Add(5 * time.Minute)
	for {
		n, err := st.API.AlertTotal(ctx, "kind=no_activity")
		if err != nil {
			return res, err
		}
		if n > 0 && res.FirstAlertSecs == 0 {
			res.FirstAlertSecs = time.Since(end).Seconds()
		}
		if n >= res.Overdue || time.Now().After(deadline) {
			res.SweepSecs = time.Since(end).Seconds()
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.SweepCPUSecs = (st.cpuSnapshot()["hub"] - cpu0).Seconds()
	profiled()
	as, err := st.API.Alerts(ctx, "kind=no_activity")
	if err != nil {
		return res, err
	}
	res.Alerts = len(as)
	seen := map[string]bool{}
	for _, a := range as {
		var i int
		if _, err := fmt.Sscanf(a.DeviceID, "sos-%d", &i); err != nil || !overdue(i) || seen[a.DeviceID] {
			res.Wrong++
			continue
		}
		seen[a.DeviceID] = true
	}
	res.Missing = res.Overdue - len(seen)
	if ps, err := bench.ReadProcStat(pid); err == nil {
		res.RSSAfterMiB, res.PeakRSSMiB = mb(ps.RSS), mb(ps.PeakRSS)
	}
	fmt.Fprintf(env.out, "%d no_activity alerts, all counted %.2f s after the window ended\n", len(seen), res.SweepSecs)
	return res, nil
}

func sosID(i int) string       { return fmt.Sprintf("sos-%06d", i) }
func doorID(i int) string      { return fmt.Sprintf("door-%06d", i) }
func plainDoorID(i int) string { return fmt.Sprintf("door-p-%06d", i) }

// populateCheckins writes the store the hub will start on, every device
// registered at registered: o.Households households of residents living
// alone, each with a call button and a door contact, and plain door
// contacts in households whose residents do not live alone, not watched.
func populateCheckins(ctx context.Context, dataDir string, o CheckinsOptions, plain int, registered time.Time) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	store, err := sqlstore.Open(filepath.Join(dataDir, "hub.db"), nil)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	store.SetClock(func() time.Time { return registered })
	hash := devices.HashPassword("the-same-for-every-bench-device")
	const batch = 5000
	hashes := slices.Repeat([]string{hash}, batch)
	ds := make([]*devices.Device, 0, batch)
	write := func() error {
		if err := store.ImportDevices(ctx, ds, hashes[:len(ds)]); err != nil {
			return fmt.Errorf("write devices: %w", err)
		}
		ds = ds[:0]
		return nil
	}
	for i := range o.Households {
		sos := aloneHousehold(i)
		door := *sos
		door.ID, door.Kind = doorID(i), devices.KindDoor
		ds = append(ds, sos, &door)
		if len(ds) >= batch-1 {
			if err := write(); err != nil {
				return err
			}
		}
	}
	for i := range plain {
		d := aloneHousehold(i)
		d.ID, d.Kind = plainDoorID(i), devices.KindDoor
		d.Location.Community = "基准社区（不独居）"
		d.Resident.LivesAlone = false
		ds = append(ds, d)
		if len(ds) == batch {
			if err := write(); err != nil {
				return err
			}
		}
	}
	if len(ds) > 0 {
		return write()
	}
	return nil
}

// aloneHousehold is the call button of household number i, whose resident
// lives alone: a full record as an installer's import has it.
func aloneHousehold(i int) *devices.Device {
	b, unit, floor, door := i/40+1, i%40/20+1, i%20/2+1, i%2+1
	return &devices.Device{
		ID: sosID(i), Kind: devices.KindSOSButton,
		Location: devices.Location{Community: fmt.Sprintf("第%d社区", i/20000+1), Grid: fmt.Sprintf("网格%d", i/2000+1),
			Building: fmt.Sprintf("%d号楼", b), Unit: fmt.Sprintf("%d单元", unit), Floor: fmt.Sprintf("%d层", floor),
			Household: fmt.Sprintf("%d-%d-%d%02d", b, unit, floor, door)},
		Resident:   devices.Resident{Name: "王秀英", BirthYear: 1930 + i%31, LivesAlone: true, CareNotes: "行动不便"},
		Contacts:   []devices.Contact{{Name: "王伟", Relation: "儿子", Phone: fmt.Sprintf("138-%04d-%04d", i/10000%10000, i%10000)}},
		GridWorker: devices.GridWorker{Name: "李敏", Phone: fmt.Sprintf("137-0000-%04d", i/2000%10000)},
	}
}

func (r *CheckinsResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.Config["window"] = r.Window
	rep.fig("watched households (a call button and a door contact each)", float64(r.Households), "")
	rep.fig("households without a sign of life", float64(r.Overdue), "")
	rep.fig("writing the store (before the hub starts)", r.PopulateSecs, "s")
	rep.fig("hub start (exec → ready: index, supervision, check-in book)", r.StartSecs, "s")
	rep.fig("hub RSS when ready", r.RSSReadyMiB, "MiB")
	rep.fig("readings per phase", float64(r.Readings), "")
	rep.fig("hub CPU per door reading of a household not watched", r.PlainMicrosPerMsg, "µs")
	rep.fig("hub CPU per door reading of a watched household (a sign of life)", r.DoorMicrosPerMs, "µs")
	rep.fig("GET /api/v1/checkins (every household)", r.ListSecs, "s")
	rep.fig("checked in before the window ended", float64(r.CheckedIn), "")
	rep.fig("the window's end → the API counts a no_activity alert", r.FirstAlertSecs*1000, "ms")
	rep.fig("sweep: the window's end → the API counts every one", r.SweepSecs*1000, "ms")
	rep.fig("hub CPU during the sweep (to the last alert counted)", r.SweepCPUSecs, "s")
	rep.fig("no_activity alerts", float64(r.Alerts), "")
	rep.fig("hub RSS after the sweep", r.RSSAfterMiB, "MiB")
	rep.fig("hub peak RSS (VmHWM)", r.PeakRSSMiB, "MiB")
	rep.target(fmt.Sprintf("the daily sweep of %s households runs in seconds (≤ %s)", groupThousands(int64(r.Households)), targetSweep),
		r.Missing == 0 && r.Alerts > 0 && r.SweepSecs <= targetSweep.Seconds(), "%.2f s for %d alerts", r.SweepSecs, r.Alerts)
	if r.PlainMicrosPerMsg > 0 {
		rep.fig("what check-ins add to a door reading of a watched household", r.DoorMicrosPerMs-r.PlainMicrosPerMsg, "µs")
	}
	if r.PublishFailed > 0 {
		rep.failf("%d readings got no PUBACK", r.PublishFailed)
	}
	if want := r.Households - r.Overdue; r.CheckedIn != want {
		rep.failf("%d households checked in before the window ended; want %d (every one whose door opened)", r.CheckedIn, want)
	}
	if r.Waiting != r.Overdue {
		rep.failf("%d households waiting for a sign of life before the window ended; want %d", r.Waiting, r.Overdue)
	}
	if r.Missing > 0 {
		rep.failf("%d households without a sign of life got no no_activity alert", r.Missing)
	}
	if r.Wrong > 0 {
		rep.failf("%d no_activity alerts for households that showed a sign of life, or repeated", r.Wrong)
	}
	return rep
}
