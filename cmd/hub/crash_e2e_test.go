package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// hubProcess is the hub binary running as its own process, so a test can
// kill it without warning.
type hubProcess struct {
	t    *testing.T
	bin  string
	env  []string
	base string // its console URL
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

func buildHub(t *testing.T) string {
	t.Helper()
	hubBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "shouwang-hub-bin-")
		if err != nil {
			hubBin.err = err
			return
		}
		hubBin.path = filepath.Join(dir, "hub")
		if out, err := exec.Command("go", "build", "-o", hubBin.path, ".").CombinedOutput(); err != nil {
			hubBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hubBin.err != nil {
		t.Fatal(hubBin.err)
	}
	return hubBin.path
}

// hubBin is the hub binary, built once per test binary (TestMain removes
// it).
var hubBin struct {
	once sync.Once
	path string
	err  error
}

// newHubProcess prepares the hub binary bin as a process of its own: a
// fresh loopback HTTP port (base is its console URL), data in data,
// InfluxDB influx, the admin password of the tests, and env added. Its log
// is kept and printed if the test fails. Start it with start; a cleanup
// stops it.
func newHubProcess(t *testing.T, bin, data string, influx *testenv.InfluxServer, env ...string) (p *hubProcess, base string) {
	t.Helper()
	port := testenv.FreePort(t)
	base = "http://127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(t.TempDir(), "hub.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("hub log:\n%s", b)
		}
	})
	p = &hubProcess{t: t, bin: bin, log: logf, base: base, env: append([]string{
		"HUB_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port), "HUB_DATA_DIR=" + data,
		"HUB_INFLUX_URL=" + influx.URL(), "HUB_INFLUX_BUCKET=" + influx.Bucket(),
		"HUB_ADMIN_PASSWORD=" + adminPassword, "HUB_LOG_LEVEL=warn",
	}, env...)}
	t.Cleanup(func() {
		if p.cmd != nil {
			p.signal(syscall.SIGTERM)
		}
	})
	return p, base
}

// waitReady waits until the hub's /readyz answers 200.
func (p *hubProcess) waitReady() {
	p.t.Helper()
	eventually(p.t, time.Minute, "hub ready", func() (bool, string) {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

func (p *hubProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.done) }()
}

func (p *hubProcess) signal(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("hub did not exit on %v", sig)
	}
}

// TestHubKilledMidStream kills the hub process with SIGKILL while 100
// devices stream 10,000 readings and 1,000 events, and starts it again on
// the same data: every message the broker acknowledged arrives, none twice.
// With an external mosquitto the broker survives the kill; with the
// embedded broker it dies with the hub, so what it acknowledged to devices
// must already be on disk.
func TestHubKilledMidStream(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) { killMidStream(t, false) })
	t.Run("embedded", func(t *testing.T) { killMidStream(t, true) })
}

func killMidStream(t *testing.T, embedded bool) {
	influx := testenv.Influx(t)
	bin := buildHub(t)
	data := t.TempDir()
	p, base := newHubProcess(t, bin, data, influx)
	var brokerURL string
	if embedded {
		mqttPort := testenv.FreePort(t)
		brokerURL = "tcp://127.0.0.1:" + strconv.Itoa(mqttPort)
		p.env = append(p.env, "HUB_MQTT_LISTEN=127.0.0.1:"+strconv.Itoa(mqttPort))
	} else {
		mq := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true})
		brokerURL = mq.URL()
		p.env = append(p.env, "HUB_MQTT_URL="+brokerURL)
	}
	p.start()
	waitReady := p.waitReady
	waitReady()
	specs := register(t, base, gasDevices("kil", 100))
	s := connectDevices(t, brokerURL, specs)
	all := ids(specs)

	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		var wg sync.WaitGroup
		for _, id := range all {
			wg.Go(func() {
				for seq := 1; seq <= 100; seq++ {
					_, _, payload := reading(seq)
					if err := publishRetry(s, id, devices.ChannelTelemetry, payload); err != nil {
						t.Error(err)
						return
					}
					if seq%10 == 0 {
						ev := fmt.Appendf(nil, `{"seq":%d,"ts":%d,"type":"test"}`, 1000+seq/10, baseTS+int64(seq)*1000+1)
						if err := publishRetry(s, id, devices.ChannelEvent, ev); err != nil {
							t.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
	}()

	eventually(t, time.Minute, "a third of the stream stored", func() (bool, string) {
		n := metric(t, base, "shouwang_ingest_stored_total", `channel="telemetry"`)
		return n >= 3000, fmt.Sprint(n)
	})
	before := metric(t, base, "shouwang_ingest_stored_total", `channel="telemetry"`)
	p.signal(syscall.SIGKILL)
	t.Logf("killed the hub with about %v readings stored", before)
	p.start()
	waitReady()
	<-streamDone

	eventually(t, 2*time.Minute, "all 10,000 points", func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == 10000, fmt.Sprintf("%d points", n)
	})
	// Each event is in the store exactly once (the hub is still running;
	// SQLite lets this process read beside it).
	st, err := sqlstore.Open(filepath.Join(data, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eventually(t, time.Minute, "every device's 10 events stored once", func() (bool, string) {
		for _, id := range all {
			evs, err := st.ListEvents(context.Background(), id, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 10 {
				return false, fmt.Sprintf("device %s has %d events", id, len(evs))
			}
		}
		return true, ""
	})
	if n := influx.Count(t, `SELECT count(seq) FROM gas`); n != 10000 {
		t.Fatalf("%d points at the end, want 10000", n)
	}
	t.Logf("after the restart: %v readings stored, %v duplicates dropped",
		metric(t, base, "shouwang_ingest_stored_total", `channel="telemetry"`),
		metric(t, base, "shouwang_ingest_duplicates_total", `channel="telemetry"`))
}
