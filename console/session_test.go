package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// browser is a logged-in browser session: its cookie and CSRF token.
type browser struct {
	e      *consoletest.Env
	cookie string // the sw_session cookie's value
	csrf   string
	login  response
}

// breq is one request from a browser. csrf is sent as X-CSRF-Token when not
// empty; header adds more.
type breq struct {
	method, path, body string
	csrf               string
	header             map[string]string
}

// send makes a request with the given session cookie (none if empty).
func send(t *testing.T, e *consoletest.Env, cookie string, rq breq) response {
	t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	hr, err := http.NewRequest(rq.method, e.URL+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		hr.AddCookie(&http.Cookie{Name: "sw_session", Value: cookie})
	}
	if rq.csrf != "" {
		hr.Header.Set("X-CSRF-Token", rq.csrf)
	}
	for k, v := range rq.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.Client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// sessionCookie returns the sw_session cookie a response sets, if any.
func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.Name == "sw_session" {
			if found != nil {
				t.Fatalf("sw_session set twice: %q", r.header.Values("Set-Cookie"))
			}
			found = c
		}
	}
	return found
}

// loginBrowser logs user in for a browser session.
func loginBrowser(t *testing.T, e *consoletest.Env, user, pw string, header map[string]string) *browser {
	t.Helper()
	r := send(t, e, "", breq{method: "POST", path: "/api/v1/login", body: `{"username":"` + user + `","password":"` + pw + `","session":true}`, header: header})
	if r.status != http.StatusOK {
		t.Fatalf("session login as %s: %d %s", user, r.status, r.body)
	}
	c := sessionCookie(t, r)
	if c == nil || c.Value == "" {
		t.Fatalf("session login set no sw_session cookie: %q", r.header.Values("Set-Cookie"))
	}
	var body struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.decode(t, &body)
	if body.CSRFToken == "" {
		t.Fatalf("session login returned no csrf_token: %s", r.body)
	}
	return &browser{e: e, cookie: c.Value, csrf: body.CSRFToken, login: r}
}

// do sends rq with the browser's cookie; its CSRF token is not added unless
// rq.csrf says so.
func (b *browser) do(t *testing.T, rq breq) response {
	t.Helper()
	return send(t, b.e, b.cookie, rq)
}

func TestSessionLogin(t *testing.T) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	b := loginBrowser(t, e, "operator", "pw-operator", nil)

	c := sessionCookie(t, b.login)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/ and not Secure over plain HTTP", c.String())
	}
	if c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("cookie %q: want a browser-session cookie (the store keeps the expiry)", c.String())
	}
	m := b.login.json(t)
	if _, ok := m["token"]; ok {
		t.Errorf("a session login put the token in the body, where scripts can read it: %s", b.login.body)
	}
	var lr struct {
		User      accounts.User `json:"user"`
		ExpiresAt time.Time     `json:"expires_at"`
	}
	b.login.decode(t, &lr)
	if lr.User.Username != "operator" || lr.User.Role != accounts.RoleOperator {
		t.Errorf("user = %+v", lr.User)
	}
	if want := clk.Now().Add(12 * time.Hour); !lr.ExpiresAt.Equal(want) {
		t.Errorf("expires_at = %v, want %v (12 h)", lr.ExpiresAt, want)
	}
	// Stored as a session token, by its hash.
	kind, expires, ok := e.Accounts.TokenInfo(accountstest.TokenHash(b.cookie))
	if !ok || kind != accounts.TokenSession || !expires.Equal(lr.ExpiresAt) {
		t.Errorf("stored token: ok=%v kind=%q expires=%v", ok, kind, expires)
	}

	// /me tells the page who it is and repeats the CSRF token.
	r := b.do(t, breq{method: "GET", path: "/api/v1/me"})
	if r.status != http.StatusOK {
		t.Fatalf("/me: %d %s", r.status, r.body)
	}
	var me struct {
		User      accounts.User `json:"user"`
		CSRFToken string        `json:"csrf_token"`
	}
	r.decode(t, &me)
	if me.User.Username != "operator" || me.User.Role != accounts.RoleOperator || me.CSRFToken != b.csrf {
		t.Errorf("/me = %s; login's csrf_token %q", r.body, b.csrf)
	}
	send(t, e, "", breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "authentication required")
	send(t, e, "forged", breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	// With a token, /me names the user and has no CSRF token to give.
	r = do(t, e, req{method: "GET", path: "/api/v1/me", token: tok(e, accounts.RoleAdmin)})
	if m := r.json(t); r.status != http.StatusOK || m["csrf_token"] != nil || m["user"].(map[string]any)["username"] != "admin" {
		t.Errorf("/me with a token: %d %s", r.status, r.body)
	}

	// X-Forwarded-Proto from a peer that is not a trusted proxy means
	// nothing (transport_test.go has the trusted case).
	b2 := loginBrowser(t, e, "admin", "pw-admin", map[string]string{"X-Forwarded-Proto": "https"})
	if c := sessionCookie(t, b2.login); c.Secure {
		t.Errorf("cookie %q: an untrusted peer's X-Forwarded-Proto made it Secure", c.String())
	}
	// Each session has its own CSRF token.
	if b2.csrf == b.csrf {
		t.Error("two sessions share a CSRF token")
	}
}

