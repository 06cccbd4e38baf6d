package main

import (
	"testing"
	"time"
)

// TestCheckinsSmall runs the checkins scenario small against the real
// parts: every household whose door opened and closed is checked in
// before the window ends, and at its end exactly the others get one
// no_activity alert each. It asserts counts, never speed. (It waits for a
// whole minute of the clock: the window ends on one.)
func TestCheckinsSmall(t *testing.T) {
	ctx, env := startTestEnv(t)
	env.out = testLog{t}
	r, err := runCheckins(ctx, env, CheckinsOptions{Households: 2000, Overdue: 5, Clients: 2, Lead: 40 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, r.report())
	if r.Overdue != 100 || r.Alerts != 100 || r.Missing != 0 || r.Wrong != 0 {
		t.Errorf("%d overdue households, %d no_activity alerts, %d missing, %d wrong; want 100, 100, 0, 0", r.Overdue, r.Alerts, r.Missing, r.Wrong)
	}
	if r.CheckedIn != 1900 || r.Waiting != 100 {
		t.Errorf("before the window ended: %d checked in, %d waiting; want 1900 and 100", r.CheckedIn, r.Waiting)
	}
	if r.PlainMicrosPerMsg <= 0 || r.DoorMicrosPerMs <= 0 || r.RSSReadyMiB <= 0 {
		t.Errorf("hub CPU per reading %v / %v µs, RSS %v MiB: /proc not read", r.PlainMicrosPerMsg, r.DoorMicrosPerMs, r.RSSReadyMiB)
	}
}
