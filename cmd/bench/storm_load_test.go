package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A load process that cannot reach its broker says why and is gone before
// the phase's clock would start.
func TestLoadProcessReportsItsFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	l, err := startLoad(ctx, loadSpec{BrokerURL: "tcp://127.0.0.1:1", ClientPrefix: "t", Devices: []string{"g-00001"},
		Messages: 1, Clients: 1, Window: 1}, &stderr)
	if err == nil {
		l.stop()
		t.Fatal("started against a broker that is not there")
	}
	if !strings.Contains(err.Error(), "load process") || !strings.Contains(stderr.String(), "bench: load process:") {
		t.Errorf("error %q, its stderr %q", err, stderr.String())
	}
}

// The load process refuses a missing or malformed spec.
func TestLoadProcessRefusesABadSpec(t *testing.T) {
	if err := runLoad(strings.NewReader(""), &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "no spec") {
		t.Errorf("no spec: %v", err)
	}
	if err := runLoad(strings.NewReader("{not json\n"), &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "spec") {
		t.Errorf("a bad spec: %v", err)
	}
}
