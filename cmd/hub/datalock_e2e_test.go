package main

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// fileState is what a file looks like from outside.
type fileState struct {
	size    int64
	modTime time.Time
	sum     [32]byte
}

// snapshot records every file under dir.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = fileState{size: info.Size(), modTime: info.ModTime(), sum: sha256.Sum256(b)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecondHubOnABusyDataDir: a second hub started on the data directory
// of a running one exits at once, naming the process that holds it, and
// leaves every file in the directory as it was.
func TestSecondHubOnABusyDataDir(t *testing.T) {
	influx := testenv.Influx(t)
	data := t.TempDir()
	m := startHub(t, hubOptions{Influx: influx, DataDir: data})
	register(t, "http://"+m.HTTPAddr(), gasDevices("lck", 3)) // the store has been written
	before := snapshot(t, data)

	second := exec.Command(buildHub(t))
	second.Env = append(os.Environ(),
		"HUB_DATA_DIR="+data, "HUB_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)),
		"HUB_MQTT_LISTEN=127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)),
		"HUB_INFLUX_URL="+influx.URL(), "HUB_INFLUX_BUCKET="+influx.Bucket())
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatalf("the second hub ran on a busy data directory:\n%s", out)
	}
	if want := "in use by another hub (pid " + strconv.Itoa(os.Getpid()) + ","; !strings.Contains(string(out), want) {
		t.Errorf("the second hub's error does not say %q:\n%s", want, out)
	}

	after := snapshot(t, data)
	for path, b := range before {
		if a, ok := after[path]; !ok {
			t.Errorf("%s is gone", path)
		} else if a != b {
			t.Errorf("%s changed: %+v → %+v", path, b, a)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s appeared", path)
		}
	}

	// Once the first hub has stopped, the directory is free again.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	startHub(t, hubOptions{Influx: influx, DataDir: data})
}
