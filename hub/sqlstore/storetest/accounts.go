package storetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
)

func testUsers(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	fixClock(t, s, t0)

	if n, err := s.CountUsers(ctx(t)); err != nil || n != 0 {
		t.Fatalf("CountUsers on a new store = %d, %v", n, err)
	}
	admin, err := s.CreateUser(ctx(t), "admin", accounts.RoleAdmin, "pw-hash")
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if admin.ID == 0 || admin.Username != "admin" || admin.Role != accounts.RoleAdmin || !admin.CreatedAt.Equal(t0) {
		t.Errorf("CreateUser returned %+v", admin)
	}
	op, err := s.CreateUser(ctx(t), "duty1", accounts.RoleOperator, "pw2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUser(ctx(t), "admin", accounts.RoleOperator, "x")
	wantCode(t, err, shouwang.ECONFLICT)
	_, err = s.CreateUser(ctx(t), "x", "janitor", "x")
	wantCode(t, err, shouwang.EINVALID)
	_, err = s.CreateUser(ctx(t), "", accounts.RoleAdmin, "x")
	wantCode(t, err, shouwang.EINVALID)

	u, hash, err := s.UserByName(ctx(t), "admin")
	if err != nil || !reflect.DeepEqual(u, admin) || hash != "pw-hash" {
		t.Errorf("UserByName = %+v, %q, %v", u, hash, err)
	}
	_, _, err = s.UserByName(ctx(t), "nobody")
	wantCode(t, err, shouwang.ENOTFOUND)
	if u, err := s.UserByID(ctx(t), op.ID); err != nil || !reflect.DeepEqual(u, op) {
		t.Errorf("UserByID = %+v, %v", u, err)
	}
	_, err = s.UserByID(ctx(t), 999)
	wantCode(t, err, shouwang.ENOTFOUND)

	list, err := s.ListUsers(ctx(t))
	if err != nil || len(list) != 2 || list[0].Username != "admin" || list[1].Username != "duty1" {
		t.Errorf("ListUsers = %+v, %v", list, err)
	}
	if n, err := s.CountUsers(ctx(t)); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v", n, err)
	}

	if err := s.SetUserPassword(ctx(t), op.ID, "pw3", ""); err != nil {
		t.Fatal(err)
	}
	if _, hash, _ := s.UserByName(ctx(t), "duty1"); hash != "pw3" {
		t.Errorf("password hash after SetUserPassword = %q", hash)
	}
	wantCode(t, s.SetUserPassword(ctx(t), 999, "x", ""), shouwang.ENOTFOUND)
	wantCode(t, s.SetUserPassword(ctx(t), op.ID, "", ""), shouwang.EINVALID)
}

