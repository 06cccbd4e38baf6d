package testenv

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing t after within. It is for
// conditions that nothing announces — a count in InfluxDB, a metric, a row,
// a counter another goroutine bumps — and is the one place the tests wait
// by polling; where an event exists, tests wait on it instead.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyState(t, within, what, func() (bool, string) { return cond(), "" })
}

// EventuallyState is Eventually for a cond that also describes what it
// saw, which the failure message quotes.
func EventuallyState(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	// A few milliseconds for unit tests' 10 s, tens for end-to-end minutes.
	pause := min(max(within/2000, time.Millisecond), 50*time.Millisecond)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				t.Fatalf("timed out after %v waiting for %s; last state: %s", within, what, state)
			}
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(pause)
	}
}