func TestSessionCookieSecureUnderTLS(t *testing.T) {
	e := consoletest.StartTLS(t)
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	if c := sessionCookie(t, b.login); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie over TLS %q: want Secure, HttpOnly, SameSite=Strict", c.String())
	}
	if r := b.do(t, breq{method: "GET", path: "/api/v1/me"}); r.status != http.StatusOK {
		t.Errorf("/me over TLS: %d %s", r.status, r.body)
	}
}

func TestCSRF(t *testing.T) {
	e := consoletest.Start(t)
	b := loginBrowser(t, e, "installer", "pw-installer", nil)
	other := loginBrowser(t, e, "admin", "pw-admin", nil)
	create := func(id string) breq {
		return breq{method: "POST", path: "/api/v1/devices", body: strings.Replace(gasDevice, `"g-1"`, `"`+id+`"`, 1)}
	}

	for name, rq := range map[string]breq{
		"no token":                 create("x-1"),
		"wrong token":              {method: "POST", path: "/api/v1/devices", body: gasDevice, csrf: "AAAA" + b.csrf[4:]},
		"another session's token":  {method: "POST", path: "/api/v1/devices", body: gasDevice, csrf: other.csrf},
		"token in the query":       {method: "POST", path: "/api/v1/devices?csrf_token=" + b.csrf, body: gasDevice},
		"delete without token":     {method: "DELETE", path: "/api/v1/devices/g-1"},
		"import without token":     {method: "POST", path: "/api/v1/devices/import", body: "id,kind,community\ng-2,gas,c\n", header: map[string]string{"Content-Type": "text/csv"}},
		"put with the cookie only": {method: "PUT", path: "/api/v1/devices/g-1", body: gasDevice},
	} {
		t.Run(name, func(t *testing.T) {
			b.do(t, rq).wantError(t, http.StatusForbidden, "forbidden", "missing or invalid CSRF token")
		})
	}
	if n := e.Registry.Len(); n != 0 {
		t.Fatalf("requests without a valid CSRF token created %d devices", n)
	}

	// Reads need no token.
	if r := b.do(t, breq{method: "GET", path: "/api/v1/devices"}); r.status != http.StatusOK {
		t.Fatalf("GET with the cookie: %d %s", r.status, r.body)
	}
	// The right token passes.
	rq := create("g-1")
	rq.csrf = b.csrf
	if r := b.do(t, rq); r.status != http.StatusCreated {
		t.Fatalf("POST with the CSRF token: %d %s", r.status, r.body)
	}
	// So does a token, with no CSRF header at all.
	if r := do(t, e, req{method: "POST", path: "/api/v1/devices", token: tok(e, accounts.RoleInstaller), body: strings.Replace(gasDevice, `"g-1"`, `"g-2"`, 1)}); r.status != http.StatusCreated {
		t.Fatalf("POST with a bearer token: %d %s", r.status, r.body)
	}

	// A browser that says the request came from another site is refused
	// even with the token; one that says same-origin is not.
	for name, h := range map[string]map[string]string{
		"cross-site fetch":  {"Sec-Fetch-Site": "cross-site"},
		"same-site fetch":   {"Sec-Fetch-Site": "same-site"},
		"another origin":    {"Origin": "http://evil.example"},
		"origin of no host": {"Origin": "null"},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, breq{method: "DELETE", path: "/api/v1/devices/g-1", csrf: b.csrf, header: h})
			r.wantError(t, http.StatusForbidden, "forbidden", "cross-origin request refused")
		})
	}
	r := b.do(t, breq{method: "DELETE", path: "/api/v1/devices/g-1", csrf: b.csrf, header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.URL}})
	if r.status != http.StatusNoContent {
		t.Fatalf("same-origin DELETE with the token: %d %s", r.status, r.body)
	}

	// Login from another site is refused too (login CSRF).
	r = send(t, e, "", breq{method: "POST", path: "/api/v1/login", body: `{"username":"installer","password":"pw-installer","session":true}`,
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}})
	r.wantError(t, http.StatusForbidden, "forbidden", "cross-origin request refused")
	if c := sessionCookie(t, r); c != nil {
		t.Errorf("cross-site login set a cookie: %v", c)
	}
}

