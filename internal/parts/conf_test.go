package parts

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// The generated configs are the settings operations.md documents; a change
// to them must be deliberate, so they are compared with golden files in
// testdata.

func golden(t *testing.T, name, got string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("generated:\n%s\nwant testdata/%s:\n%s", got, name, want)
	}
}

// withoutUser drops mosquitto's "user" line, which depends on who runs the
// test.
func withoutUser(t *testing.T, conf string) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		return conf
	}
	line := "user " + u.Username + "\n"
	if !strings.Contains(conf, line) {
		t.Errorf("no line %q in:\n%s", line, conf)
	}
	return strings.Replace(conf, line, "", 1)
}

func TestMosquittoConf(t *testing.T) {
	golden(t, "mosquitto-testenv.conf", withoutUser(t, mosquittoConf(MosquittoConfig{
		WrittenBy: "internal/testenv for one test", Dir: "/e", PasswordFile: "/p", ACLFile: "/a",
		AutosaveInterval: 1, AutosaveSeconds: true, Verbose: true, Extra: "max_keepalive 120"}, 1884)))
	golden(t, "mosquitto-bench.conf", withoutUser(t, mosquittoConf(MosquittoConfig{
		WrittenBy: "the Shouwang benchmark (internal/bench)", Dir: "/d", AllowAnonymous: true, AutosaveInterval: 10000}, 1884)))
	// Without a password file nobody could connect unless anonymous.
	if conf := mosquittoConf(MosquittoConfig{Dir: "/d", AutosaveInterval: 1}, 1); !strings.Contains(conf, "\nallow_anonymous true\n") {
		t.Errorf("no password file, AllowAnonymous false: anonymous not forced on:\n%s", conf)
	}
}

func TestInfluxConf(t *testing.T) {
	golden(t, "influxdb.conf", influxConf(InfluxConfig{WrittenBy: "internal/testenv for one test", Dir: "/g"}, 8087, 8089))
}

func TestStartRefusesIncompleteConfig(t *testing.T) {
	if err := NewMosquitto("/bin/false", MosquittoConfig{Dir: t.TempDir()}).Start(0); err == nil || !strings.Contains(err.Error(), "AutosaveInterval 0: must be positive") {
		t.Errorf("mosquitto without AutosaveInterval: %v", err)
	}
	if err := NewMosquitto("/bin/false", MosquittoConfig{AutosaveInterval: 1}).Start(0); err == nil || !strings.Contains(err.Error(), "Dir is required") {
		t.Errorf("mosquitto without Dir: %v", err)
	}
	if err := NewInfluxd("/bin/false", InfluxConfig{}).Start(0); err == nil || !strings.Contains(err.Error(), "Dir is required") {
		t.Errorf("influxd without Dir: %v", err)
	}
}

func TestNginxConf(t *testing.T) {
	conf := nginxConf(NginxConfig{WrittenBy: "internal/testenv for one test", Dir: "/n",
		Sites: "server {\n    listen 127.0.0.1:8443 ssl;\n}"})
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		conf = strings.Replace(conf, "user root;\n", "", 1)
	}
	golden(t, "nginx.conf", conf)
}

func TestPostgresConf(t *testing.T) {
	golden(t, "postgresql-testenv.conf", postgresConf(PostgresConfig{WrittenBy: "internal/testenv for one test binary", Dir: "/h", Relaxed: true}))
	if conf := postgresConf(PostgresConfig{Dir: "/h"}); strings.Contains(conf, "fsync") || strings.Contains(conf, "synchronous_commit") {
		t.Errorf("durability relaxed without Relaxed:\n%s", conf)
	}
}
