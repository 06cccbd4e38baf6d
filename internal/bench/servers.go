package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

// readyTimeout bounds each program's start: a hub loading a million devices
// on a busy 2-core machine.
const readyTimeout = 90 * time.Second

// writtenBy heads the config files the benchmark writes.
const writtenBy = "the Shouwang benchmark (internal/bench)"

// MosquittoConfig configures a benchmark broker.
type MosquittoConfig struct {
	Path string // the mosquitto program
	Dir  string // config, log and persistence database
	// AutosaveInterval and AutosaveSeconds say how often mosquitto saves
	// its database: every AutosaveInterval seconds, or changes
	// (autosave_on_changes) when AutosaveSeconds is false. operations.md
	// recommends saving every second; a benchmark may measure others, and
	// says so.
	AutosaveInterval int
	AutosaveSeconds  bool
	// Verbose logs information messages too (each database save among
	// them).
	Verbose bool
	// Extra is appended to the generated mosquitto.conf.
	Extra string
}

// Mosquitto is an anonymous mosquitto on a loopback port, configured like
// internal/testenv's (persistence on, queue limits raised) except for the
// autosave interval and a quieter log.
type Mosquitto struct {
	*parts.Mosquitto
}

// StartMosquitto writes a config into cfg.Dir and starts mosquitto on a
// free port.
func StartMosquitto(cfg MosquittoConfig) (*Mosquitto, error) {
	if cfg.Path == "" || cfg.Dir == "" {
		return nil, errors.New("mosquitto: Path and Dir are required")
	}
	m := parts.NewMosquitto(cfg.Path, parts.MosquittoConfig{
		WrittenBy: writtenBy,
		Dir:       cfg.Dir,
		// Anonymous, no ACL: the load generator publishes for many device IDs
		// over a few connections, which per-device ACLs would refuse.
		AllowAnonymous:   true,
		AutosaveInterval: cfg.AutosaveInterval,
		AutosaveSeconds:  cfg.AutosaveSeconds,
		Verbose:          cfg.Verbose,
		Extra:            cfg.Extra,
	})
	if err := m.Start(readyTimeout); err != nil {
		return nil, err
	}
	return &Mosquitto{m}, nil
}

// Close stops the broker.
func (m *Mosquitto) Close() error { return m.Proc.Stop() }

// InfluxConfig configures a benchmark InfluxDB.
type InfluxConfig struct {
	Path string // the influxd program (1.8.10)
	Dir  string // config, log, meta, data and WAL
}

// InfluxServer is influxd on loopback ports with Flux enabled, as
// internal/testenv runs it.
type InfluxServer struct {
	*parts.Influxd
}

// StartInflux writes a config into cfg.Dir and starts influxd on free
// ports.
func StartInflux(cfg InfluxConfig) (*InfluxServer, error) {
	if cfg.Path == "" || cfg.Dir == "" {
		return nil, errors.New("influxd: Path and Dir are required")
	}
	s := parts.NewInfluxd(cfg.Path, parts.InfluxConfig{WrittenBy: writtenBy, Dir: cfg.Dir})
	if err := s.Start(readyTimeout); err != nil {
		return nil, err
	}
	return &InfluxServer{s}, nil
}

// Close stops influxd.
func (s *InfluxServer) Close() error { return s.Proc.Stop() }

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
	MQTTURL       string // an external broker; "" runs the hub's embedded broker on MQTTListen
	MQTTListen    string // the embedded broker's address, host:port
	ClientID      string // the hub's MQTT client ID: unique per run, so no old session is resumed
	InfluxURL     string
	InfluxBucket  string // db/rp
	AdminPassword string
	RulesFile     string // optional
	LogPath       string
	DB            string // the store: "" for SQLite in DataDir, or postgres://…
	Instance      string // -instance: one of several hubs sharing DB and the broker
}

// Hub is the hub running as a subprocess.
type Hub struct {
	Proc *parts.Proc
	URL  string // http://127.0.0.1:PORT
	// Started is how long the hub took from exec to /readyz answering 200.
	Started time.Duration
}

// StartHub runs the hub and waits until /readyz answers 200.
func StartHub(cfg HubConfig) (*Hub, error) {
	if cfg.Bin == "" || cfg.DataDir == "" || (cfg.MQTTURL == "") == (cfg.MQTTListen == "") || cfg.InfluxURL == "" || cfg.LogPath == "" {
		return nil, errors.New("hub: Bin, DataDir, MQTTURL or MQTTListen, InfluxURL and LogPath are required")
	}
	port, err := parts.FreePort()
	if err != nil {
		return nil, err
	}
	h := &Hub{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	env := []string{
		"HUB_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(port),
		"HUB_MQTT_URL=" + cfg.MQTTURL,
		"HUB_MQTT_LISTEN=" + cfg.MQTTListen,
		"HUB_MQTT_CLIENT_ID=" + cfg.ClientID,
		"HUB_INFLUX_URL=" + cfg.InfluxURL,
		"HUB_INFLUX_BUCKET=" + cfg.InfluxBucket,
		"HUB_DATA_DIR=" + cfg.DataDir,
		"HUB_ADMIN_PASSWORD=" + cfg.AdminPassword,
		"HUB_RULES=" + cfg.RulesFile,
		"HUB_LOG_LEVEL=warn",
	}
	if cfg.DB != "" {
		env = append(env, "HUB_DB="+cfg.DB)
	}
	if cfg.Instance != "" {
		env = append(env, "HUB_INSTANCE="+cfg.Instance)
	}
	h.Proc = &parts.Proc{Name: "hub", Path: cfg.Bin, Env: env, LogPath: cfg.LogPath}
	if err := h.Restart(); err != nil {
		return nil, err
	}
	return h, nil
}

// Restart starts the hub's process (again, after Kill or Close) and waits
// until /readyz answers 200.
func (h *Hub) Restart() error {
	start := time.Now()
	if err := h.Proc.Start(func() bool { return parts.Answers(h.URL+"/readyz", http.StatusOK) }, readyTimeout); err != nil {
		return err
	}
	h.Started = time.Since(start)
	return nil
}

// Close stops the hub with SIGTERM (an ordered shutdown).
func (h *Hub) Close() error { return h.Proc.Stop() }

// Postgres is a PostgreSQL cluster of the benchmark's own, with the
// durability a production store keeps (fsync, synchronous_commit and
// full_page_writes on: nothing relaxed), and a database "shouwang".
type Postgres struct {
	*parts.Postgres
	dir string
}

// StartPostgres makes a cluster in a fresh directory (owned by the postgres
// user when run as root) and starts it on a free port.
func StartPostgres() (*Postgres, error) {
	bin, err := parts.FindPostgres()
	if err != nil {
		return nil, err
	}
	dir, err := parts.NewPostgresDir()
	if err != nil {
		return nil, err
	}
	p := parts.NewPostgres(bin, parts.PostgresConfig{WrittenBy: writtenBy, Dir: dir})
	if err := p.Start(readyTimeout); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.Exec("postgres", "CREATE DATABASE shouwang"); err != nil {
		p.Proc.Stop()
		os.RemoveAll(dir)
		return nil, err
	}
	return &Postgres{Postgres: p, dir: dir}, nil
}

// DSN is the URL the hub opens its store with.
func (p *Postgres) DSN() string { return p.Postgres.DSN("shouwang") }

// Close stops the server and removes its cluster.
func (p *Postgres) Close() error {
	err := p.Proc.Stop()
	os.RemoveAll(p.dir)
	return err
}
