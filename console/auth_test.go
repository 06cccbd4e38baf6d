package console_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

func TestAuthentication(t *testing.T) {
	e := consoletest.Start(t)
	u, _, err := e.Accounts.UserByName(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	expired := "expired-token"
	if err := e.Accounts.CreateToken(context.Background(), u.ID, accounts.TokenAPI, "old", accountstest.TokenHash(expired), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	routes := []req{
		{method: "POST", path: "/api/v1/logout"},
		{method: "GET", path: "/api/v1/devices"},
		{method: "POST", path: "/api/v1/devices", body: gasDevice},
		{method: "POST", path: "/api/v1/devices/import", contentType: "text/csv", body: "id,kind,community\n"},
		{method: "GET", path: "/api/v1/devices/unregistered"},
		{method: "GET", path: "/api/v1/devices/g-1"},
		{method: "PUT", path: "/api/v1/devices/g-1", body: gasDevice},
		{method: "DELETE", path: "/api/v1/devices/g-1"},
		{method: "POST", path: "/api/v1/devices/g-1/password"},
		{method: "GET", path: "/api/v1/devices/g-1/telemetry?field=lel"},
	}
	for _, rq := range routes {
		for name, token := range map[string]string{"no token": "", "bad token": "nope", "expired token": expired} {
			t.Run(rq.method+" "+rq.path+" "+name, func(t *testing.T) {
				rq.token = token
				do(t, e, rq).wantError(t, http.StatusUnauthorized, "unauthorized", "")
			})
		}
	}
	if e.Registry.Len() != 0 {
		t.Errorf("unauthenticated requests created %d devices", e.Registry.Len())
	}
}

func TestRoles(t *testing.T) {
	e := consoletest.Start(t)
	tests := []struct {
		rq    req
		role  accounts.Role
		allow bool
	}{
		{req{method: "POST", path: "/api/v1/devices", body: gasDevice}, accounts.RoleOperator, false},
		{req{method: "POST", path: "/api/v1/devices", body: gasDevice}, accounts.RoleSupervisor, false},
		{req{method: "POST", path: "/api/v1/devices", body: gasDevice}, accounts.RoleInstaller, true},
		{req{method: "GET", path: "/api/v1/devices"}, accounts.RoleOperator, true},
		{req{method: "GET", path: "/api/v1/devices/g-1"}, accounts.RoleSupervisor, true},
		{req{method: "GET", path: "/api/v1/devices/g-1/telemetry?field=lel"}, accounts.RoleOperator, true},
		{req{method: "GET", path: "/api/v1/devices/unregistered"}, accounts.RoleOperator, false},
		{req{method: "GET", path: "/api/v1/devices/unregistered"}, accounts.RoleInstaller, true},
		{req{method: "PUT", path: "/api/v1/devices/g-1", body: gasDevice}, accounts.RoleOperator, false},
		{req{method: "PUT", path: "/api/v1/devices/g-1", body: gasDevice}, accounts.RoleAdmin, true},
		{req{method: "POST", path: "/api/v1/devices/g-1/password"}, accounts.RoleSupervisor, false},
		{req{method: "POST", path: "/api/v1/devices/g-1/password"}, accounts.RoleAdmin, true},
		{req{method: "POST", path: "/api/v1/devices/import", contentType: "text/csv", body: "id,kind,community\ng-2,gas,c\n"}, accounts.RoleOperator, false},
		{req{method: "POST", path: "/api/v1/devices/import", contentType: "text/csv", body: "id,kind,community\ng-2,gas,c\n"}, accounts.RoleInstaller, true},
		{req{method: "DELETE", path: "/api/v1/devices/g-1"}, accounts.RoleOperator, false},
		{req{method: "DELETE", path: "/api/v1/devices/g-1"}, accounts.RoleInstaller, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+" "+tt.rq.method+" "+tt.rq.path, func(t *testing.T) {
			tt.rq.token = tok(e, tt.role)
			r := do(t, e, tt.rq)
			if !tt.allow {
				r.wantError(t, http.StatusForbidden, "forbidden", "role "+string(tt.role))
			} else if r.status >= 300 {
				t.Errorf("status = %d, want success; body %s", r.status, r.body)
			}
		})
	}
}

func TestLoginLogout(t *testing.T) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	tokensBefore := e.Accounts.Tokens()

	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"installer","password":"wrong"}`}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"nobody","password":"pw-installer"}`}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"installer","password":"pw-installer","remember":true}`}).
		wantError(t, http.StatusBadRequest, "invalid", `unknown field "remember"`)
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"installer"}`}).
		wantError(t, http.StatusBadRequest, "invalid", "username and password are required")
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"installer","password":"pw-installer"} {}`}).
		wantError(t, http.StatusBadRequest, "invalid", "more than one value")

	r := do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"installer","password":"pw-installer"}`})
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var lr struct {
		Token     string        `json:"token"`
		ExpiresAt time.Time     `json:"expires_at"`
		User      accounts.User `json:"user"`
	}
	r.decode(t, &lr)
	if len(lr.Token) != 43 {
		t.Errorf("token %q: want 43 base64url characters (32 bytes)", lr.Token)
	}
	if lr.User.Username != "installer" || lr.User.Role != accounts.RoleInstaller {
		t.Errorf("user = %+v", lr.User)
	}
	if want := clk.Now().Add(30 * 24 * time.Hour); !lr.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v", lr.ExpiresAt, want)
	}
	if got := e.Accounts.Tokens(); got != tokensBefore+1 {
		t.Fatalf("tokens = %d, want %d", got, tokensBefore+1)
	}
	// The store holds the token's hash, not the token.
	if _, _, err := e.Accounts.UserByToken(context.Background(), accountstest.TokenHash(lr.Token), clk.Now()); err != nil {
		t.Fatalf("token not stored by its SHA-256: %v", err)
	}

	if r := do(t, e, req{method: "GET", path: "/api/v1/devices", token: lr.Token}); r.status != http.StatusOK {
		t.Fatalf("list with the new token: %d %s", r.status, r.body)
	}
	if r := do(t, e, req{method: "POST", path: "/api/v1/logout", token: lr.Token}); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/devices", token: lr.Token}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "invalid or expired token")

	// A token stops working when it expires.
	r = do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"admin","password":"pw-admin"}`})
	r.decode(t, &lr)
	clk.Advance(30*24*time.Hour + time.Second)
	do(t, e, req{method: "GET", path: "/api/v1/devices", token: lr.Token}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "invalid or expired token")
}

func TestLoginThrottle(t *testing.T) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	login := func(user, pw string) response {
		return do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"` + user + `","password":"` + pw + `"}`})
	}

	// Failures forgiven by a success do not count.
	for range 4 {
		login("installer", "wrong").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
	if r := login("installer", "pw-installer"); r.status != http.StatusOK {
		t.Fatalf("login after 4 failures: %d %s", r.status, r.body)
	}
	for range 5 {
		login("installer", "wrong").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
	// The sixth attempt is refused, even with the right password.
	r := login("installer", "pw-installer")
	r.wantError(t, http.StatusTooManyRequests, "rate_limited", "too many failed logins")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 || s > 15*60 {
		t.Errorf("Retry-After = %q, want seconds up to 900", r.header.Get("Retry-After"))
	}
	// Case and spaces do not make a fresh username.
	login(" INSTALLER", "pw-installer").wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	// Other users are not affected.
	if r := login("admin", "pw-admin"); r.status != http.StatusOK {
		t.Fatalf("other user: %d %s", r.status, r.body)
	}

	clk.Advance(14 * time.Minute)
	login("installer", "pw-installer").wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	clk.Advance(time.Minute)
	if r := login("installer", "pw-installer"); r.status != http.StatusOK {
		t.Fatalf("after the lockout: %d %s", r.status, r.body)
	}

	// Failures spread wider than the window do not add up.
	for range 4 {
		login("operator", "wrong")
	}
	clk.Advance(15 * time.Minute)
	for range 4 {
		login("operator", "wrong").wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
	if r := login("operator", "pw-operator"); r.status != http.StatusOK {
		t.Fatalf("failures across windows: %d %s", r.status, r.body)
	}
}
