package influx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// t0 is where the integration tests put their points: a whole minute, so
// that aggregate windows line up with it.
var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func realWriter(t *testing.T, srv *testenv.InfluxServer, cfg Config, spool Spool) *Writer {
	t.Helper()
	cfg.URL, cfg.Bucket = srv.URL(), srv.Bucket()
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 200 * time.Millisecond
	}
	w, err := NewWriter(cfg, spool, nil)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// telemetryLines formats n gas readings with Line, spread over 10 devices in
// two communities whose names need escaping; reading i is at t0 + i ms with
// seq i+1 and lel i%100.
func telemetryLines(from, n int) [][]byte {
	communities := []string{"阳光 社区", "幸福,里=东"}
	lines := make([][]byte, n)
	for k := range n {
		i := from + k
		dev := fmt.Sprintf("gas-%02d", i%10)
		m := &devices.Message{
			DeviceID: dev, Kind: devices.KindGas, Channel: devices.ChannelTelemetry,
			Seq: uint64(i + 1), TS: t0.Add(time.Duration(i) * time.Millisecond), Received: t0.Add(time.Hour),
			Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": float64(i % 100), "temperature": 20.5}},
		}
		d := &devices.Device{ID: dev, Kind: devices.KindGas, Location: devices.Location{
			Community: communities[i%2], Grid: "第" + fmt.Sprint(i%3) + "网格", Building: "3号楼",
		}}
		lines[k] = Line(m, &d.Location)
	}
	return lines
}

func TestIntegrationWrite(t *testing.T) {
	srv := testenv.Influx(t)
	spool := newMemSpool()
	w := realWriter(t, srv, Config{}, spool)
	if err := w.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	runWriter(t, w)
	const n = 10_000
	for k := 0; k < n; k += 1000 { // in bursts, as the hub appends
		spool.Append(telemetryLines(k, 1000)...)
	}
	eventually(t, 60*time.Second, "spool drained", func() bool { return spool.Depth() == 0 })

	if got := srv.Count(t, `SELECT count("seq") FROM "gas"`); got != n {
		t.Fatalf("InfluxDB has %d points, want %d", got, n)
	}
	if got := srv.Count(t, `SELECT count("lel") FROM "gas" WHERE "community" = '阳光 社区'`); got != n/2 {
		t.Errorf("community '阳光 社区' has %d points, want %d", got, n/2)
	}
	if got := srv.Count(t, `SELECT count("lel") FROM "gas" WHERE "community" = '幸福,里=东' AND "device" = 'gas-03' AND "kind" = 'gas' AND "building" = '3号楼'`); got != n/10 {
		t.Errorf("gas-03 in '幸福,里=东' has %d points, want %d", got, n/10)
	}
	rows := srv.Query(t, `SELECT "lel", "seq", "temperature", "grid" FROM "gas" WHERE "device" = 'gas-07' ORDER BY time DESC LIMIT 1`)
	// The last reading of gas-07 is i = 9997: at t0 + 9997 ms, seq 9998, lel 97, grid 第1网格.
	want := []any{float64(t0.UnixMilli() + 9997), 97.0, 9998.0, 20.5, "第1网格"}
	if len(rows) != 1 || fmt.Sprint(rows[0]) != fmt.Sprint(want) {
		t.Fatalf("last reading of gas-07: %v, want %v", rows, want)
	}
	st := w.Stats()
	if st.Written != n || st.DeadLettered != 0 || !st.Reachable {
		t.Fatalf("stats %+v", st)
	}
	spool.checkInOrder(t)
}