func testTokens(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	advance := fixClock(t, s, t0)

	u, err := s.CreateUser(ctx(t), "duty1", accounts.RoleOperator, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenSession, "browser", "sess-hash", t0.Add(12*time.Hour)); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenAPI, "cli", "api-hash", time.Time{}); err != nil {
		t.Fatalf("CreateToken without expiry: %v", err)
	}
	wantCode(t, s.CreateToken(ctx(t), u.ID, accounts.TokenAPI, "dup", "api-hash", time.Time{}), shouwang.ECONFLICT)
	wantCode(t, s.CreateToken(ctx(t), 999, accounts.TokenAPI, "x", "orphan", time.Time{}), shouwang.ENOTFOUND)
	wantCode(t, s.CreateToken(ctx(t), u.ID, "magic", "x", "h", time.Time{}), shouwang.EINVALID)

	got, kind, err := s.UserByToken(ctx(t), "sess-hash", t0.Add(time.Hour))
	if err != nil || got.ID != u.ID || kind != accounts.TokenSession {
		t.Fatalf("UserByToken(session) = %+v, %q, %v", got, kind, err)
	}
	// Expiry: at and after expires_at the token is dead.
	_, _, err = s.UserByToken(ctx(t), "sess-hash", t0.Add(12*time.Hour))
	wantCode(t, err, shouwang.ENOTFOUND)
	if _, kind, err := s.UserByToken(ctx(t), "api-hash", t0.Add(10*365*24*time.Hour)); err != nil || kind != accounts.TokenAPI {
		t.Errorf("token without expiry: %q, %v", kind, err)
	}
	_, _, err = s.UserByToken(ctx(t), "never-issued", t0)
	wantCode(t, err, shouwang.ENOTFOUND)

	// Creating a token sweeps expired ones away.
	advance(13 * time.Hour)
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenSession, "browser", "sess2", t0.Add(20*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// (Were it still stored, its hash could not be issued again.)
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenSession, "browser", "sess-hash", t0.Add(20*time.Hour)); err != nil {
		t.Errorf("expired token still stored: %v", err)
	}
	must(t, s.DeleteToken(ctx(t), "sess-hash"))

	// Logout.
	if err := s.DeleteToken(ctx(t), "sess2"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx(t), "sess2", t0.Add(14*time.Hour))
	wantCode(t, err, shouwang.ENOTFOUND)
	wantCode(t, s.DeleteToken(ctx(t), "sess2"), shouwang.ENOTFOUND)

	// Deleting the user deletes its tokens (ON DELETE CASCADE), and no
	// other user's.
	other, err := s.CreateUser(ctx(t), "duty2", accounts.RoleOperator, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), other.ID, accounts.TokenAPI, "cli", "other-api", time.Time{}); err != nil {
		t.Fatal(err)
	}
	del, ok := s.(interface {
		DeleteUser(ctx context.Context, id int64) error
	})
	if !ok {
		t.Fatalf("%T has no DeleteUser", s)
	}
	if err := del.DeleteUser(ctx(t), u.ID); err != nil {
		t.Fatal(err)
	}
	if got := tokenHashes(t, s); len(got) != 1 || got[0] != "other-api" {
		t.Errorf("tokens left after deleting duty1 = %q, want only duty2's", got)
	}
	wantCode(t, del.DeleteUser(ctx(t), u.ID), shouwang.ENOTFOUND)
}

