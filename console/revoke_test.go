package console_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

// apiLogin logs in for an API token and returns it.
func apiLogin(t *testing.T, e *consoletest.Env, user, pw string) string {
	t.Helper()
	r := do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"` + user + `","password":"` + pw + `"}`})
	var out struct {
		Token string `json:"token"`
	}
	if r.status != http.StatusOK {
		t.Fatalf("login as %s: %d %s", user, r.status, r.body)
	}
	if r.decode(t, &out); out.Token == "" {
		t.Fatalf("login as %s gave no token: %s", user, r.body)
	}
	return out.Token
}

// TestPasswordResetEndsSessions checks that when an admin resets a user's
// password, every browser session and API token the user had stops working
// at once, while the admin's and everyone else's go on; and that the user
// logs in with the new password only.
func TestPasswordResetEndsSessions(t *testing.T) {
	e := consoletest.Start(t)
	op, _, _ := e.Accounts.UserByName(context.Background(), "operator")
	victim := loginBrowser(t, e, "operator", "pw-operator", nil)
	victimToken := apiLogin(t, e, "operator", "pw-operator")
	admin := loginBrowser(t, e, "admin", "pw-admin", nil)

	// Before: all of them work.
	for name, token := range map[string]string{"fixture token": tok(e, accounts.RoleOperator), "login token": victimToken} {
		if r := do(t, e, req{method: "GET", path: "/api/v1/me", token: token}); r.status != http.StatusOK {
			t.Fatalf("operator's %s before the reset: %d %s", name, r.status, r.body)
		}
	}
	if r := victim.do(t, breq{method: "GET", path: "/api/v1/me"}); r.status != http.StatusOK {
		t.Fatalf("operator's session before the reset: %d %s", r.status, r.body)
	}

	r := admin.do(t, breq{method: "POST", path: "/api/v1/users/" + itoa(op.ID) + "/password", body: `{"password":"a new secret"}`, csrf: admin.csrf})
	if r.status != http.StatusOK {
		t.Fatalf("reset the operator's password: %d %s", r.status, r.body)
	}

	victim.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	victim.do(t, breq{method: "POST", path: "/api/v1/logout", csrf: victim.csrf}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	for _, token := range []string{tok(e, accounts.RoleOperator), victimToken} {
		do(t, e, req{method: "GET", path: "/api/v1/alerts", token: token}).wantError(t, http.StatusUnauthorized, "unauthorized", "invalid or expired token")
	}
	// Nobody else's sessions or tokens ended.
	if r := admin.do(t, breq{method: "GET", path: "/api/v1/users"}); r.status != http.StatusOK {
		t.Errorf("the admin's session after the reset: %d %s", r.status, r.body)
	}
	for _, role := range []accounts.Role{accounts.RoleAdmin, accounts.RoleSupervisor, accounts.RoleInstaller} {
		if r := do(t, e, req{method: "GET", path: "/api/v1/me", token: tok(e, role)}); r.status != http.StatusOK {
			t.Errorf("%s's token after the operator's reset: %d %s", role, r.status, r.body)
		}
	}
	// The old password is refused, the new one works.
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"operator","password":"pw-operator","session":true}`}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
	fresh := loginBrowser(t, e, "operator", "a new secret", nil)
	if r := fresh.do(t, breq{method: "GET", path: "/api/v1/me"}); r.status != http.StatusOK {
		t.Errorf("a session with the new password: %d %s", r.status, r.body)
	}
	if token := apiLogin(t, e, "operator", "a new secret"); do(t, e, req{method: "GET", path: "/api/v1/me", token: token}).status != http.StatusOK {
		t.Error("a token from the new password does not work")
	}
}