// TestIntegrationTagsAndFlaggedTS writes lines with awkward location names
// and a flagged timestamp and reads them back as InfluxDB stored them.
func TestIntegrationTagsAndFlaggedTS(t *testing.T) {
	srv := testenv.Influx(t)
	spool := newMemSpool()
	w := realWriter(t, srv, Config{}, spool)
	m := &devices.Message{
		DeviceID: "gas-99", Kind: devices.KindGas, Seq: 5, TS: t0.Add(48 * time.Hour), Received: t0,
		TSFlag: devices.TSFuture, Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": 1.5}},
	}
	spool.Append(Line(m, nil))
	communities := []string{"阳光 社区", "a,b=c d", `"引号"`, "tab\there", `x\,y`, "#not a comment", "="}
	for i, c := range communities {
		m := &devices.Message{DeviceID: "air-1", Kind: devices.KindAir, Seq: uint64(i + 1), TS: t0.Add(time.Duration(i) * time.Second), Received: t0,
			Telemetry: &devices.Telemetry{Fields: map[string]float64{"pm25": float64(i)}}}
		spool.Append(Line(m, &devices.Location{Community: c}))
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := srv.Query(t, `SELECT "lel", "device_ts", "ts_flag" FROM "gas" WHERE "device" = 'gas-99'`)
	want := []any{float64(t0.UnixMilli()), 1.5, float64(t0.Add(48 * time.Hour).UnixMilli()), "future"}
	if len(rows) != 1 || fmt.Sprint(rows[0]) != fmt.Sprint(want) {
		t.Fatalf("flagged reading: %v, want %v", rows, want)
	}
	rows = srv.Query(t, `SELECT "pm25", "community" FROM "air" ORDER BY time`)
	if len(rows) != len(communities) {
		t.Fatalf("air rows %v, want %d", rows, len(communities))
	}
	for i, c := range communities {
		c = strings.ReplaceAll(c, `\`, "＼") // Line's one change
		if c == "tab\there" {
			c = `tab\there` // InfluxDB 1.8 keeps the encoder's escape as two characters
		}
		if rows[i][1] != float64(i) || rows[i][2] != c {
			t.Errorf("row %d: %v, want pm25 %d, community %q", i, rows[i], i, c)
		}
	}
}

// TestIntegrationOutage stops InfluxDB mid-stream: nothing may leave the
// spool while it is down, and once it is back every point arrives, in order.
func TestIntegrationOutage(t *testing.T) {
	srv := testenv.Influx(t)
	spool := newMemSpool()
	w := realWriter(t, srv, Config{BatchSize: 500, MaxBackoff: 500 * time.Millisecond, Timeout: 2 * time.Second}, spool)
	runWriter(t, w)

	spool.Append(telemetryLines(0, 2000)...)
	eventually(t, 60*time.Second, "first 2000 written", func() bool { return spool.Depth() == 0 })
	removedBefore, _ := spool.removals()

	srv.Stop()
	spool.Append(telemetryLines(2000, 1000)...)
	eventually(t, 30*time.Second, "writer notices the outage", func() bool {
		st := w.Stats()
		return !st.Reachable && st.Failures >= 3
	})
	if err := w.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded while InfluxDB is down")
	}
	for k := 3000; k < 6000; k += 500 { // keep appending while it is down
		spool.Append(telemetryLines(k, 500)...)
	}
	failuresWhileDown := w.Stats().Failures
	eventually(t, 30*time.Second, "more retries", func() bool { return w.Stats().Failures >= failuresWhileDown+2 })
	if removed, _ := spool.removals(); removed != removedBefore {
		t.Fatalf("%d lines removed from the spool while InfluxDB was down", removed-removedBefore)
	}
	if d := spool.Depth(); d != 4000 {
		t.Fatalf("spool depth %d while down, want 4000", d)
	}
	t.Logf("while down: %+v", w.Stats())

	srv.Start()
	eventually(t, 60*time.Second, "spool drained after restart", func() bool { return spool.Depth() == 0 })
	if got := srv.Count(t, `SELECT count("seq") FROM "gas"`); got != 6000 {
		t.Fatalf("InfluxDB has %d points after the outage, want 6000", got)
	}
	rows := srv.Query(t, `SELECT min("seq"), max("seq") FROM "gas"`)
	if len(rows) != 1 || rows[0][1] != 1.0 || rows[0][2] != 6000.0 {
		t.Fatalf("seq range %v, want 1..6000", rows)
	}
	spool.checkInOrder(t)
	st := w.Stats()
	if !st.Reachable || st.Written != 6000 || st.LastError == "" {
		t.Fatalf("stats after the outage: %+v", st)
	}
	t.Logf("after restart: %+v", st)
}

// TestIntegrationDeadLetter writes a batch with one line whose field type
// conflicts with what InfluxDB already has: that line is set aside, every
// other line is written.
func TestIntegrationDeadLetter(t *testing.T) {
	srv := testenv.Influx(t)
	srv.Write(t, fmt.Sprintf("gas,device=gas-00,kind=gas lel=1.5,seq=1i %d\n", t0.UnixNano()))
	spool := newMemSpool()
	dead := filepath.Join(t.TempDir(), "data", "influx-rejected.lp")
	w := realWriter(t, srv, Config{BatchSize: 200, DeadLetterPath: dead}, spool)

	lines := telemetryLines(1, 300)
	bad := fmt.Sprintf(`gas,device=gas-00,kind=gas lel="high",seq=99999i %d`, t0.Add(time.Hour).UnixNano())
	lines[150] = []byte(bad)
	spool.Append(lines...)
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Count(t, `SELECT count("seq") FROM "gas"`); got != 300 {
		t.Fatalf("InfluxDB has %d points, want 300 (the first and 299 good ones)", got)
	}
	if got := srv.Count(t, `SELECT count("seq") FROM "gas" WHERE "seq" = 99999`); got != 0 {
		t.Fatalf("the conflicting line was written")
	}
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\n"+bad+"\n") || !strings.Contains(string(data), "field type conflict") || strings.Count(string(data), "# rejected") != 1 {
		t.Fatalf("dead-letter file:\n%s", data)
	}
	if st := w.Stats(); st.DeadLettered != 1 || st.Written != 299 || spool.Depth() != 0 {
		t.Fatalf("stats %+v, depth %d", st, spool.Depth())
	}
}

func TestIntegrationHistory(t *testing.T) {
	srv := testenv.Influx(t)
	spool := newMemSpool()
	w := realWriter(t, srv, Config{}, spool)
	// gas-01: lel 1..6 every 10 s from t0; gas-02 and the temperature field
	// are there to be filtered out.
	for i := range 6 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		for _, dev := range []string{"gas-01", "gas-02"} {
			lel := float64(i + 1)
			if dev == "gas-02" {
				lel += 50
			}
			m := &devices.Message{DeviceID: dev, Kind: devices.KindGas, Seq: uint64(i + 1), TS: at, Received: at,
				Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": lel, "temperature": 99}}}
			community := "阳光社区"
			if i >= 2 {
				community = "幸福里" // the device moved: a second series, merged in the first window
			}
			spool.Append(Line(m, &devices.Location{Community: community}))
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	raw, err := w.History(ctx, devices.KindGas, "gas-01", "lel", t0, t0.Add(time.Minute), 0)
	if err != nil {
		t.Fatalf("History raw: %v", err)
	}
	var want []devices.Reading
	for i := range 6 {
		want = append(want, devices.Reading{Time: t0.Add(time.Duration(i) * 10 * time.Second), Value: float64(i + 1)})
	}
	checkReadings(t, "raw", raw, want)

	mean, err := w.History(ctx, devices.KindGas, "gas-01", "lel", t0, t0.Add(time.Minute), 30*time.Second)
	if err != nil {
		t.Fatalf("History mean: %v", err)
	}
	checkReadings(t, "mean per 30s", mean, []devices.Reading{{Time: t0, Value: 2}, {Time: t0.Add(30 * time.Second), Value: 5}})

	part, err := w.History(ctx, devices.KindGas, "gas-01", "lel", t0.Add(10*time.Second), t0.Add(30*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkReadings(t, "[t0+10s, t0+30s)", part, want[1:3])

	none, err := w.History(ctx, devices.KindGas, "gas-03", "lel", t0, t0.Add(time.Minute), time.Minute)
	if err != nil || len(none) != 0 {
		t.Fatalf("History of a silent device: %v, %v", none, err)
	}
	if _, err := w.History(ctx, devices.KindGas, "gas-01", "pm25", t0, t0.Add(time.Minute), 0); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Fatalf("History of a field gas devices lack: %v", err)
	}
}

func checkReadings(t *testing.T, what string, got, want []devices.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d readings %v, want %v", what, len(got), got, want)
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Value != want[i].Value {
			t.Fatalf("%s: reading %d is %v, want %v (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

// TestIntegrationFlushAtShutdown stops Run with lines still spooled, as the
// hub does at shutdown, and lets Flush deliver the rest.
func TestIntegrationFlushAtShutdown(t *testing.T) {
	srv := testenv.Influx(t)
	spool := newMemSpool()
	w := realWriter(t, srv, Config{BatchSize: 1000}, spool)
	stop := runWriter(t, w)
	spool.Append(telemetryLines(0, 500)...)
	eventually(t, 60*time.Second, "first lines written", func() bool { return spool.Depth() == 0 })
	stop()
	spool.Append(telemetryLines(500, 4500)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if spool.Depth() != 0 {
		t.Fatalf("depth %d after Flush", spool.Depth())
	}
	if got := srv.Count(t, `SELECT count("seq") FROM "gas"`); got != 5000 {
		t.Fatalf("InfluxDB has %d points, want 5000", got)
	}
	spool.checkInOrder(t)
}
