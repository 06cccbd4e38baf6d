package testenv

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/internal/parts"
)

const (
	// readyTimeout bounds a server's start. A cold influxd spends about 4 s
	// of CPU starting Flux; with the load at 23 on this 2-core machine it
	// answered its first ping after 49 to 62 s, so a minute was too short.
	readyTimeout = 3 * time.Minute
	logTailBytes = 32 << 10
)

// startForTest starts a server (start is its Start method) for the test:
// the end of its log is printed if the test fails, and the server is stopped
// when the test ends. The log dump is registered first, so it runs after the
// stop and sees the whole log.
func startForTest(t testing.TB, p *parts.Proc, start func(time.Duration) error) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: %s log (%s):\n%s", p.Name, p.LogPath, p.LogTail(logTailBytes))
		}
	})
	t.Cleanup(func() { p.Stop() })
	if err := start(readyTimeout); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// stop stops a server with SIGTERM; a server that had to be killed fails
// the test.
func stop(t testing.TB, p *parts.Proc) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Errorf("testenv: %v", err)
	}
}

// restart starts a stopped server again on the same ports with the same data.
func restart(t testing.TB, start func(time.Duration) error) {
	t.Helper()
	if err := start(readyTimeout); err != nil {
		t.Fatalf("testenv: restart: %v", err)
	}
}
