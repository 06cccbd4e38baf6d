package console

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
)

func TestStatusOf(t *testing.T) {
	for code, status := range map[string]int{
		shouwang.EINVALID: 400, shouwang.EUNAUTHORIZED: 401, shouwang.EFORBIDDEN: 403,
		shouwang.ENOTFOUND: 404, shouwang.ECONFLICT: 409, shouwang.EINTERNAL: 500,
		eTooLarge: 413, eUnsupportedMedia: 415, eRateLimited: 429, eMethodNotAllowed: 405,
		"something new": 500,
	} {
		if got := statusOf(code); got != status {
			t.Errorf("statusOf(%q) = %d, want %d", code, got, status)
		}
	}
	if statusOf(shouwang.ErrorCode(fmt.Errorf("wrapped: %w", shouwang.Errorf(shouwang.ECONFLICT, "x")))) != http.StatusConflict {
		t.Error("wrapped domain error lost its code")
	}
}

func TestThrottleIsBounded(t *testing.T) {
	th := newLoginThrottle()
	now := time.Unix(1_700_000_000, 0)
	for i := range maxThrottled + 500 {
		if _, ok := th.attempt(fmt.Sprintf("user%d", i), now); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if n := th.size(); n > maxThrottled {
		t.Fatalf("throttle tracks %d usernames, more than %d", n, maxThrottled)
	}
	// Once their windows have passed, old entries make room without evicting
	// a fresh, locked one.
	later := now.Add(loginWindow)
	for range maxLoginFailures {
		th.attempt("target", later)
	}
	for i := range 100 {
		th.attempt(fmt.Sprintf("other%d", i), later)
	}
	if _, ok := th.attempt("target", later); ok {
		t.Error("locked username was evicted by new ones")
	}
	if n := th.size(); n > maxThrottled {
		t.Fatalf("throttle tracks %d usernames", n)
	}
}
