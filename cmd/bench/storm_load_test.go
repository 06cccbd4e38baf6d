package main

import (
	"bytes"
	"context"
	"flag"
	"os"
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

// TestStormLoadPolicyFlag: the load process runs under SCHED_IDLE unless
// -load-policy says normal; anything else is refused naming the flag.
func TestStormLoadPolicyFlag(t *testing.T) {
	saved := stormOpts
	t.Cleanup(func() { stormOpts = saved })
	if stormOpts.LoadPolicy != loadPolicyIdle {
		t.Errorf("default -load-policy %q; want idle", stormOpts.LoadPolicy)
	}
	fs := flag.NewFlagSet("bench storm", flag.ContinueOnError)
	stormFlags(fs, "storm")
	if err := fs.Parse([]string{"-load-policy", "normal"}); err != nil || stormOpts.LoadPolicy != loadPolicyNormal || stormOpts.validate() != nil {
		t.Errorf("-load-policy normal: %v, %q, validate %v", err, stormOpts.LoadPolicy, stormOpts.validate())
	}
	for _, bad := range []string{"fifo", ""} {
		stormOpts = saved
		var out, errs bytes.Buffer
		if code := run(context.Background(), []string{"storm", "-load-policy", bad}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "-load-policy") {
			t.Errorf("-load-policy %q: exit %d, %q; want 2 naming -load-policy", bad, code, errs.String())
		}
	}
	if err := setLoadPolicy("fifo"); err == nil || !strings.Contains(err.Error(), "fifo") {
		t.Errorf("setLoadPolicy(fifo): %v; want it refused", err)
	}
}

// TestPolicyOfThisProcess: the test process runs as it was started, and
// policyOf reads every thread.
func TestPolicyOfThisProcess(t *testing.T) {
	p, err := policyOf(os.Getpid())
	if err != nil || p != loadPolicyNormal {
		t.Errorf("policyOf(this test) = %q, %v; want normal", p, err)
	}
	if _, err := policyOf(-1); err == nil {
		t.Error("policyOf(-1): no error")
	}
}
