package testenv

import (
	"testing"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

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
	// line overrides an earlier one for single-valued options.
	Extra string
}

// MosquittoServer is a mosquitto broker on a loopback port with the
// settings docs/operations.md recommends: persistence on, the database
// saved every second, no queue limits.
type MosquittoServer struct {
	t   testing.TB
	srv *parts.Mosquitto
}

// Mosquitto starts /usr/sbin/mosquitto on a free 127.0.0.1 port with a
// temporary persistence directory, waits until it accepts connections, and
// stops it when the test ends.
func Mosquitto(t testing.TB, opts MosquittoOptions) *MosquittoServer {
	t.Helper()
	path := ToolPath(t, "mosquitto")
	srv := parts.NewMosquitto(path, parts.MosquittoConfig{
		WrittenBy:      "internal/testenv for one test",
		Dir:            t.TempDir(),
		PasswordFile:   opts.PasswordFile,
		ACLFile:        opts.ACLFile,
		AllowAnonymous: opts.AllowAnonymous,
		// Save every second, as operations.md recommends for production.
		AutosaveInterval: 1,
		AutosaveSeconds:  true,
		Verbose:          true,
		Extra:            opts.Extra,
	})
	startForTest(t, srv.Proc, srv.Start)
	return &MosquittoServer{t: t, srv: srv}
}

// URL returns the broker's address as an MQTT URL, "tcp://127.0.0.1:PORT".
func (m *MosquittoServer) URL() string { return m.srv.URL() }

// Dir returns the broker's directory: its config, log and persistence
// database (mosquitto.db).
func (m *MosquittoServer) Dir() string { return m.srv.Dir() }

// Addr returns the broker's host:port, for raw TCP connections.
func (m *MosquittoServer) Addr() string { return m.srv.Addr() }

// Stop stops the broker with SIGTERM, which saves its database, and waits for
// it to exit. Connected clients see the connection drop.
func (m *MosquittoServer) Stop() {
	m.t.Helper()
	stop(m.t, m.srv.Proc)
}

// Pid returns the broker's process ID (0 when stopped): a test that
// signals it (SIGHUP: reload the password and ACL files) or checks it was
// not restarted.
func (m *MosquittoServer) Pid() int { return m.srv.Proc.Pid() }

// Kill ends the broker with SIGKILL, as a crash would: what it had not yet
// saved is lost.
func (m *MosquittoServer) Kill() { m.srv.Proc.Kill() }

// Start starts the broker again on the same port with the same persistence
// directory and waits until it accepts connections.
func (m *MosquittoServer) Start() {
	m.t.Helper()
	restart(m.t, m.srv.Start)
}
