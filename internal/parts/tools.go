package parts

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// installHints says what scripts/setup does for each program it provides.
var installHints = map[string]string{
	"mosquitto":        "it installs Debian's mosquitto",
	"mosquitto_passwd": "it installs Debian's mosquitto",
	"mosquitto_sub":    "it installs Debian's mosquitto-clients",
	"mosquitto_pub":    "it installs Debian's mosquitto-clients",
	"influxd":          "it builds InfluxDB 1.8.10 into .tools/bin",
	"chromium":         "it installs Debian's chromium",
	"nginx":            "it installs Debian's nginx",
	"promtool":         "it installs Debian's prometheus",
	"systemd-analyze":  "it installs Debian's systemd",
}

// FindTool returns the path of an external program: in <root>/.tools/bin
// (where scripts/setup builds influxd; skipped when root is empty), then
// PATH, then /usr/sbin (where Debian puts mosquitto, often not on a user's
// PATH). The error names the program and says what scripts/setup does for it.
func FindTool(root, name string) (string, error) {
	var candidates []string
	if root != "" {
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
	hint := installHints[name]
	if hint == "" {
		hint = "it installs what the tests need"
	}
	return "", fmt.Errorf("%s not found in .tools/bin, PATH or /usr/sbin: run scripts/setup (%s)", name, hint)
}

// RepoRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func RepoRoot() (string, error) {
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

// Dialable reports whether something accepts TCP connections at addr
// within a second: mosquitto's readiness.
func Dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Answers reports whether a GET of url answers with status within a second:
// influxd's readiness (/ping, 204) and the hub's (/readyz, 200).
func Answers(url string, status int) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == status
}