func TestTokenKindsStayInTheirLane(t *testing.T) {
	e := consoletest.Start(t)
	b := loginBrowser(t, e, "admin", "pw-admin", nil)
	// The session's token is only good in its cookie...
	do(t, e, req{method: "GET", path: "/api/v1/devices", token: b.cookie}).wantError(t, http.StatusUnauthorized, "unauthorized", "invalid or expired token")
	// ...and an API token only as a Bearer token.
	send(t, e, tok(e, accounts.RoleAdmin), breq{method: "GET", path: "/api/v1/devices"}).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	// A Bearer header wins over a cookie: no CSRF token is needed, and the
	// token's user acts.
	r := send(t, e, b.cookie, breq{method: "POST", path: "/api/v1/devices", body: gasDevice,
		header: map[string]string{"Authorization": "Bearer " + tok(e, accounts.RoleOperator)}})
	r.wantError(t, http.StatusForbidden, "forbidden", "role operator")
}

func TestLogoutEndsSession(t *testing.T) {
	e := consoletest.Start(t)
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	tokens := e.Accounts.Tokens()

	// Logout is a state change: it needs the CSRF token.
	b.do(t, breq{method: "POST", path: "/api/v1/logout"}).wantError(t, http.StatusForbidden, "forbidden", "missing or invalid CSRF token")
	if r := b.do(t, breq{method: "GET", path: "/api/v1/me"}); r.status != http.StatusOK {
		t.Fatalf("session ended by a logout without CSRF token: %d", r.status)
	}

	r := b.do(t, breq{method: "POST", path: "/api/v1/logout", csrf: b.csrf})
	if r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if c := sessionCookie(t, r); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout did not clear the cookie: %q", r.header.Values("Set-Cookie"))
	}
	if got := e.Accounts.Tokens(); got != tokens-1 {
		t.Errorf("tokens after logout = %d, want %d", got, tokens-1)
	}
	// The old cookie is dead, and the browser is told to drop it.
	r = b.do(t, breq{method: "GET", path: "/api/v1/me"})
	r.wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	if c := sessionCookie(t, r); c == nil || c.MaxAge >= 0 {
		t.Errorf("a dead session's cookie was not cleared: %q", r.header.Values("Set-Cookie"))
	}
	b.do(t, breq{method: "POST", path: "/api/v1/alerts/1/accept", csrf: b.csrf}).wantError(t, http.StatusUnauthorized, "unauthorized", "")

	// Logging in again from a browser that still holds a session ends the
	// old one.
	b1 := loginBrowser(t, e, "operator", "pw-operator", nil)
	r = send(t, e, b1.cookie, breq{method: "POST", path: "/api/v1/login", body: `{"username":"operator","password":"pw-operator","session":true}`})
	if r.status != http.StatusOK {
		t.Fatalf("second login: %d %s", r.status, r.body)
	}
	b1.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	if c := sessionCookie(t, r); c == nil || send(t, e, c.Value, breq{method: "GET", path: "/api/v1/me"}).status != http.StatusOK {
		t.Error("the new session does not work")
	}
}

func TestSessionExpiry(t *testing.T) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	idle := loginBrowser(t, e, "supervisor", "pw-supervisor", nil)
	me := func(b *browser) response { return b.do(t, breq{method: "GET", path: "/api/v1/me"}) }

	clk.Advance(12*time.Hour - time.Second)
	if r := me(b); r.status != http.StatusOK {
		t.Fatalf("one second before expiry: %d %s", r.status, r.body)
	}
	// That request slid b's expiry; idle's session, unused for 12 h, is over.
	clk.Advance(time.Second)
	me(idle).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
	if r := me(b); r.status != http.StatusOK {
		t.Fatalf("used session at 12 h: %d %s", r.status, r.body)
	}
	clk.Advance(12*time.Hour - time.Second)
	me(b).wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
}

