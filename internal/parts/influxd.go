package parts

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// InfluxConfig configures an InfluxDB 1.8.10 server.
type InfluxConfig struct {
	// WrittenBy ends the generated config's first line, "# written by …".
	WrittenBy string
	// Dir holds the config, the log, and the meta, data and WAL directories.
	Dir string
}

// Influxd is influxd on loopback ports with Flux enabled, WAL writes not
// delayed and its logging quiet.
type Influxd struct {
	Proc     *Proc
	cfg      InfluxConfig
	httpPort int // 0 until the first start
	rpcPort  int
}

// NewInfluxd prepares a server running the influxd at path; Start starts it.
func NewInfluxd(path string, cfg InfluxConfig) *Influxd {
	return &Influxd{cfg: cfg, Proc: &Proc{
		Name:    "influxd",
		Path:    path,
		Args:    []string{"run", "-config", filepath.Join(cfg.Dir, "influxdb.conf")},
		LogPath: filepath.Join(cfg.Dir, "influxd.log"),
	}}
}

// Start starts the server and waits up to timeout until /ping answers. The
// first start writes the config for free ports, and tries new ports if
// another process took one first; later starts reuse the ports and the data.
func (s *Influxd) Start(timeout time.Duration) error {
	if s.cfg.Dir == "" {
		return errors.New("influxd: Dir is required")
	}
	if s.httpPort != 0 {
		return s.Proc.Start(s.Pinging, timeout)
	}
	return startOnFreePorts(s.Proc, []*int{&s.httpPort, &s.rpcPort}, s.writeConfig, s.Pinging, timeout)
}

// URL returns the HTTP API's base URL, "http://127.0.0.1:PORT".
func (s *Influxd) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.httpPort) }

// Pinging reports whether /ping answers 204: the server's readiness.
func (s *Influxd) Pinging() bool { return Answers(s.URL()+"/ping", http.StatusNoContent) }

func (s *Influxd) writeConfig() error {
	conf := influxConf(s.cfg, s.httpPort, s.rpcPort)
	if err := os.WriteFile(filepath.Join(s.cfg.Dir, "influxdb.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("influxd: write config: %w", err)
	}
	return nil
}

// influxConf returns the influxdb.conf for cfg with the HTTP API on
// 127.0.0.1:httpPort and the RPC service (backup and restore) on rpcPort.
func influxConf(cfg InfluxConfig, httpPort, rpcPort int) string {
	return fmt.Sprintf(`# written by %s
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
`, cfg.WrittenBy, rpcPort, filepath.Join(cfg.Dir, "meta"), filepath.Join(cfg.Dir, "data"), filepath.Join(cfg.Dir, "wal"), httpPort)
}