// TestOwnPasswordChangeKeepsThisSession checks that admins who set their
// own password stay logged in where they did it, and only there.
func TestOwnPasswordChangeKeepsThisSession(t *testing.T) {
	e := consoletest.Start(t)
	self, _, _ := e.Accounts.UserByName(context.Background(), "admin")
	path := "/api/v1/users/" + itoa(self.ID) + "/password"
	here := loginBrowser(t, e, "admin", "pw-admin", nil)
	elsewhere := loginBrowser(t, e, "admin", "pw-admin", nil)

	// From a browser session: that session stays, the others end.
	if r := here.do(t, breq{method: "POST", path: path, body: `{"password":"second secret"}`, csrf: here.csrf}); r.status != http.StatusOK {
		t.Fatalf("change own password from a session: %d %s", r.status, r.body)
	}
	if r := here.do(t, breq{method: "GET", path: "/api/v1/users"}); r.status != http.StatusOK {
		t.Errorf("the session the change was made from: %d %s", r.status, r.body)
	}
	elsewhere.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	do(t, e, req{method: "GET", path: "/api/v1/me", token: tok(e, accounts.RoleAdmin)}).wantError(t, http.StatusUnauthorized, "unauthorized", "")

	// From an API token: that token stays, the session above ends.
	script := apiLogin(t, e, "admin", "second secret")
	other := apiLogin(t, e, "admin", "second secret")
	if r := do(t, e, req{method: "POST", path: path, token: script, body: `{"password":"third secret"}`}); r.status != http.StatusOK {
		t.Fatalf("change own password with a token: %d %s", r.status, r.body)
	}
	if r := do(t, e, req{method: "GET", path: "/api/v1/users", token: script}); r.status != http.StatusOK {
		t.Errorf("the token the change was made with: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/me", token: other}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	here.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	// Other accounts keep theirs.
	if r := do(t, e, req{method: "GET", path: "/api/v1/me", token: tok(e, accounts.RoleOperator)}); r.status != http.StatusOK {
		t.Errorf("the operator's token after the admin's own change: %d %s", r.status, r.body)
	}
}

// racyAccounts runs a hook once, just before or just after the next
// CreateToken: as a reset or a disable committing while a login is between
// its password check and storing its token.
type racyAccounts struct {
	*accountstest.Accounts
	mu            sync.Mutex
	before, after func()
}

func (a *racyAccounts) hooks() (before, after func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	before, after, a.before, a.after = a.before, a.after, nil, nil
	return before, after
}

func (a *racyAccounts) CreateToken(ctx context.Context, userID int64, kind accounts.TokenKind, name, hash string, expires time.Time) error {
	before, after := a.hooks()
	if before != nil {
		before()
	}
	err := a.Accounts.CreateToken(ctx, userID, kind, name, hash, expires)
	if after != nil {
		after()
	}
	return err
}

// TestLoginRacingAReset checks that a login which checked the old password
// just before a reset (or a disable) committed gets no token that outlives
// it, whichever side of the login's token write the change lands on.
func TestLoginRacingAReset(t *testing.T) {
	newHash, err := accounts.HashPassword("a new secret")
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(a *accountstest.Accounts, id int64){
		"reset": func(a *accountstest.Accounts, id int64) {
			if err := a.SetUserPassword(context.Background(), id, newHash, ""); err != nil {
				t.Error(err)
			}
		},
		"disable": func(a *accountstest.Accounts, id int64) {
			if err := a.SetUserDisabled(context.Background(), id, true); err != nil {
				t.Error(err)
			}
		},
	}
	for change, apply := range changes {
		for _, when := range []string{"before", "after"} {
			for _, session := range []bool{false, true} {
				name := change + " " + when + " the token is stored"
				if session {
					name += ", browser session"
				}
				t.Run(name, func(t *testing.T) {
					racy := &racyAccounts{}
					e := consoletest.Start(t, func(c *console.Config) {
						racy.Accounts = c.Accounts.(*accountstest.Accounts)
						c.Accounts = racy
					})
					op, _, _ := e.Accounts.UserByName(context.Background(), "operator")
					hook := func() { apply(e.Accounts, op.ID) }
					racy.mu.Lock()
					if when == "before" {
						racy.before = hook
					} else {
						racy.after = hook
					}
					racy.mu.Unlock()

					body := `{"username":"operator","password":"pw-operator"}`
					if session {
						body = `{"username":"operator","password":"pw-operator","session":true}`
					}
					r := do(t, e, req{method: "POST", path: "/api/v1/login", body: body})
					r.wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
					if len(r.header.Values("Set-Cookie")) != 0 {
						t.Errorf("the refused login set a cookie: %q", r.header.Values("Set-Cookie"))
					}
					// The fixture's four tokens, less the operator's.
					if n := e.Accounts.Tokens(); n != 3 {
						t.Errorf("%d tokens stored after the race, want 3: the login's token survived", n)
					}
				})
			}
		}
	}
}
