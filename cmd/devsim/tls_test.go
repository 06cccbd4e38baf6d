package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// -cafile names what cannot be read, for every command that takes it.
func TestCAFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca.crt")
	for _, args := range [][]string{
		{"run", "-cafile", missing},
		{"event", "-cafile", missing, "press", "sos-0001"},
		{"seed", "-server", "https://hub.lan:8443", "-token", "t", "-cafile", missing},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "-cafile") {
			t.Errorf("devsim %q: exit %d, stderr %q; want 1 naming -cafile", args, code, stderr.String())
		}
	}
	if tc, err := tlsConfig(""); tc != nil || err != nil {
		t.Errorf("no -cafile: %v, %v; want the system's CAs (nil)", tc, err)
	}
}
