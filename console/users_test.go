package console_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func TestUsersAPI(t *testing.T) {
	e := consoletest.Start(t)
	admin := tok(e, accounts.RoleAdmin)

	r := do(t, e, req{method: "GET", path: "/api/v1/users", token: admin})
	var list struct {
		Users []accounts.User `json:"users"`
	}
	r.decode(t, &list)
	if r.status != http.StatusOK || len(list.Users) != 4 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "pw-") {
		t.Fatalf("user list leaks password hashes: %s", r.body)
	}

	r = do(t, e, req{method: "POST", path: "/api/v1/users", token: admin, body: `{"username":"值班员1","role":"operator","password":"long enough"}`})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct {
		User accounts.User `json:"user"`
	}
	r.decode(t, &created)
	if created.User.ID == 0 || created.User.Username != "值班员1" || created.User.Role != accounts.RoleOperator {
		t.Errorf("created = %+v", created.User)
	}
	// The new account can log in, and its password is stored hashed.
	if r := do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"值班员1","password":"long enough"}`}); r.status != http.StatusOK {
		t.Fatalf("login as the new user: %d %s", r.status, r.body)
	}
	if _, hash, _ := e.Accounts.UserByName(context.Background(), "值班员1"); !strings.HasPrefix(hash, "$argon2id$") {
		t.Errorf("stored password %q is not an argon2id hash", hash)
	}

	for _, tt := range []struct {
		body   string
		status int
		code   string
		msg    string
	}{
		{`{"username":"x1","role":"janitor","password":"long enough"}`, 400, "invalid", `role "janitor": must be one of operator, supervisor, installer, admin`},
		{`{"username":"x1","password":"long enough"}`, 400, "invalid", `role "": must be one of`},
		{`{"username":"x1","role":"operator","password":"short"}`, 400, "invalid", "password: at least 8 characters"},
		{`{"username":"","role":"operator","password":"long enough"}`, 400, "invalid", "username: required"},
		{`{"username":"two words","role":"operator","password":"long enough"}`, 400, "invalid", "must not contain spaces"},
		{`{"username":"` + strings.Repeat("名", 65) + `","role":"operator","password":"long enough"}`, 400, "invalid", "longer than 64 characters"},
		{`{"username":"x1","role":"operator","password":"long enough","admin":true}`, 400, "invalid", `unknown field "admin"`},
		{`{"username":"operator","role":"admin","password":"long enough"}`, 409, "conflict", `user "operator" already exists`},
		{`{"username":"Operator","role":"admin","password":"long enough"}`, 409, "conflict", `user "operator" already exists`},
	} {
		do(t, e, req{method: "POST", path: "/api/v1/users", token: admin, body: tt.body}).wantError(t, tt.status, tt.code, tt.msg)
	}
	if n, _ := e.Accounts.CountUsers(context.Background()); n != 5 {
		t.Fatalf("%d users after refused creations, want 5", n)
	}

	// Reset a forgotten password.
	id := itoa(created.User.ID)
	do(t, e, req{method: "POST", path: "/api/v1/users/" + id + "/password", token: admin, body: `{"password":"short"}`}).
		wantError(t, http.StatusBadRequest, "invalid", "at least 8 characters")
	if r := do(t, e, req{method: "POST", path: "/api/v1/users/" + id + "/password", token: admin, body: `{"password":"a new secret"}`}); r.status != http.StatusOK {
		t.Fatalf("reset password: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"值班员1","password":"long enough"}`}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
	if r := do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"值班员1","password":"a new secret"}`}); r.status != http.StatusOK {
		t.Fatalf("login with the new password: %d %s", r.status, r.body)
	}

	// Ids that name nobody, or nothing.
	do(t, e, req{method: "POST", path: "/api/v1/users/999/disable", token: admin}).wantError(t, http.StatusNotFound, "not_found", "user 999 not found")
	do(t, e, req{method: "POST", path: "/api/v1/users/999/password", token: admin, body: `{"password":"a new secret"}`}).wantError(t, http.StatusNotFound, "not_found", "")
	do(t, e, req{method: "POST", path: "/api/v1/users/x/enable", token: admin}).wantError(t, http.StatusBadRequest, "invalid", `user id "x"`)

	// An admin cannot lock themselves out.
	self, _, _ := e.Accounts.UserByName(context.Background(), "admin")
	do(t, e, req{method: "POST", path: "/api/v1/users/" + itoa(self.ID) + "/disable", token: admin}).
		wantError(t, http.StatusConflict, "conflict", "cannot disable your own account")
}

func TestUsersAPIWithSession(t *testing.T) {
	e := consoletest.Start(t)
	b := loginBrowser(t, e, "admin", "pw-admin", nil)
	body := `{"username":"inst2","role":"installer","password":"long enough"}`
	b.do(t, breq{method: "POST", path: "/api/v1/users", body: body}).wantError(t, http.StatusForbidden, "forbidden", "missing or invalid CSRF token")
	if r := b.do(t, breq{method: "POST", path: "/api/v1/users", body: body, csrf: b.csrf}); r.status != http.StatusCreated {
		t.Fatalf("create with session and CSRF token: %d %s", r.status, r.body)
	}
	if r := b.do(t, breq{method: "GET", path: "/api/v1/users"}); r.status != http.StatusOK || !strings.Contains(string(r.body), `"inst2"`) {
		t.Fatalf("list with session: %d %s", r.status, r.body)
	}
}

// TestForbiddenActions checks what each role may not do, with tokens and
// with browser sessions.
func TestForbiddenActions(t *testing.T) {
	e := consoletest.Start(t)
	now := time.Now()
	e.Alerts.Add(alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", now)) // 1: new
	resolved := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-2", "青山", now)
	resolved.State = alerts.StateResolved
	e.Alerts.Add(resolved) // 2: resolved
	op, _, _ := e.Accounts.UserByName(context.Background(), "operator")
	newUser := `{"username":"x1","role":"admin","password":"long enough"}`

	tests := []struct {
		role accounts.Role
		rq   req
		msg  string
	}{
		{accounts.RoleInstaller, req{method: "POST", path: "/api/v1/alerts/1/accept"}, "role installer may not accept alerts"},
		{accounts.RoleInstaller, req{method: "POST", path: "/api/v1/alerts/1/note", body: `{"note":"x"}`}, "role installer may not note alerts"},
		{accounts.RoleInstaller, req{method: "POST", path: "/api/v1/alerts/2/close"}, "role installer may not close alerts"},
		{accounts.RoleOperator, req{method: "POST", path: "/api/v1/alerts/2/close"}, "role operator may not close alerts"},
		{accounts.RoleOperator, req{method: "POST", path: "/api/v1/devices", body: gasDevice}, "role operator"},
		{accounts.RoleSupervisor, req{method: "POST", path: "/api/v1/devices", body: gasDevice}, "role supervisor"},
		{accounts.RoleOperator, req{method: "GET", path: "/api/v1/devices/unregistered"}, "role operator"},
		{accounts.RoleOperator, req{method: "POST", path: "/api/v1/users", body: newUser}, "role operator"},
		{accounts.RoleSupervisor, req{method: "POST", path: "/api/v1/users", body: newUser}, "role supervisor"},
		{accounts.RoleInstaller, req{method: "POST", path: "/api/v1/users", body: newUser}, "role installer"},
		{accounts.RoleInstaller, req{method: "GET", path: "/api/v1/users"}, "role installer"},
		{accounts.RoleOperator, req{method: "GET", path: "/api/v1/users"}, "role operator"},
		{accounts.RoleSupervisor, req{method: "POST", path: "/api/v1/users/" + itoa(op.ID) + "/disable"}, "role supervisor"},
		{accounts.RoleInstaller, req{method: "POST", path: "/api/v1/users/" + itoa(op.ID) + "/password", body: `{"password":"long enough"}`}, "role installer"},
	}
	for _, tt := range tests {
		t.Run(string(tt.role)+" "+tt.rq.method+" "+tt.rq.path, func(t *testing.T) {
			tt.rq.token = tok(e, tt.role)
			do(t, e, tt.rq).wantError(t, http.StatusForbidden, "forbidden", tt.msg)
		})
	}
	// The same through browser sessions, with a valid CSRF token.
	sessions := map[accounts.Role]*browser{}
	for _, role := range []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleInstaller} {
		sessions[role] = loginBrowser(t, e, string(role), "pw-"+string(role), nil)
	}
	for _, tt := range tests {
		t.Run("session "+string(tt.role)+" "+tt.rq.method+" "+tt.rq.path, func(t *testing.T) {
			b := sessions[tt.role]
			b.do(t, breq{method: tt.rq.method, path: tt.rq.path, body: tt.rq.body, csrf: b.csrf}).wantError(t, http.StatusForbidden, "forbidden", tt.msg)
		})
	}
	if e.Registry.Len() != 0 || len(e.Alerts.Requests()) != 0 {
		t.Errorf("forbidden requests got through: %d devices, %d transitions", e.Registry.Len(), len(e.Alerts.Requests()))
	}
	if n, _ := e.Accounts.CountUsers(context.Background()); n != 4 {
		t.Errorf("forbidden requests created users: %d", n)
	}
	if u, _ := e.Accounts.UserByID(context.Background(), op.ID); u.Disabled {
		t.Error("a supervisor disabled a user")
	}

	// And what they may do, for contrast: a supervisor closes, an operator
	// accepts.
	if r := do(t, e, req{method: "POST", path: "/api/v1/alerts/2/close", token: tok(e, accounts.RoleSupervisor)}); r.status != http.StatusOK {
		t.Errorf("supervisor close: %d %s", r.status, r.body)
	}
	b := sessions[accounts.RoleOperator]
	if r := b.do(t, breq{method: "POST", path: "/api/v1/alerts/1/accept", csrf: b.csrf}); r.status != http.StatusOK {
		t.Errorf("operator accept with a session: %d %s", r.status, r.body)
	}
}

func TestNewRoutesNeedLogin(t *testing.T) {
	e := consoletest.Start(t)
	for _, rq := range []req{
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/api/v1/users"},
		{method: "POST", path: "/api/v1/users", body: `{"username":"x1","role":"admin","password":"long enough"}`},
		{method: "POST", path: "/api/v1/users/1/password", body: `{"password":"long enough"}`},
		{method: "POST", path: "/api/v1/users/1/disable"},
		{method: "POST", path: "/api/v1/users/1/enable"},
		{method: "GET", path: "/api/v1/devices/summary"},
	} {
		for name, token := range map[string]string{"no token": "", "bad token": "nope"} {
			t.Run(rq.method+" "+rq.path+" "+name, func(t *testing.T) {
				rq.token = token
				do(t, e, rq).wantError(t, http.StatusUnauthorized, "unauthorized", "")
			})
		}
	}
	if n, _ := e.Accounts.CountUsers(context.Background()); n != 4 {
		t.Errorf("unauthenticated requests created users: %d", n)
	}
}
