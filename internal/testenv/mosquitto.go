package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mosquittoMaxQueued is the per-client queue limit: far more than any test
// queues, so nothing is dropped.
const mosquittoMaxQueued = 1_000_000

// MosquittoOptions configures a test broker. The zero value is an anonymous
// broker with no ACL.
type MosquittoOptions struct {
	// PasswordFile is a mosquitto password file ("user:$7$..." lines). If
	// set, AllowAnonymous decides whether clients without a username may
	// still connect.
	PasswordFile string
	// ACLFile is a mosquitto ACL file (topic, user and pattern lines).
	ACLFile string
	// AllowAnonymous lets clients connect without a username. It is forced
	// on when PasswordFile is empty, since nobody could connect otherwise.
	AllowAnonymous bool
	// Extra is appended verbatim to the generated mosquitto.conf; a later
	// line overrides an earlier one for single-valued options. A test that
	// publishes thousands of messages may want "autosave_interval 1000":
	// saving on every change costs an fsync per broker loop turn, a few
	// hundred messages a second on a busy machine.
	Extra string
}

// MosquittoServer is a mosquitto broker on a loopback port, configured to
// lose nothing: persistence on, the database saved on every change, no
// queue limits (see docs/operations.md).
type MosquittoServer struct {
	t    testing.TB
	port int
	dir  string
	opts MosquittoOptions
	proc *process
}

// Mosquitto starts /usr/sbin/mosquitto on a free 127.0.0.1 port with a
// temporary persistence directory, waits until it accepts connections, and
// stops it when the test ends.
func Mosquitto(t testing.TB, opts MosquittoOptions) *MosquittoServer {
	t.Helper()
	path := ToolPath(t, "mosquitto")
	dir := t.TempDir()
	m := &MosquittoServer{t: t, dir: dir, opts: opts}
	m.proc = &process{
		name:    "mosquitto",
		path:    path,
		args:    []string{"-c", filepath.Join(dir, "mosquitto.conf")},
		logPath: filepath.Join(dir, "mosquitto.log"),
	}
	m.proc.dumpLogOnFailure(t)
	t.Cleanup(func() { m.proc.stop() })

	// FreePort's port can be taken before mosquitto binds it; try a new one.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if m.port, err = freePort(); err != nil {
			t.Fatalf("testenv: mosquitto: free port: %v", err)
		}
		if err = m.writeConfig(); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		err = m.proc.start(m.accepting)
		if err == nil || !errors.Is(err, errExited) || !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return m
}

// URL returns the broker's address as an MQTT URL, "tcp://127.0.0.1:PORT".
func (m *MosquittoServer) URL() string { return "tcp://" + m.Addr() }

// Dir returns the broker's directory: its config, log and persistence
// database (mosquitto.db).
func (m *MosquittoServer) Dir() string { return m.dir }

// Addr returns the broker's host:port, for raw TCP connections.
func (m *MosquittoServer) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port))
}

// Stop stops the broker with SIGTERM, which saves its database, and waits for
// it to exit. Connected clients see the connection drop.
func (m *MosquittoServer) Stop() {
	m.t.Helper()
	if m.proc.stop() {
		m.t.Errorf("testenv: mosquitto did not stop within %s of SIGTERM; killed it", stopTimeout)
	}
}

// Kill ends the broker with SIGKILL, as a crash would: what it had not yet
// saved is lost.
func (m *MosquittoServer) Kill() { m.proc.kill() }

// Start starts the broker again on the same port with the same persistence
// directory and waits until it accepts connections.
func (m *MosquittoServer) Start() {
	m.t.Helper()
	if err := m.proc.start(m.accepting); err != nil {
		m.t.Fatalf("testenv: restart: %v", err)
	}
}

func (m *MosquittoServer) accepting() bool {
	c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (m *MosquittoServer) writeConfig() error {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by internal/testenv for one test")
	line("listener %d 127.0.0.1", m.port)
	if u, err := user.Current(); err == nil {
		// As root, mosquitto would switch to user "mosquitto", which cannot
		// write the test's temporary directory; as anyone else it ignores this.
		line("user %s", u.Username)
	}
	line("allow_anonymous %t", m.opts.AllowAnonymous || m.opts.PasswordFile == "")
	if m.opts.PasswordFile != "" {
		line("password_file %s", m.opts.PasswordFile)
	}
	if m.opts.ACLFile != "" {
		line("acl_file %s", m.opts.ACLFile)
	}
	// Lose nothing: keep sessions and queued messages on disk, save after
	// every change (autosave_on_changes counts changes against
	// autosave_interval), and never drop messages for a slow or absent
	// subscriber. max_queued_messages is a large number, not 0 ("no
	// limit"): mosquitto 2.0.x mishandles 0 (2.0.11 disconnects a client
	// whose publish an ACL denies; fixed in 2.0.22). persistent_client_expiration
	// is left unset: sessions never expire.
	line("persistence true")
	line("persistence_location %s/", m.dir)
	line("autosave_on_changes true")
	line("autosave_interval 1")
	line("max_queued_messages %d", mosquittoMaxQueued)
	line("max_queued_bytes 0")
	line("max_inflight_messages 1000")
	// $SYS every second, so tests can read broker/publish/messages/dropped.
	line("sys_interval 1")
	line("log_dest stderr")
	line("log_type error")
	line("log_type warning")
	line("log_type notice")
	line("log_type information")
	line("connection_messages true")
	line("log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S")
	if m.opts.Extra != "" {
		line("# Extra")
		line("%s", m.opts.Extra)
	}
	if err := os.WriteFile(filepath.Join(m.dir, "mosquitto.conf"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("mosquitto: write config: %w", err)
	}
	return nil
}
