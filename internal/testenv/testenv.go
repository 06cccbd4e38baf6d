// Package testenv starts the real parts integration tests run against —
// mosquitto, InfluxDB 1.8.10, PostgreSQL, nginx and headless Chromium — on free loopback
// ports with temporary data directories, and stops them when the test ends (PostgreSQL: when
// the test binary ends; each test gets a database of its own).
//
// A test that needs a program which is not installed fails with a message
// saying how to install it (scripts/setup); outside CI (CI unset) it skips
// instead, so a quick `go test ./devices` on a bare machine still runs.
//
// The servers' Start, Stop and Kill methods report failures through the test
// that created them, so call them from that test's goroutine. A server's log
// is kept in its temporary directory and printed when the test fails.
//
// Starting, configuring and stopping the programs is internal/parts, which
// the benchmark (internal/bench) shares; this package adds what a test
// wants: temporary directories, cleanups, fail-or-skip and the log dump.
//
// API (signatures are the contract other packages' tests rely on):
//
//	func Mosquitto(t testing.TB, opts MosquittoOptions) *MosquittoServer
//	  MosquittoOptions{PasswordFile, ACLFile string; AllowAnonymous bool; Extra string}
//	  (*MosquittoServer).URL() string            // "tcp://127.0.0.1:PORT"
//	  (*MosquittoServer).Addr() string           // "127.0.0.1:PORT"
//	  (*MosquittoServer).Dir() string            // config, log and mosquitto.db
//	  (*MosquittoServer).Stop(), Start(), Kill() // stop (SIGTERM) and restart on the same port and data dir; SIGKILL
//	  (*MosquittoServer).Pid() int               // to signal it (SIGHUP reloads its password and ACL files)
//
//	func Influx(t testing.TB) *InfluxServer      // InfluxDB 1.8.10 with flux-enabled, database "shouwang" created
//	  (*InfluxServer).URL() string               // "http://127.0.0.1:PORT"
//	  (*InfluxServer).Bucket() string            // "shouwang/autogen"
//	  (*InfluxServer).Stop(), Start(), Kill()    // outage tests: stop, then start again on the same port and data
//	  (*InfluxServer).Write(t, lines string)     // writes line protocol into "shouwang"
//	  (*InfluxServer).Count(t, query string) int // runs an InfluxQL count query, returns the number
//	  (*InfluxServer).Query(t, influxql string) [][]any // rows of the first series, for assertions
//
//	func Nginx(t testing.TB, sites string, ports ...int) *NginxServer // nginx in the foreground, sites inside http {}
//	  (*NginxServer).Dir() string, Log() string
//	func Main(m *testing.M) int                   // TestMain of a package using Postgres: os.Exit(testenv.Main(m))
//	func Postgres(t testing.TB) *PostgresServer   // Debian's PostgreSQL, one per test binary, durability relaxed
//	  (*PostgresServer).Template(t, name, prepare func(dsn string) error) // a database made once, then copied
//	  (*PostgresServer).Database(t, template string) string // a database for this test (dropped after it); its DSN
//	  (*PostgresServer).DSN(db) string, Exec(t, db, sql)
//
//	func Chromium(t testing.TB) context.Context   // a fresh headless Debian chromium (chromedp), 1366×768, ChromiumFlags
//	func ChromiumWith(t testing.TB, opts ChromiumOptions) context.Context // ChromiumOptions{Flags []string; NoMicrophone bool}
//	func GrantPermission(ctx, origin, name string) error
//
//	func FreePort(t testing.TB) int
//	func ToolPath(t testing.TB, name string) string // finds influxd in <repo>/.tools/bin or PATH, mosquitto in PATH or /usr/sbin
package testenv

import (
	"os"
	"testing"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before FreePort returns, so another process may take it;
// the servers in this package retry with a new port if that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := parts.FreePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return port
}

// ToolPath returns the path of an external program the tests need. It looks
// in <repo root>/.tools/bin (where scripts/setup builds influxd), then PATH,
// then /usr/sbin (where Debian puts mosquitto, often not on a user's PATH).
// When the program is missing it fails the test under CI (CI set) and skips
// it otherwise, either way naming scripts/setup.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	root, _ := parts.RepoRoot() // without one, .tools/bin is not searched
	p, err := parts.FindTool(root, name)
	if err == nil {
		return p
	}
	msg := "testenv: " + err.Error()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
