package sqlstore

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestUsers(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	fixClock(s, t0)

	if n, err := s.CountUsers(ctx(t)); err != nil || n != 0 {
		t.Fatalf("CountUsers on a new store = %d, %v", n, err)
	}
	admin, err := s.CreateUser(ctx(t), "admin", console.RoleAdmin, "pw-hash")
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if admin.ID == 0 || admin.Username != "admin" || admin.Role != console.RoleAdmin || !admin.CreatedAt.Equal(t0) {
		t.Errorf("CreateUser returned %+v", admin)
	}
	op, err := s.CreateUser(ctx(t), "duty1", console.RoleOperator, "pw2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUser(ctx(t), "admin", console.RoleOperator, "x")
	wantCode(t, err, devices.ECONFLICT)
	_, err = s.CreateUser(ctx(t), "x", "janitor", "x")
	wantCode(t, err, devices.EINVALID)
	_, err = s.CreateUser(ctx(t), "", console.RoleAdmin, "x")
	wantCode(t, err, devices.EINVALID)

	u, hash, err := s.UserByName(ctx(t), "admin")
	if err != nil || *u != *admin || hash != "pw-hash" {
		t.Errorf("UserByName = %+v, %q, %v", u, hash, err)
	}
	_, _, err = s.UserByName(ctx(t), "nobody")
	wantCode(t, err, devices.ENOTFOUND)
	if u, err := s.UserByID(ctx(t), op.ID); err != nil || *u != *op {
		t.Errorf("UserByID = %+v, %v", u, err)
	}
	_, err = s.UserByID(ctx(t), 999)
	wantCode(t, err, devices.ENOTFOUND)

	list, err := s.ListUsers(ctx(t))
	if err != nil || len(list) != 2 || list[0].Username != "admin" || list[1].Username != "duty1" {
		t.Errorf("ListUsers = %+v, %v", list, err)
	}
	if n, err := s.CountUsers(ctx(t)); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v", n, err)
	}

	if err := s.SetUserPassword(ctx(t), op.ID, "pw3"); err != nil {
		t.Fatal(err)
	}
	if _, hash, _ := s.UserByName(ctx(t), "duty1"); hash != "pw3" {
		t.Errorf("password hash after SetUserPassword = %q", hash)
	}
	wantCode(t, s.SetUserPassword(ctx(t), 999, "x"), devices.ENOTFOUND)
}