func TestSessionSlides(t *testing.T) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	t0 := clk.Now()
	me := func() response { return b.do(t, breq{method: "GET", path: "/api/v1/me"}) }
	expiry := func() time.Time {
		_, exp, ok := e.Accounts.TokenInfo(accountstest.TokenHash(b.cookie))
		if !ok {
			t.Fatal("session token gone")
		}
		return exp
	}

	// Within a minute of login, requests write nothing.
	clk.Advance(30 * time.Second)
	for range 5 {
		if r := me(); r.status != http.StatusOK {
			t.Fatalf("/me: %d", r.status)
		}
	}
	if n := e.Accounts.Touches(); n != 0 {
		t.Fatalf("%d renewals within a minute of login, want 0", n)
	}
	// After a minute the next request slides the expiry, once.
	clk.Advance(31 * time.Second)
	for range 5 {
		me()
	}
	if n := e.Accounts.Touches(); n != 1 {
		t.Fatalf("%d renewals a minute after login, want 1", n)
	}
	if want := clk.Now().Add(12 * time.Hour); !expiry().Equal(want) {
		t.Errorf("expiry = %v, want %v", expiry(), want)
	}
	// A session in use lives past 12 h; writes stay one a minute at most.
	for range 3 {
		clk.Advance(11 * time.Hour)
		if r := me(); r.status != http.StatusOK {
			t.Fatalf("at %v after login: %d %s", clk.Now().Sub(t0), r.status, r.body)
		}
	}
	if n := e.Accounts.Touches(); n != 4 {
		t.Errorf("%d renewals, want 4", n)
	}
	// State-changing requests slide it too; refused ones do not.
	clk.Advance(2 * time.Minute)
	b.do(t, breq{method: "POST", path: "/api/v1/logout"}).wantError(t, http.StatusForbidden, "forbidden", "CSRF")
	if n := e.Accounts.Touches(); n != 4 {
		t.Errorf("a request refused for its CSRF token renewed the session (%d renewals)", n)
	}
	clk.Advance(12*time.Hour + time.Second)
	me().wantError(t, http.StatusUnauthorized, "unauthorized", "session expired or ended")
}

func TestDisabledUser(t *testing.T) {
	e := consoletest.Start(t)
	admin := tok(e, accounts.RoleAdmin)
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	op, _, _ := e.Accounts.UserByName(context.Background(), "operator")

	r := do(t, e, req{method: "POST", path: "/api/v1/users/" + itoa(op.ID) + "/disable", token: admin})
	if r.status != http.StatusOK || !r.json(t)["user"].(map[string]any)["disabled"].(bool) {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	b.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	do(t, e, req{method: "GET", path: "/api/v1/alerts", token: tok(e, accounts.RoleOperator)}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	do(t, e, req{method: "POST", path: "/api/v1/login", body: `{"username":"operator","password":"pw-operator","session":true}`}).
		wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")

	if r := do(t, e, req{method: "POST", path: "/api/v1/users/" + itoa(op.ID) + "/enable", token: admin}); r.status != http.StatusOK {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	// Disabling ended the sessions and tokens: enabling brings none back.
	do(t, e, req{method: "GET", path: "/api/v1/alerts", token: tok(e, accounts.RoleOperator)}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	b.do(t, breq{method: "GET", path: "/api/v1/me"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	if b2 := loginBrowser(t, e, "operator", "pw-operator", nil); b2.do(t, breq{method: "GET", path: "/api/v1/me"}).status != http.StatusOK {
		t.Error("a fresh session of the re-enabled user does not work")
	}
}

func TestSessionLoginThrottled(t *testing.T) {
	e := consoletest.Start(t)
	for range 5 {
		send(t, e, "", breq{method: "POST", path: "/api/v1/login", body: `{"username":"operator","password":"nope","session":true}`}).
			wantError(t, http.StatusUnauthorized, "unauthorized", "wrong username or password")
	}
	r := send(t, e, "", breq{method: "POST", path: "/api/v1/login", body: `{"username":"operator","password":"pw-operator","session":true}`})
	r.wantError(t, http.StatusTooManyRequests, "rate_limited", "too many failed logins")
	if c := sessionCookie(t, r); c != nil {
		t.Errorf("a throttled login set a cookie: %v", c)
	}
}

func TestAllowedOriginsMayWrite(t *testing.T) {
	e := consoletest.Start(t, func(c *console.Config) { c.AllowedOrigins = []string{"https://duty.example.org/"} })
	b := loginBrowser(t, e, "installer", "pw-installer", map[string]string{"Origin": "https://duty.example.org"})
	rq := breq{method: "POST", path: "/api/v1/devices", body: gasDevice, csrf: b.csrf, header: map[string]string{"Origin": "https://duty.example.org"}}
	if r := b.do(t, rq); r.status != http.StatusCreated {
		t.Fatalf("POST from an allowed origin: %d %s", r.status, r.body)
	}
	rq.header["Origin"] = "https://evil.example.org"
	b.do(t, rq).wantError(t, http.StatusForbidden, "forbidden", "cross-origin request refused")

	cfg := console.Config{
		Registry: e.Registry, Accounts: e.Accounts, Alerts: e.Alerts, Metrics: http.NotFoundHandler(),
		History: func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
			return nil, nil
		},
		Ready:          func(context.Context) (bool, map[string]string) { return true, nil },
		AllowedOrigins: []string{"duty.example.org"},
	}
	if _, err := console.New(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "AllowedOrigins[0]") {
		t.Errorf("an origin without a scheme: err = %v, want AllowedOrigins[0] named", err)
	}
}
