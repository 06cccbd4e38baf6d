// Package testenv starts the real parts integration tests run against —
// mosquitto, InfluxDB 1.8.10 and headless Chromium — on free loopback ports with temporary data
// directories, and stops them when the test ends.
//
// A test that needs a program which is not installed fails with a message
// saying how to install it (scripts/setup); outside CI (CI unset) it skips
// instead, so a quick `go test ./devices` on a bare machine still runs.
//
// The servers' Start, Stop and Kill methods report failures through the test
// that created them, so call them from that test's goroutine. A server's log
// is kept in its temporary directory and printed when the test fails.
//
// API (signatures are the contract other packages' tests rely on):
//
//	func Mosquitto(t testing.TB, opts MosquittoOptions) *MosquittoServer
//	  MosquittoOptions{PasswordFile, ACLFile string; AllowAnonymous bool; Extra string}
//	  (*MosquittoServer).URL() string            // "tcp://127.0.0.1:PORT"
//	  (*MosquittoServer).Addr() string           // "127.0.0.1:PORT"
//	  (*MosquittoServer).Dir() string            // config, log and mosquitto.db
//	  (*MosquittoServer).Stop(), Start(), Kill() // stop (SIGTERM) and restart on the same port and data dir; SIGKILL
//
//	func Influx(t testing.TB) *InfluxServer      // InfluxDB 1.8.10 with flux-enabled, database "shouwang" created
//	  (*InfluxServer).URL() string               // "http://127.0.0.1:PORT"
//	  (*InfluxServer).Bucket() string            // "shouwang/autogen"
//	  (*InfluxServer).Stop(), Start(), Kill()    // outage tests: stop, then start again on the same port and data
//	  (*InfluxServer).Write(t, lines string)     // writes line protocol into "shouwang"
//	  (*InfluxServer).Count(t, query string) int // runs an InfluxQL count query, returns the number
//	  (*InfluxServer).Query(t, influxql string) [][]any // rows of the first series, for assertions
//
//	func Chromium(t testing.TB) context.Context   // a fresh headless Debian chromium (chromedp), 1366×768, ChromiumFlags
//	func GrantPermission(ctx, origin, name string) error
//
//	func FreePort(t testing.TB) int
//	func ToolPath(t testing.TB, name string) string // finds influxd in <repo>/.tools/bin or PATH, mosquitto in PATH or /usr/sbin
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// installHints says what scripts/setup does for each tool it provides.
var installHints = map[string]string{
	"mosquitto":        "it installs Debian's mosquitto",
	"mosquitto_passwd": "it installs Debian's mosquitto",
	"mosquitto_sub":    "it installs Debian's mosquitto-clients",
	"mosquitto_pub":    "it installs Debian's mosquitto-clients",
	"influxd":          "it builds InfluxDB 1.8.10 into .tools/bin",
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before FreePort returns, so another process may take it;
// the servers in this package retry with a new port if that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ToolPath returns the path of an external program the tests need. It looks
// in <repo root>/.tools/bin (where scripts/setup builds influxd), then PATH,
// then /usr/sbin (where Debian puts mosquitto, often not on a user's PATH).
// When the program is missing it fails the test under CI (CI set) and skips
// it otherwise, either way naming scripts/setup.
func ToolPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := findTool(name); err == nil {
		return p
	}
	hint := installHints[name]
	if hint == "" {
		hint = "it installs what the tests need"
	}
	msg := fmt.Sprintf("testenv: %s not found in .tools/bin, PATH or /usr/sbin: run scripts/setup (%s)", name, hint)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func findTool(name string) (string, error) {
	var candidates []string
	if root, err := repoRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, ".tools", "bin", name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, filepath.Join("/usr/sbin", name))
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("not found")
}

// repoRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
