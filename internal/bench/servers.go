package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MosquittoConfig configures a benchmark broker.
type MosquittoConfig struct {
	Path string // the mosquitto program
	Dir  string // config, log and persistence database
	// AutosaveInterval is how many changes mosquitto may hold before it
	// saves its database (autosave_on_changes). 1 is what operations.md
	// recommends for production; a benchmark may raise it, and must say so.
	AutosaveInterval int
}

// Mosquitto is an anonymous mosquitto on a loopback port, configured like
// internal/testenv's (persistence on, queue limits raised) except for the
// autosave interval.
type Mosquitto struct {
	Proc *Proc
	Addr string // 127.0.0.1:PORT
	Conf string // the generated mosquitto.conf
}

// StartMosquitto writes a config into cfg.Dir and starts mosquitto on a
// free port.
func StartMosquitto(cfg MosquittoConfig) (*Mosquitto, error) {
	if cfg.Path == "" || cfg.Dir == "" {
		return nil, errors.New("mosquitto: Path and Dir are required")
	}
	if cfg.AutosaveInterval <= 0 {
		return nil, fmt.Errorf("mosquitto: AutosaveInterval %d: must be positive", cfg.AutosaveInterval)
	}
	m := &Mosquitto{Proc: &Proc{Name: "mosquitto", Path: cfg.Path, LogPath: filepath.Join(cfg.Dir, "mosquitto.log")}}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var port int
		if port, err = FreePort(); err != nil {
			return nil, err
		}
		m.Addr = "127.0.0.1:" + strconv.Itoa(port)
		m.Conf = mosquittoConf(cfg, port)
		path := filepath.Join(cfg.Dir, "mosquitto.conf")
		if err := os.WriteFile(path, []byte(m.Conf), 0o644); err != nil {
			return nil, fmt.Errorf("mosquitto: write config: %w", err)
		}
		m.Proc.Args = []string{"-c", path}
		err = m.Proc.Start(func() bool { return dialable(m.Addr) }, readyTimeout)
		if err == nil || !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// URL returns "tcp://127.0.0.1:PORT".
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr }

// Close stops the broker.
func (m *Mosquitto) Close() error { return m.Proc.Stop() }

func mosquittoConf(cfg MosquittoConfig, port int) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by the Shouwang benchmark (internal/bench)")
	line("listener %d 127.0.0.1", port)
	if u, err := user.Current(); err == nil {
		line("user %s", u.Username) // as root, mosquitto would switch to "mosquitto"
	}
	// Anonymous, no ACL: the load generator publishes for many device IDs
	// over a few connections, which per-device ACLs would refuse.
	line("allow_anonymous true")
	line("persistence true")
	line("persistence_location %s/", cfg.Dir)
	line("autosave_on_changes true")
	line("autosave_interval %d", cfg.AutosaveInterval)
	line("max_queued_messages 1000000")
	line("max_queued_bytes 0")
	line("max_inflight_messages 1000")
	// $SYS every second, so the benchmark can read messages/dropped.
	line("sys_interval 1")
	line("log_dest stderr")
	line("log_type error")
	line("log_type warning")
	line("log_type notice")
	line("connection_messages false")
	return b.String()
}

// InfluxConfig configures a benchmark InfluxDB.
type InfluxConfig struct {
	Path string // the influxd program (1.8.10)
	Dir  string // config, log, meta, data and WAL
}

// InfluxServer is influxd on loopback ports with Flux enabled, as
// internal/testenv runs it.
type InfluxServer struct {
	Proc *Proc
	URL  string // http://127.0.0.1:PORT
}

// StartInflux writes a config into cfg.Dir and starts influxd on free
// ports.
func StartInflux(cfg InfluxConfig) (*InfluxServer, error) {
	if cfg.Path == "" || cfg.Dir == "" {
		return nil, errors.New("influxd: Path and Dir are required")
	}
	s := &InfluxServer{Proc: &Proc{Name: "influxd", Path: cfg.Path, LogPath: filepath.Join(cfg.Dir, "influxd.log")}}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var httpPort, rpcPort int
		if httpPort, err = FreePort(); err != nil {
			return nil, err
		}
		if rpcPort, err = FreePort(); err != nil {
			return nil, err
		}
		s.URL = "http://127.0.0.1:" + strconv.Itoa(httpPort)
		path := filepath.Join(cfg.Dir, "influxdb.conf")
		if err := os.WriteFile(path, []byte(influxConf(cfg.Dir, httpPort, rpcPort)), 0o644); err != nil {
			return nil, fmt.Errorf("influxd: write config: %w", err)
		}
		s.Proc.Args = []string{"run", "-config", path}
		err = s.Proc.Start(func() bool { return httpOK(s.URL+"/ping", http.StatusNoContent) }, readyTimeout)
		if err == nil || !errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops influxd.
func (s *InfluxServer) Close() error { return s.Proc.Stop() }

func influxConf(dir string, httpPort, rpcPort int) string {
	return fmt.Sprintf(`# written by the Shouwang benchmark (internal/bench)
reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q
  logging-enabled = false

[data]
  dir = %q
  wal-dir = %q
  wal-fsync-delay = "0s"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false
  pprof-enabled = false

[continuous_queries]
  log-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
}

// BuildHub builds the hub from the tree at root into out.
func BuildHub(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/hub")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/hub: %w\n%s", err, b)
	}
	return nil
}

// HubConfig configures a hub run as a subprocess against an external
// broker. It is passed as HUB_* environment variables.
type HubConfig struct {
	Bin           string // the built hub
	DataDir       string
	MQTTURL       string
	ClientID      string // the hub's MQTT client ID: unique per run, so no old session is resumed
	InfluxURL     string
	InfluxBucket  string // db/rp
	AdminPassword string
	RulesFile     string // optional
	LogPath       string
}

// Hub is the hub running as a subprocess.
type Hub struct {
	Proc *Proc
	URL  string // http://127.0.0.1:PORT
	// Started is how long the hub took from exec to /readyz answering 200.
	Started time.Duration
}

// StartHub runs the hub and waits until /readyz answers 200.
func StartHub(cfg HubConfig) (*Hub, error) {
	if cfg.Bin == "" || cfg.DataDir == "" || cfg.MQTTURL == "" || cfg.InfluxURL == "" || cfg.LogPath == "" {
		return nil, errors.New("hub: Bin, DataDir, MQTTURL, InfluxURL and LogPath are required")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	h := &Hub{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	env := []string{
		"HUB_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port),
		"HUB_MQTT_URL=" + cfg.MQTTURL,
		"HUB_MQTT_CLIENT_ID=" + cfg.ClientID,
		"HUB_INFLUX_URL=" + cfg.InfluxURL,
		"HUB_INFLUX_BUCKET=" + cfg.InfluxBucket,
		"HUB_DATA_DIR=" + cfg.DataDir,
		"HUB_ADMIN_PASSWORD=" + cfg.AdminPassword,
		"HUB_RULES=" + cfg.RulesFile,
		"HUB_LOG_LEVEL=warn",
	}
	h.Proc = &Proc{Name: "hub", Path: cfg.Bin, Env: env, LogPath: cfg.LogPath}
	start := time.Now()
	if err := h.Proc.Start(func() bool { return httpOK(h.URL+"/readyz", http.StatusOK) }, readyTimeout); err != nil {
		return nil, err
	}
	h.Started = time.Since(start)
	return h, nil
}

// Close stops the hub with SIGTERM (an ordered shutdown).
func (h *Hub) Close() error { return h.Proc.Stop() }

func httpOK(url string, want int) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == want
}
