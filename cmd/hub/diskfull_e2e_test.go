package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// smallDisk mounts a tmpfs of size MiB for the test and returns its path.
// It needs root; without it the test fails under CI and is skipped
// elsewhere.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", size), "tmpfs", dir).CombinedOutput(); err != nil {
		why = fmt.Sprintf("mount -t tmpfs: %v: %s", err, out)
	}
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a small file system for the disk-full test: %s (run the tests as root)", why)
		}
		t.Skipf("a small file system for the disk-full test: %s", why)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file until the file system is full and returns its
// path; removing it frees the space.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 1<<16)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	for _, n := range []int{4096, 512, 1} { // the last partial blocks
		for {
			if _, err := f.Write(block[:n]); err != nil {
				break
			}
		}
	}
	return path
}

// lineCounter counts the lines of a log while counting is on, and keeps
// them for the test's log.
type lineCounter struct {
	t  *testing.T
	on atomic.Bool
	mu sync.Mutex
	n  int
	b  bytes.Buffer
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.t.Log(strings.TrimRight(string(p), "\n"))
	if c.on.Load() {
		c.mu.Lock()
		c.n += bytes.Count(p, []byte("\n"))
		c.b.Write(p)
		c.mu.Unlock()
	}
	return len(p), nil
}

func (c *lineCounter) lines() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.b.String()
}

// readiness reads /readyz.
func readiness(t *testing.T, base string) (int, map[string]string) {
	t.Helper()
	var r struct {
		OK     bool
		Checks map[string]string
	}
	code := getJSON(t, base+"/readyz", "", &r)
	return code, r.Checks
}

// TestDiskFull fills the data directory's file system while devices keep
// publishing and an alert's escalation timers fall due. The hub stops
// acknowledging, says on /readyz that it is not ready and why, keeps its
// log short, and once space is freed becomes ready again and stores what
// was acknowledged to the devices meanwhile; the timers fire once.
func TestDiskFull(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) { diskFull(t, true) })
	t.Run("embedded", func(t *testing.T) { diskFull(t, false) })
}

func diskFull(t *testing.T, external bool) {
	influx := testenv.Influx(t)
	data := smallDisk(t, 48)
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(`{"escalation": {"critical": {"t1": "3s", "t2": "6s"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lineCounter{t: t}
	o := hubOptions{Influx: influx, DataDir: data, Args: []string{"-rules", rules}, Stderr: logs}
	if external {
		o.MQTTURL = testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true}).URL()
	}
	m := startHub(t, o)
	base, brokerURL := "http://"+m.HTTPAddr(), o.MQTTURL
	if !external {
		brokerURL = "tcp://" + m.BrokerAddr()
	}
	ds := append(gasDevices("dsk", 10), &devices.Device{ID: "sos-d01", Kind: devices.KindSOSButton,
		Location: devices.Location{Community: "阳光社区", Building: "9号楼", Household: "9-1-101"}})
	specs := register(t, base, ds)
	s := connectDevices(t, brokerURL, specs)
	if _, err := s.Press("sos-d01"); err != nil {
		t.Fatal(err)
	}
	token := login(t, base)
	pressAlert := func() (level int, found bool) {
		var out struct {
			Alerts []struct {
				Level int `json:"escalation_level"`
			}
		}
		getJSON(t, base+"/api/v1/alerts?kind=sos&device=sos-d01", token, &out)
		if len(out.Alerts) == 0 {
			return 0, false
		}
		return out.Alerts[0].Level, true
	}
	eventually(t, 30*time.Second, "the press's alert", func() (bool, string) {
		_, ok := pressAlert()
		return ok, ""
	})

	filler := fillDisk(t, data)
	logs.on.Store(true)
	full := time.Now()

	// Telemetry keeps coming: each gas detector every 200 ms, in order.
	ctx, stop := context.WithCancel(context.Background())
	var acked atomic.Int64
	var wg sync.WaitGroup
	for _, d := range ids(specs[:10]) {
		wg.Go(func() {
			for seq := 1; ctx.Err() == nil; {
				_, _, p := reading(seq)
				if err := s.Publish(d, devices.ChannelTelemetry, p); err == nil {
					acked.Add(1)
					seq++
				}
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond): // the devices' pace, not synchronisation
				}
			}
		})
	}
	defer func() { stop(); wg.Wait() }()

	eventually(t, time.Minute, "/readyz to say not ready, with the reason", func() (bool, string) {
		code, checks := readiness(t, base)
		failing := strings.Contains(checks["commits"], "failing") || strings.Contains(checks["broker"], "failing")
		return code == http.StatusServiceUnavailable && failing, fmt.Sprintf("%d %v", code, checks)
	})
	code, checks := readiness(t, base)
	t.Logf("readyz while full: %d %v", code, checks)
	// Stay full for 12 s in all, past both escalation timers.
	if rest := 12*time.Second - time.Since(full); rest > 0 {
		<-time.After(rest) // the outage's length, as the test sets it
	}
	if _, err := s.Press("sos-d01"); err == nil {
		t.Log("a second press was acknowledged by the broker while the disk was full")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	eventually(t, time.Minute, "/readyz ready again", func() (bool, string) {
		code, checks := readiness(t, base)
		return code == http.StatusOK, fmt.Sprintf("%d %v", code, checks)
	})
	t.Logf("ready %s after the space was freed", time.Since(freed).Round(time.Millisecond))
	logs.on.Store(false)
	n, text := logs.lines()
	// One line per kind of failure per 30 s or so, not one per attempt:
	// in 12 s the old hub wrote tens of thousands.
	const maxLines = 40
	if n > maxLines {
		t.Errorf("%d log lines while the disk was full (%s), want at most %d:\n%s", n, time.Since(full).Round(time.Second), maxLines, text)
	} else {
		t.Logf("%d log lines while the disk was full (%s)", n, time.Since(full).Round(time.Second))
	}

	stop()
	wg.Wait()
	want := int(acked.Load())
	eventually(t, 2*time.Minute, "every acknowledged reading in InfluxDB", func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n >= want, fmt.Sprintf("%d of %d", n, want)
	})
	eventually(t, 30*time.Second, "the escalation timers fired after the outage", func() (bool, string) {
		level, _ := pressAlert()
		return level == 2, fmt.Sprintf("level %d", level)
	})
}
