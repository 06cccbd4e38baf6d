package parts

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// mosquittoMaxQueued is the per-client queue limit: far more than any test
// or benchmark queues, so nothing is dropped.
const mosquittoMaxQueued = 1_000_000

// MosquittoConfig configures a broker. Dir and AutosaveInterval are
// required.
type MosquittoConfig struct {
	// WrittenBy ends the generated config's first line, "# written by …".
	WrittenBy string
	// Dir holds the config, the log and the persistence database
	// (mosquitto.db).
	Dir string
	// PasswordFile is a mosquitto password file ("user:$7$..." lines). If
	// set, AllowAnonymous decides whether clients without a username may
	// still connect.
	PasswordFile string
	// ACLFile is a mosquitto ACL file (topic, user and pattern lines).
	ACLFile string
	// AllowAnonymous lets clients connect without a username. It is forced
	// on when PasswordFile is empty, since nobody could connect otherwise.
	AllowAnonymous bool
	// AutosaveInterval is how often mosquitto saves its database: every
	// AutosaveInterval seconds when AutosaveSeconds, else after that many
	// changes (autosave_on_changes). What operations.md recommends for
	// production, and the tests run, is saving every second
	// (AutosaveSeconds, 1); the benchmark measures others and says so.
	AutosaveInterval int
	AutosaveSeconds  bool
	// Verbose logs information messages and every connection, with readable
	// timestamps, for the log of a failed test; without it the log holds
	// notices, warnings and errors only.
	Verbose bool
	// Extra is appended verbatim to the generated mosquitto.conf; a later
	// line overrides an earlier one for single-valued options.
	Extra string
}

// Mosquitto is a mosquitto broker on a loopback port with persistence on,
// the database saved every AutosaveInterval seconds or changes, and no
// queue limits (see docs/operations.md).
type Mosquitto struct {
	Proc *Proc
	cfg  MosquittoConfig
	port int // 0 until the first start
}

// NewMosquitto prepares a broker running the program at path; Start starts
// it.
func NewMosquitto(path string, cfg MosquittoConfig) *Mosquitto {
	return &Mosquitto{cfg: cfg, Proc: &Proc{
		Name:    "mosquitto",
		Path:    path,
		Args:    []string{"-c", filepath.Join(cfg.Dir, "mosquitto.conf")},
		LogPath: filepath.Join(cfg.Dir, "mosquitto.log"),
	}}
}

// Start starts the broker and waits up to timeout until it accepts
// connections. The first start writes the config for a free port, and tries
// a new port if another process took that one first; later starts reuse the
// port and the persistence directory.
func (m *Mosquitto) Start(timeout time.Duration) error {
	if m.cfg.Dir == "" {
		return errors.New("mosquitto: Dir is required")
	}
	if m.cfg.AutosaveInterval <= 0 {
		return fmt.Errorf("mosquitto: AutosaveInterval %d: must be positive", m.cfg.AutosaveInterval)
	}
	if m.port != 0 {
		return m.Proc.Start(m.Accepting, timeout)
	}
	return startOnFreePorts(m.Proc, []*int{&m.port}, m.writeConfig, m.Accepting, timeout)
}

// Addr returns the broker's host:port, for raw TCP connections.
func (m *Mosquitto) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port))
}

// URL returns the broker's address as an MQTT URL, "tcp://127.0.0.1:PORT".
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// Dir returns the broker's directory: its config, log and persistence
// database (mosquitto.db).
func (m *Mosquitto) Dir() string { return m.cfg.Dir }

// Accepting reports whether the broker accepts TCP connections: its
// readiness.
func (m *Mosquitto) Accepting() bool { return Dialable(m.Addr()) }

func (m *Mosquitto) writeConfig() error {
	if err := os.WriteFile(filepath.Join(m.cfg.Dir, "mosquitto.conf"), []byte(mosquittoConf(m.cfg, m.port)), 0o644); err != nil {
		return fmt.Errorf("mosquitto: write config: %w", err)
	}
	return nil
}

// mosquittoConf returns the mosquitto.conf for cfg listening on
// 127.0.0.1:port.
func mosquittoConf(cfg MosquittoConfig, port int) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by %s", cfg.WrittenBy)
	line("listener %d 127.0.0.1", port)
	if u, err := user.Current(); err == nil {
		// As root, mosquitto would switch to user "mosquitto", which cannot
		// write the temporary directory; as anyone else it ignores this.
		line("user %s", u.Username)
	}
	line("allow_anonymous %t", cfg.AllowAnonymous || cfg.PasswordFile == "")
	if cfg.PasswordFile != "" {
		line("password_file %s", cfg.PasswordFile)
	}
	if cfg.ACLFile != "" {
		line("acl_file %s", cfg.ACLFile)
	}
	// Keep sessions and queued messages on disk, saved every
	// AutosaveInterval seconds (or changes: autosave_on_changes counts
	// changes against autosave_interval), and never drop messages for a
	// slow or absent subscriber. max_queued_messages is a large number,
	// not 0 ("no limit"): mosquitto 2.0.x mishandles 0 (2.0.11 disconnects
	// a client whose publish an ACL denies; fixed in 2.0.22).
	// persistent_client_expiration is left unset: sessions never expire.
	line("persistence true")
	line("persistence_location %s/", cfg.Dir)
	line("autosave_on_changes %t", !cfg.AutosaveSeconds)
	line("autosave_interval %d", cfg.AutosaveInterval)
	line("max_queued_messages %d", mosquittoMaxQueued)
	line("max_queued_bytes 0")
	line("max_inflight_messages 1000")
	// $SYS every second, so tests and the benchmark can read
	// broker/publish/messages/dropped.
	line("sys_interval 1")
	line("log_dest stderr")
	line("log_type error")
	line("log_type warning")
	line("log_type notice")
	if cfg.Verbose {
		line("log_type information")
	}
	line("connection_messages %t", cfg.Verbose)
	if cfg.Verbose {
		line("log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S")
	}
	if cfg.Extra != "" {
		line("# Extra")
		line("%s", cfg.Extra)
	}
	return b.String()
}