func TestTokens(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	advance := fixClock(s, t0)

	u, err := s.CreateUser(ctx(t), "duty1", console.RoleOperator, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, console.TokenSession, "browser", "sess-hash", t0.Add(12*time.Hour)); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := s.CreateToken(ctx(t), u.ID, console.TokenAPI, "cli", "api-hash", time.Time{}); err != nil {
		t.Fatalf("CreateToken without expiry: %v", err)
	}
	wantCode(t, s.CreateToken(ctx(t), u.ID, console.TokenAPI, "dup", "api-hash", time.Time{}), devices.ECONFLICT)
	wantCode(t, s.CreateToken(ctx(t), 999, console.TokenAPI, "x", "orphan", time.Time{}), devices.ENOTFOUND)
	wantCode(t, s.CreateToken(ctx(t), u.ID, "magic", "x", "h", time.Time{}), devices.EINVALID)

	got, kind, err := s.UserByToken(ctx(t), "sess-hash", t0.Add(time.Hour))
	if err != nil || got.ID != u.ID || kind != console.TokenSession {
		t.Fatalf("UserByToken(session) = %+v, %q, %v", got, kind, err)
	}
	lastUsed := func(hash string) int64 {
		t.Helper()
		var ms *int64
		if err := s.db.r.QueryRow(`SELECT last_used_at FROM tokens WHERE token_hash = ?`, hash).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		if ms == nil {
			return 0
		}
		return *ms
	}
	if got := lastUsed("sess-hash"); got != t0.Add(time.Hour).UnixMilli() {
		t.Errorf("last_used_at = %d, want the time of use", got)
	}
	// Within a minute of the last record it is not written again.
	if _, _, err := s.UserByToken(ctx(t), "sess-hash", t0.Add(time.Hour+10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed("sess-hash"); got != t0.Add(time.Hour).UnixMilli() {
		t.Errorf("last_used_at rewritten within a minute: %d", got)
	}

	// Expiry: at and after expires_at the token is dead.
	_, _, err = s.UserByToken(ctx(t), "sess-hash", t0.Add(12*time.Hour))
	wantCode(t, err, devices.ENOTFOUND)
	if _, kind, err := s.UserByToken(ctx(t), "api-hash", t0.Add(10*365*24*time.Hour)); err != nil || kind != console.TokenAPI {
		t.Errorf("token without expiry: %q, %v", kind, err)
	}
	_, _, err = s.UserByToken(ctx(t), "never-issued", t0)
	wantCode(t, err, devices.ENOTFOUND)

	// Creating a token sweeps expired ones away.
	advance(13 * time.Hour)
	if err := s.CreateToken(ctx(t), u.ID, console.TokenSession, "browser", "sess2", t0.Add(20*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.r.QueryRow(`SELECT COUNT(*) FROM tokens WHERE token_hash = 'sess-hash'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("expired token still stored: %d, %v", n, err)
	}

	// A disabled user's tokens stop working, and work again when enabled.
	if err := s.SetUserDisabled(ctx(t), u.ID, true); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx(t), "api-hash", t0)
	wantCode(t, err, devices.ENOTFOUND)
	if u2, _ := s.UserByID(ctx(t), u.ID); !u2.Disabled {
		t.Error("user not marked disabled")
	}
	if err := s.SetUserDisabled(ctx(t), u.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserByToken(ctx(t), "api-hash", t0); err != nil {
		t.Errorf("token of re-enabled user: %v", err)
	}

	// Logout.
	if err := s.DeleteToken(ctx(t), "sess2"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx(t), "sess2", t0.Add(14*time.Hour))
	wantCode(t, err, devices.ENOTFOUND)
	wantCode(t, s.DeleteToken(ctx(t), "sess2"), devices.ENOTFOUND)

	// Deleting the user deletes its tokens (ON DELETE CASCADE).
	if err := s.DeleteUser(ctx(t), u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.db.r.QueryRow(`SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tokens left after deleting their user, %v", n, err)
	}
	wantCode(t, s.DeleteUser(ctx(t), u.ID), devices.ENOTFOUND)
}

func TestTouchToken(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	fixClock(s, t0)
	u, err := s.CreateUser(ctx(t), "duty1", console.RoleOperator, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, console.TokenSession, "browser", "sess", t0.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, console.TokenAPI, "cli", "forever", time.Time{}); err != nil {
		t.Fatal(err)
	}
	expiresAt := func(hash string) *int64 {
		t.Helper()
		var ms *int64
		if err := s.db.r.QueryRow(`SELECT expires_at FROM tokens WHERE token_hash = ?`, hash).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}

	// Eleven hours in, the session slides to twelve hours from then, and
	// outlives its first expiry.
	at := t0.Add(11 * time.Hour)
	if err := s.TouchToken(ctx(t), "sess", at, at.Add(12*time.Hour)); err != nil {
		t.Fatalf("TouchToken: %v", err)
	}
	if got := expiresAt("sess"); got == nil || *got != at.Add(12*time.Hour).UnixMilli() {
		t.Errorf("expires_at = %v, want %d", got, at.Add(12*time.Hour).UnixMilli())
	}
	if _, _, err := s.UserByToken(ctx(t), "sess", t0.Add(13*time.Hour)); err != nil {
		t.Errorf("session past its first expiry after a touch: %v", err)
	}
	// An earlier expiry does not shorten it.
	if err := s.TouchToken(ctx(t), "sess", at, at.Add(time.Hour)); err != nil {
		t.Fatalf("TouchToken with an earlier expiry: %v", err)
	}
	if got := expiresAt("sess"); got == nil || *got != at.Add(12*time.Hour).UnixMilli() {
		t.Errorf("expires_at shortened to %v", got)
	}
	// A token without expiry stays without one.
	if err := s.TouchToken(ctx(t), "forever", at, at.Add(12*time.Hour)); err != nil {
		t.Fatalf("TouchToken(no expiry): %v", err)
	}
	if got := expiresAt("forever"); got != nil {
		t.Errorf("token without expiry got one: %d", *got)
	}
	// An expired token is not revived; an unknown one is not found.
	wantCode(t, s.TouchToken(ctx(t), "sess", at.Add(12*time.Hour), at.Add(24*time.Hour)), devices.ENOTFOUND)
	if got := expiresAt("sess"); got == nil || *got != at.Add(12*time.Hour).UnixMilli() {
		t.Errorf("expired token touched: expires_at = %v", got)
	}
	wantCode(t, s.TouchToken(ctx(t), "never-issued", at, at.Add(time.Hour)), devices.ENOTFOUND)
}
