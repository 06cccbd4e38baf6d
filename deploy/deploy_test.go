package deploy

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

const unitFile = "systemd/shouwang-hub.service"

// verifyUnit runs systemd-analyze verify on unit as it would be installed,
// with ExecStart pointing at a program that exists here (this test's own
// binary: verify checks that the command is executable). It returns what
// systemd-analyze said; any output at all is a finding.
func verifyUnit(t *testing.T, analyze string, unit []byte) (string, error) {
	t.Helper()
	const execStart = "ExecStart=/usr/local/bin/shouwang-hub\n"
	if !bytes.Contains(unit, []byte(execStart)) {
		t.Fatalf("%s has no %q: the install steps name that path", unitFile, strings.TrimSpace(execStart))
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit = bytes.Replace(unit, []byte(execStart), []byte("ExecStart="+self+"\n"), 1)
	path := filepath.Join(t.TempDir(), "shouwang-hub.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestSystemdUnit checks the unit with systemd-analyze: verify finds
// nothing to say (an unknown or misspelt setting would be reported, as the
// test shows with one), and the sandboxing keeps its exposure score "OK".
func TestSystemdUnit(t *testing.T) {
	analyze := testenv.ToolPath(t, "systemd-analyze")
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verifyUnit(t, analyze, unit); err != nil || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}
	// The reload of mosquitto when the hub rewrites its accounts.
	for _, f := range []string{"systemd/shouwang-mosquitto-reload.path", "systemd/shouwang-mosquitto-reload.service"} {
		if out, err := exec.Command(analyze, "verify", "--man=no", f).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", f, err, out)
		}
	}
	// The check can fail: a misspelt setting is reported.
	bad := bytes.Replace(unit, []byte("ProtectHome=yes"), []byte("ProtectHomes=yes"), 1)
	if out, _ := verifyUnit(t, analyze, bad); !strings.Contains(out, "ProtectHomes") {
		t.Errorf("systemd-analyze verify did not report a misspelt setting: %q", out)
	}

	// The exposure score systemd computes from the sandboxing: 0 (locked
	// down) to 10; "OK" is below 4. This unit scores 1.6.
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security gave no overall exposure:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("exposure %.1f %s", score, m[2])
	if score > 2.0 {
		t.Errorf("exposure %.1f %s, want at most 2.0: the sandboxing was loosened\n%s", score, m[2], out)
	}
}

// TestAlertingRules checks the rules with promtool, runs their unit tests,
// and checks that every metric they name is one the hub defines: a rule on
// a misspelt metric would never fire.
func TestAlertingRules(t *testing.T) {
	promtool := testenv.ToolPath(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "shouwang-alerts.yml"},
		{"test", "rules", "shouwang-alerts.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("SUCCESS")) {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	rules, err := os.ReadFile("prometheus/shouwang-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	defined := hubMetrics(t)
	used := regexp.MustCompile(`\bshouwang_[a-z0-9_]+`).FindAll(rules, -1)
	if len(used) < 10 {
		t.Fatalf("only %d metric names found in the rules", len(used))
	}
	for _, u := range used {
		name := string(u)
		base := name
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !defined[name] && !defined[base] {
			t.Errorf("the rules use %s, which the hub does not define", name)
		}
	}
}

// hubMetrics returns the metric names the module's code defines: every
// string literal that is a whole shouwang_… name, outside tests.
func hubMetrics(t *testing.T) map[string]bool {
	t.Helper()
	name := regexp.MustCompile(`^shouwang_[a-z0-9_]+$`)
	names := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".tools" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) {
					names[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["shouwang_mqtt_connected"] || !names["shouwang_alert_escalations_total"] {
		t.Fatalf("the scan of the code found too little: %d names", len(names))
	}
	return names
}
