package limitlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOneLinePerIntervalPerKeyWithTheCountLeftOut(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second, func() time.Time { return now })
	for range 5 {
		l.Warn("a", "full")
		l.Error("b", "other")
	}
	now = now.Add(10 * time.Second)
	l.Warn("a", "full")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[1], "level=ERROR") {
		t.Errorf("levels: %q", lines[:2])
	}
	if !strings.Contains(lines[2], "suppressed=4") {
		t.Errorf("the line after the interval does not count the 4 left out: %q", lines[2])
	}
	if l.Allow("c", time.Minute) != true || l.Allow("c", time.Minute) != false {
		t.Error("Allow: want true, then false within the interval")
	}
}

func TestKeysStayBounded(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(slog.New(slog.DiscardHandler), time.Second, func() time.Time { return now })
	for i := range 3 * maxKeys {
		l.Warn(fmt.Sprint(i), "x")
	}
	if n := len(l.last); n > maxKeys {
		t.Errorf("%d keys remembered, want at most %d", n, maxKeys)
	}
}
