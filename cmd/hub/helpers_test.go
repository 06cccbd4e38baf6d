package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

const adminPassword = "e2e-admin-password"

// hubOptions are the parts of a test hub's configuration tests vary.
type hubOptions struct {
	MQTTURL string // external broker; "" for the embedded one
	Influx  *testenv.InfluxServer
	DataDir string // "" for a fresh temp dir
	DB      string // -db; "" for SQLite in the data dir (storeDSN makes one)
	Args    []string
	Stderr  io.Writer // the hub's log; nil: the test log
}

// stores are the stores the key scenarios run on.
var stores = []string{"sqlite", "postgres"}

// storeDSN returns -db for a fresh store of the kind: "" for the default
// SQLite file in the data directory, or a new PostgreSQL database (a copy
// of one migrated once per test binary) on the shared test server.
func storeDSN(t *testing.T, kind string) string {
	t.Helper()
	if kind == "sqlite" {
		return ""
	}
	pg := testenv.Postgres(t)
	pg.Template(t, "hub", func(dsn string) error {
		s, err := sqlstore.Open(dsn, nil)
		if err != nil {
			return err
		}
		return s.Close()
	})
	return pg.Database(t, "hub")
}

// eachStore runs f as a subtest on each store.
func eachStore(t *testing.T, f func(t *testing.T, db string)) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) { f(t, storeDSN(t, kind)) })
	}
}

// startHub runs the real Main in-process on loopback :0 ports.
func startHub(t *testing.T, o hubOptions) *Main {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	args := []string{
		"-http", "127.0.0.1:0", "-mqtt-listen", "127.0.0.1:0", "-data", o.DataDir,
		"-influx-url", o.Influx.URL(), "-influx-bucket", o.Influx.Bucket(),
		"-log-level", "warn", "-shutdown-grace", "10s",
	}
	if o.MQTTURL != "" {
		args = append(args, "-mqtt-url", o.MQTTURL)
	}
	if o.DB != "" {
		args = append(args, "-db", o.DB)
	}
	args = append(args, o.Args...)
	m := NewMain()
	m.Stderr = testWriter{t}
	if o.Stderr != nil {
		m.Stderr = o.Stderr
	}
	env := map[string]string{"HUB_ADMIN_PASSWORD": adminPassword}
	if err := m.ParseFlags(args, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		t.Fatalf("start hub: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close hub: %v", err)
		}
	})
	return m
}

// testWriter sends the hub's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// login returns an admin API token.
func login(t *testing.T, base string) string {
	t.Helper()
	return clientLogin(t, http.DefaultClient, base)
}

// clientLogin logs in as the admin through client and returns an API token.
func clientLogin(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	body := fmt.Sprintf(`{"username":"admin","password":%q}`, adminPassword)
	resp, err := client.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	return out.Token
}

// gasDevices makes n gas detectors in one community, in buildings of ten.
func gasDevices(prefix string, n int) []*devices.Device {
	ds := make([]*devices.Device, n)
	for i := range ds {
		ds[i] = &devices.Device{
			ID: fmt.Sprintf("%s-%04d", prefix, i+1), Kind: devices.KindGas,
			Location: devices.Location{
				Community: "阳光社区", Grid: "网格一", Building: fmt.Sprintf("%d号楼", i/10+1),
				Unit: "1单元", Floor: "3", Household: fmt.Sprintf("%d-1-30%d", i/10+1, i%10),
			},
			Resident: devices.Resident{Name: "测试居民", BirthYear: 1945, LivesAlone: true},
		}
	}
	return ds
}

// register registers ds through the console's CSV import.
func register(t *testing.T, base string, ds []*devices.Device) []sim.DeviceSpec {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	specs, err := sim.Register(ctx, base, login(t, base), ds)
	if err != nil {
		t.Fatalf("register devices: %v", err)
	}
	return specs
}

// connectDevices connects the devices as real MQTT clients that publish
// only what the test tells them to.
func connectDevices(t *testing.T, brokerURL string, specs []sim.DeviceSpec) *sim.Sim {
	t.Helper()
	return runSim(t, sim.Config{BrokerURL: brokerURL, Devices: specs, EventsOnly: true, ConnectConcurrency: 32})
}

// runSim runs a simulator until the test ends and returns it once every
// device is connected.
func runSim(t *testing.T, cfg sim.Config) *sim.Sim {
	t.Helper()
	s, err := sim.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Run(context.Background()) }()
	t.Cleanup(func() { s.Close(); <-done })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// baseTS is the device time of the first telemetry message in a stream:
// recent, so InfluxDB's default retention keeps it and the hub trusts it.
var baseTS = time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli()

// reading is message number seq (1-based) of a device: deterministic, so a
// test can check exactly what InfluxDB holds.
func reading(seq int) (ts int64, lel float64, payload []byte) {
	ts = baseTS + int64(seq)*1000
	lel = float64(seq%97) / 10
	return ts, lel, fmt.Appendf(nil, `{"seq":%d,"ts":%d,"lel":%g,"temperature":21.5,"battery":90}`, seq, ts, lel)
}

// publishStream publishes messages from..to of every device, each device
// in its own goroutine and in order, QoS 1, waiting for each PUBACK. pace,
// when set, is called before each message.
func publishStream(t *testing.T, s *sim.Sim, ids []string, from, to int, pace func()) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			for seq := from; seq <= to; seq++ {
				if pace != nil {
					pace()
				}
				_, _, p := reading(seq)
				if err := publishRetry(s, id, devices.ChannelTelemetry, p); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// publishRetry publishes until the broker acknowledges, as a device does
// across a reconnect.
func publishRetry(s *sim.Sim, id string, ch devices.Channel, p []byte) error {
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		if err = s.Publish(id, ch, p); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond) // back-off between device retries, not synchronisation
	}
	return err
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testenv.EventuallyState(t, timeout, what, cond)
}

// metric reads one sample from /metrics; labels as `reason="spoofed"`.
func metric(t *testing.T, base, name, labels string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := name
	if labels != "" {
		want += "{" + labels + "}"
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, want+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", want, err)
			}
			return v
		}
	}
	return 0
}

func getJSON(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, raw)
		}
	}
	return resp.StatusCode
}

func ids(specs []sim.DeviceSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Device.ID
	}
	return out
}

func TestMain(m *testing.M) {
	code := testenv.Main(m)
	if hubBin.path != "" {
		os.RemoveAll(filepath.Dir(hubBin.path))
	}
	os.Exit(code)
}
