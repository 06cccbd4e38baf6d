package console

import (
	"fmt"
	"testing"
	"time"
)

func TestCSRFToken(t *testing.T) {
	a, b := newToken(), newToken()
	if csrfToken(a) != csrfToken(a) {
		t.Fatal("a session's CSRF token changes")
	}
	if csrfToken(a) == csrfToken(b) {
		t.Fatal("two sessions share a CSRF token")
	}
	if csrfToken(a) == a || csrfToken(a) == tokenHash(a) {
		t.Fatal("the CSRF token gives away the session token or its stored hash")
	}
	if !validCSRF(a, csrfToken(a)) || validCSRF(a, csrfToken(b)) || validCSRF(a, "") || validCSRF(a, csrfToken(a)+"x") {
		t.Fatal("validCSRF accepts a wrong token or refuses the right one")
	}
	for m, unsafe := range map[string]bool{"GET": false, "HEAD": false, "OPTIONS": false, "TRACE": false, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "PROPFIND": true} {
		if unsafeMethod(m) != unsafe {
			t.Errorf("unsafeMethod(%s) = %v", m, !unsafe)
		}
	}
}

func TestRenewalsBounded(t *testing.T) {
	rn := newRenewals()
	t0 := time.Unix(1_700_000_000, 0)
	if !rn.due("a", t0) || rn.due("a", t0.Add(59*time.Second)) || !rn.due("a", t0.Add(time.Minute)) {
		t.Fatal("a session is not renewed once a minute")
	}
	if !rn.due("a", t0) {
		t.Error("a clock that went back does not renew")
	}
	// Full of fresh entries, the map is emptied rather than grown.
	rn = newRenewals()
	for i := range maxRenewals + 100 {
		rn.renewed(fmt.Sprintf("s%d", i), t0)
	}
	if n := rn.size(); n > maxRenewals {
		t.Fatalf("%d sessions remembered, more than %d", n, maxRenewals)
	}
	// Full of stale entries, those make room without dropping fresh ones.
	rn = newRenewals()
	for i := range maxRenewals - 1 {
		rn.renewed(fmt.Sprintf("s%d", i), t0)
	}
	later := t0.Add(time.Minute)
	rn.renewed("fresh", t0.Add(30*time.Second))
	for i := range 10 {
		rn.renewed(fmt.Sprintf("n%d", i), later)
	}
	if rn.due("fresh", later) {
		t.Error("a fresh entry was dropped to make room")
	}
	if n := rn.size(); n != 11 {
		t.Errorf("%d sessions remembered after the stale ones went, want 11", n)
	}
	rn.forget("fresh")
	if !rn.due("fresh", later) {
		t.Error("a forgotten session is not renewed at its next use")
	}
}