func testTouchToken(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	fixClock(t, s, t0)
	u, err := s.CreateUser(ctx(t), "duty1", accounts.RoleOperator, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenSession, "browser", "sess", t0.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx(t), u.ID, accounts.TokenAPI, "cli", "forever", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// expiresAt finds when a token stops working: the last millisecond it
	// works is one before (nil: it works in a hundred years).
	expiresAt := func(hash string) *int64 {
		t.Helper()
		works := func(at time.Time) bool { _, _, err := s.UserByToken(ctx(t), hash, at); return err == nil }
		if works(t0.Add(100 * 365 * 24 * time.Hour)) {
			return nil
		}
		for _, cand := range []time.Time{t0.Add(12 * time.Hour), t0.Add(23 * time.Hour)} {
			if works(cand.Add(-time.Millisecond)) && !works(cand) {
				ms := cand.UnixMilli()
				return &ms
			}
		}
		ms := int64(-1)
		return &ms
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
	wantCode(t, s.TouchToken(ctx(t), "sess", at.Add(12*time.Hour), at.Add(24*time.Hour)), shouwang.ENOTFOUND)
	if got := expiresAt("sess"); got == nil || *got != at.Add(12*time.Hour).UnixMilli() {
		t.Errorf("expired token touched: expires_at = %v", got)
	}
	wantCode(t, s.TouchToken(ctx(t), "never-issued", at, at.Add(time.Hour)), shouwang.ENOTFOUND)
}

// tokenNames are every token hash the account tests issue.
var tokenNames = []string{"a-api", "a-sess", "api-hash", "b-api", "b-api2", "b-new", "b-sess", "other-api", "sess-hash", "sess2"}

// tokenHashes returns which of the tokens the tests issue work a minute
// after t0, sorted: the tokens stored, where no user is disabled.
func tokenHashes(t *testing.T, s accounts.Store) []string {
	t.Helper()
	var hs []string
	for _, h := range tokenNames {
		_, _, err := s.UserByToken(ctx(t), h, t0.Add(time.Minute))
		switch {
		case err == nil:
			hs = append(hs, h)
		case shouwang.ErrorCode(err) != shouwang.ENOTFOUND:
			t.Fatalf("UserByToken(%s): %v", h, err)
		}
	}
	return hs
}

// accountsWithTokens makes users a and b, each with a browser session and
// an API token, and returns their ids.
func accountsWithTokens(t *testing.T, s accounts.Store, expires time.Time) (a, b int64) {
	t.Helper()
	for _, name := range []string{"a", "b"} {
		u, err := s.CreateUser(ctx(t), name, accounts.RoleOperator, "pw-"+name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx(t), u.ID, accounts.TokenSession, "browser", name+"-sess", expires); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx(t), u.ID, accounts.TokenAPI, "cli", name+"-api", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if name == "a" {
			a = u.ID
		} else {
			b = u.ID
		}
	}
	return a, b
}

// TestSetUserPasswordEndsTokens checks that a password reset deletes every
// session and API token of that user, and nobody else's, and that users
// changing their own password keep the one token they did it with.
func testSetUserPasswordEndsTokens(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	fixClock(t, s, t0)
	a, b := accountsWithTokens(t, s, t0.Add(12*time.Hour))

	// An admin resets b's password: all b's tokens end.
	if err := s.SetUserPassword(ctx(t), b, "new-b", ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"b-sess", "b-api"} {
		_, _, err := s.UserByToken(ctx(t), h, t0.Add(time.Minute))
		wantCode(t, err, shouwang.ENOTFOUND)
	}
	if got := tokenHashes(t, s); !slices.Equal(got, []string{"a-api", "a-sess"}) {
		t.Errorf("tokens after resetting b's password = %q, want a's two", got)
	}
	if _, hash, _ := s.UserByName(ctx(t), "b"); hash != "new-b" {
		t.Errorf("b's password hash = %q", hash)
	}

	// a changes their own password from their browser session: the API
	// token ends, the session stays.
	if err := s.SetUserPassword(ctx(t), a, "new-a", "a-sess"); err != nil {
		t.Fatal(err)
	}
	if got := tokenHashes(t, s); !slices.Equal(got, []string{"a-sess"}) {
		t.Errorf("tokens after a changed their own password = %q, want a's session only", got)
	}
	if u, _, err := s.UserByToken(ctx(t), "a-sess", t0.Add(time.Minute)); err != nil || u.ID != a {
		t.Errorf("the session a changed their password from: %+v, %v", u, err)
	}

	// Another user's token named as the one to keep protects nothing of
	// theirs, and does not end theirs either.
	if err := s.CreateToken(ctx(t), b, accounts.TokenAPI, "cli", "b-api2", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserPassword(ctx(t), a, "newer-a", "b-api2"); err != nil {
		t.Fatal(err)
	}
	if got := tokenHashes(t, s); !slices.Equal(got, []string{"b-api2"}) {
		t.Errorf("tokens after a reset naming b's token to keep = %q, want b's token only", got)
	}

	// A refused reset changes nothing.
	wantCode(t, s.SetUserPassword(ctx(t), 999, "x", ""), shouwang.ENOTFOUND)
	if got := tokenHashes(t, s); !slices.Equal(got, []string{"b-api2"}) {
		t.Errorf("tokens after a reset of nobody = %q", got)
	}
}

// TestSetUserDisabledEndsTokens checks that disabling an account deletes
// its tokens, and nobody else's, so enabling it again does not bring them
// back.
func testSetUserDisabledEndsTokens(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	fixClock(t, s, t0)
	_, b := accountsWithTokens(t, s, t0.Add(12*time.Hour))

	if err := s.SetUserDisabled(ctx(t), b, true); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx(t), b); !u.Disabled {
		t.Error("user not marked disabled")
	}
	if got := tokenHashes(t, s); !slices.Equal(got, []string{"a-api", "a-sess"}) {
		t.Errorf("tokens after disabling b = %q, want a's two", got)
	}
	if err := s.SetUserDisabled(ctx(t), b, false); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx(t), b); u.Disabled {
		t.Error("user still disabled after enabling")
	}
	for _, h := range []string{"b-sess", "b-api"} {
		_, _, err := s.UserByToken(ctx(t), h, t0.Add(time.Minute))
		wantCode(t, err, shouwang.ENOTFOUND)
	}
	// A token made after enabling works.
	if err := s.CreateToken(ctx(t), b, accounts.TokenAPI, "cli", "b-new", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.UserByToken(ctx(t), "b-new", t0.Add(time.Minute)); err != nil || u.ID != b {
		t.Errorf("a new token of the re-enabled user: %+v, %v", u, err)
	}
	// Even a token the store still held for a disabled user (as one stored
	// by a login racing the disable) does not authenticate.
	must(t, s.SetUserDisabled(ctx(t), b, true))
	must(t, s.CreateToken(ctx(t), b, accounts.TokenAPI, "cli", "b-new", time.Time{}))
	_, _, err := s.UserByToken(ctx(t), "b-new", t0.Add(time.Minute))
	wantCode(t, err, shouwang.ENOTFOUND)
	wantCode(t, s.SetUserDisabled(ctx(t), 999, true), shouwang.ENOTFOUND)
}

// testUserProfile: a grid worker's phone and grids are kept and read back by
// every way of finding the user; a bad profile is refused whole.
func testUserProfile(t *testing.T, open func(*testing.T) accounts.Store) {
	s := open(t)
	gw, err := s.CreateUser(ctx(t), "网格员李敏", accounts.RoleGridWorker, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if gw.Phone != "" || gw.Grids != nil {
		t.Errorf("a new user has a profile: %+v", gw.Profile)
	}
	p := accounts.Profile{Phone: "138-0000-1111", Grids: []devices.GridRef{{Community: "阳光社区", Grid: "网格一"}, {Community: "月季社区", Grid: "网格一"}}}
	if err := s.SetUserProfile(ctx(t), gw.ID, p); err != nil {
		t.Fatal(err)
	}
	byName, _, err := s.UserByName(ctx(t), "网格员李敏")
	if err != nil || !reflect.DeepEqual(byName.Profile, p) || byName.Role != accounts.RoleGridWorker {
		t.Errorf("UserByName = %+v, %v; want profile %+v", byName, err, p)
	}
	byID, err := s.UserByID(ctx(t), gw.ID)
	if err != nil || !reflect.DeepEqual(byID.Profile, p) {
		t.Errorf("UserByID = %+v, %v", byID, err)
	}
	list, err := s.ListUsers(ctx(t))
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0].Profile, p) {
		t.Errorf("ListUsers = %+v, %v", list, err)
	}
	if err := s.CreateToken(ctx(t), gw.ID, accounts.TokenSession, "phone", "tok-gw", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if u, _, err := s.UserByToken(ctx(t), "tok-gw", t0); err != nil || !reflect.DeepEqual(u.Profile, p) {
		t.Errorf("UserByToken = %+v, %v", u, err)
	}
	for name, bad := range map[string]accounts.Profile{
		"grid without community": {Grids: []devices.GridRef{{Grid: "网格一"}}},
		"grid given twice":       {Grids: []devices.GridRef{p.Grids[0], p.Grids[0]}},
		"phone too long":         {Phone: strings.Repeat("1", 33)},
	} {
		wantCode(t, s.SetUserProfile(ctx(t), gw.ID, bad), shouwang.EINVALID)
		if u, _ := s.UserByID(ctx(t), gw.ID); !reflect.DeepEqual(u.Profile, p) {
			t.Errorf("%s: the refused profile changed it to %+v", name, u.Profile)
		}
	}
	wantCode(t, s.SetUserProfile(ctx(t), 999, p), shouwang.ENOTFOUND)
	if err := s.SetUserProfile(ctx(t), gw.ID, accounts.Profile{}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.UserByID(ctx(t), gw.ID); u.Phone != "" || len(u.Grids) != 0 {
		t.Errorf("after clearing: %+v", u.Profile)
	}
}
