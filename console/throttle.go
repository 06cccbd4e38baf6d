package console

import (
	"strings"
	"sync"
	"time"
)

// Login throttling: after maxLoginFailures attempts for one username within
// loginWindow, further attempts are refused for loginLockout.
const (
	maxLoginFailures = 5
	loginWindow      = 15 * time.Minute
	loginLockout     = 15 * time.Minute
	maxThrottled     = 10_000 // usernames tracked at once
)

// loginThrottle counts login attempts per username, in memory. Attempts are
// counted as failures when they start and forgiven on success, so parallel
// guesses cannot slip past the limit while passwords are being checked.
type loginThrottle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	windowStart time.Time
	failures    int
	lockedUntil time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{entries: make(map[string]*throttleEntry)}
}

func throttleKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

// attempt records a login attempt for username. It reports false, and how
// long to wait, if the username is locked out.
func (t *loginThrottle) attempt(username string, now time.Time) (wait time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := throttleKey(username)
	e := t.entries[key]
	if e != nil && now.Before(e.lockedUntil) {
		return e.lockedUntil.Sub(now), false
	}
	if e == nil || now.Sub(e.windowStart) >= loginWindow {
		if e == nil && len(t.entries) >= maxThrottled {
			t.makeRoom(now)
		}
		e = &throttleEntry{windowStart: now}
		t.entries[key] = e
	}
	e.failures++
	if e.failures >= maxLoginFailures {
		e.lockedUntil = now.Add(loginLockout)
	}
	return 0, true
}

// succeeded forgets username's failures.
func (t *loginThrottle) succeeded(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, throttleKey(username))
}

// makeRoom drops the entries that no longer matter and, if the map is still
// full, the one whose window started first. Someone cycling through
// maxThrottled usernames faster than a lockout can evict a locked one; each
// of those attempts costs a password hash, which bounds the rate.
func (t *loginThrottle) makeRoom(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, e := range t.entries {
		if now.Sub(e.windowStart) >= loginWindow && !now.Before(e.lockedUntil) {
			delete(t.entries, k)
			continue
		}
		if oldestKey == "" || e.windowStart.Before(oldest) {
			oldestKey, oldest = k, e.windowStart
		}
	}
	if len(t.entries) >= maxThrottled {
		delete(t.entries, oldestKey)
	}
}

// size returns the number of usernames tracked; for tests.
func (t *loginThrottle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
