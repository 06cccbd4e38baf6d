package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

func TestUsersCommands(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	admin := e.Tokens[accounts.RoleAdmin]
	as := func(stdin string, args ...string) result {
		return hubctl(t, e, stdin, append([]string{"-token", admin}, args...)...)
	}

	r := as("", "users", "list")
	r.want(t, 0, "USERNAME", "")
	for _, name := range []string{"admin", "installer", "operator", "supervisor"} {
		if !strings.Contains(r.stdout, name) {
			t.Errorf("users list does not show %s:\n%s", name, r.stdout)
		}
	}

	as("long enough\n", "users", "create", "-username", "duty2", "-role", "operator", "-password-stdin").want(t, 0, "Created user duty2 (operator)", "")
	hubctl(t, e, "long enough\n", "login", "-user", "duty2", "-password-stdin").want(t, 0, "as duty2 (operator)", "")

	as("long enough\n", "users", "create", "-username", "x", "-role", "janitor", "-password-stdin").want(t, 2, "", `-role "janitor"`)
	as("long enough\n", "users", "create", "-role", "operator", "-password-stdin").want(t, 2, "", "-username and -role are required")
	as("", "users", "create", "-username", "x", "-role", "operator").want(t, 2, "", "stdin is not a terminal")
	as("short\n", "users", "create", "-username", "x", "-role", "operator", "-password-stdin").want(t, 1, "", "at least 8 characters")
	as("long enough\n", "users", "create", "-username", "duty2", "-role", "admin", "-password-stdin").want(t, 1, "", `user "duty2" already exists`)
	hubctl(t, e, "long enough\n", "-token", e.Tokens[accounts.RoleOperator], "users", "create", "-username", "x", "-role", "admin", "-password-stdin").
		want(t, 1, "", "role operator may not do this")
	as("", "users", "frobnicate").want(t, 2, "", `unknown subcommand "frobnicate"`)

	as("", "users", "disable", "duty2").want(t, 0, "Disabled user duty2", "")
	if r := as("", "users", "list"); !strings.Contains(r.stdout, "disabled") {
		t.Errorf("list does not show duty2 disabled:\n%s", r.stdout)
	}
	hubctl(t, e, "long enough\n", "login", "-user", "duty2", "-password-stdin").want(t, 1, "", "wrong username or password")
	as("", "users", "disable", "admin").want(t, 1, "", "cannot disable your own account")
	as("", "users", "disable", "nobody").want(t, 1, "", `no user "nobody"`)
	as("", "users", "disable").want(t, 2, "", "missing USERNAME")

	u, _, _ := e.Accounts.UserByName(context.Background(), "duty2")
	as("", "users", "enable", strconv.FormatInt(u.ID, 10)).want(t, 0, "Enabled user duty2", "")
	// A reset ends the account's tokens; an admin resetting their own keeps
	// the one hubctl used, and only that.
	stolen := e.Accounts.AddToken(u.ID, "duty2-stolen")
	as("a new secret\n", "users", "reset-password", "duty2", "-password-stdin").want(t, 0, "Set a new password for duty2. Its sessions and tokens have ended", "")
	if _, _, ok := e.Accounts.TokenInfo(accountstest.TokenHash(stolen)); ok {
		t.Error("duty2's token outlived the password reset")
	}
	self, _, _ := e.Accounts.UserByName(context.Background(), "admin")
	otherAdmin := e.Accounts.AddToken(self.ID, "admin-elsewhere")
	as("admin secret\n", "users", "reset-password", "admin", "-password-stdin").want(t, 0, "Your other sessions and tokens have ended; this one still works", "")
	if _, _, ok := e.Accounts.TokenInfo(accountstest.TokenHash(otherAdmin)); ok {
		t.Error("the admin's other token outlived their own password change")
	}
	as("", "users", "list").want(t, 0, "duty2", "")
	as("short\n", "users", "reset-password", "duty2", "-password-stdin").want(t, 1, "", "at least 8 characters")
	hubctl(t, e, "long enough\n", "login", "-user", "duty2", "-password-stdin").want(t, 1, "", "wrong username or password")
	hubctl(t, e, "a new secret\n", "login", "-user", "duty2", "-password-stdin").want(t, 0, "as duty2 (operator)", "")

	r = as("", "users", "list", "-json")
	var lr struct {
		Users []accounts.User `json:"users"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &lr); err != nil || len(lr.Users) != 5 {
		t.Fatalf("users list -json: %v\n%s", err, r.stdout)
	}
}

func TestBootstrapAdmin(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("HUB_DB", "")
	t.Setenv("HUB_DATA_DIR", "")

	hubctl(t, nil, "short\n", "bootstrap-admin", "-data", dir).want(t, 1, "", "at least 8 characters")
	hubctl(t, nil, "", "bootstrap-admin", "-data", dir).want(t, 1, "", "no password on stdin")
	hubctl(t, nil, "first secret\n", "bootstrap-admin", "-data", dir).want(t, 0, `Created the account "admin"`, "")
	// Once there is an account it changes nothing.
	hubctl(t, nil, "other secret\n", "bootstrap-admin", "-data", dir).want(t, 0, "already has accounts; nothing changed", "")

	st, err := sqlstore.Open(filepath.Join(dir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, hash, err := st.UserByName(context.Background(), "admin")
	if err != nil || u.Role != accounts.RoleAdmin || !accounts.CheckPassword(hash, "first secret") {
		t.Fatalf("admin = %+v, %v; first password matches: %v", u, err, accounts.CheckPassword(hash, "first secret"))
	}
	if n, _ := st.CountUsers(context.Background()); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}

	// The account works through a console over that store: with hubctl's
	// token, and as a browser session.
	e := consoletest.Start(t, func(c *console.Config) { c.Accounts, c.Registry = st, st })
	hubctl(t, e, "first secret\n", "login", "-user", "admin", "-password-stdin").want(t, 0, "as admin (admin)", "")
	hubctl(t, e, "long enough\n", "users", "create", "-username", "duty1", "-role", "operator", "-password-stdin").want(t, 0, "Created user duty1", "")
	resp, err := http.Post(e.URL+"/api/v1/login", "application/json", strings.NewReader(`{"username":"duty1","password":"long enough","session":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sw_session" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("session login over the SQL store: %s, cookie %v", resp.Status, cookie)
	}
	rq, _ := http.NewRequest("GET", e.URL+"/api/v1/me", nil)
	rq.AddCookie(cookie)
	me, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	me.Body.Close()
	if me.StatusCode != http.StatusOK {
		t.Fatalf("/me with the session over the SQL store: %s", me.Status)
	}

	// -db and $HUB_DATA_DIR choose the store.
	other := filepath.Join(t.TempDir(), "other.db")
	hubctl(t, nil, "first secret\n", "bootstrap-admin", "-db", other).want(t, 0, "Created the account", "")
	envDir := t.TempDir()
	t.Setenv("HUB_DATA_DIR", envDir)
	hubctl(t, nil, "first secret\n", "bootstrap-admin").want(t, 0, filepath.Join(envDir, "hub.db"), "")
}
