package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// cookieSession is a browser-style login: the session cookie and the CSRF
// token the page would hold.
type cookieSession struct {
	cookie *http.Cookie
	csrf   string
}

// sessionLogin logs in as a browser does and returns the session.
func sessionLogin(t *testing.T, base, username, password string) cookieSession {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q,"session":true}`, username, password)
	resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil || out.CSRFToken == "" {
		t.Fatalf("session login as %s: %d %s", username, resp.StatusCode, raw)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "sw_session" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
			return cookieSession{cookie: c, csrf: out.CSRFToken}
		}
	}
	t.Fatalf("session login as %s set no sw_session cookie", username)
	return cookieSession{}
}

// sessionCall sends a request with the session cookie, the given Origin
// (none when "") and CSRF token (none when ""), and returns the status and
// body.
func sessionCall(t *testing.T, method, url string, s cookieSession, origin, csrf string, body any) (int, string) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.AddCookie(s.cookie)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// dialLive opens the live feed with the given cookie (nil for none) and
// Origin, and returns the handshake's status (101 when it succeeded) and,
// on success, the first message's type.
func dialLive(t *testing.T, base string, cookie *http.Cookie, origin string) (int, string) {
	t.Helper()
	h := http.Header{}
	if cookie != nil {
		h.Set("Cookie", cookie.String())
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/v1/live", h)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial the live feed: %v", err)
		}
		return resp.StatusCode, ""
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var first struct{ Type string }
	if err := c.ReadJSON(&first); err != nil {
		t.Fatalf("read the live feed's first message: %v", err)
	}
	return resp.StatusCode, first.Type
}

// TestConsoleSecurityE2E checks the console's defences against the real hub
// over HTTP, as a hostile page or a curious account would meet them: the
// live feed needs a session and the page's own origin; a state-changing
// request with the session cookie needs the CSRF token and the page's own
// origin; each role's forbidden actions are refused; repeated bad passwords
// are throttled. Each refusal is checked next to the same request done
// right, so a test that passes is not passing because nothing works.
func TestConsoleSecurityE2E(t *testing.T) {
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	createUser(t, m, base, admin, "inst1", accounts.RoleInstaller, consolePassword)
	createUser(t, m, base, admin, "victim", accounts.RoleOperator, consolePassword)
	ds := browserDevices()[:1]
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, ds))
	if _, err := s.Press(ds[0].ID); err != nil {
		t.Fatal(err)
	}
	var alert *alerts.Alert
	eventually(t, waitUI, "the press's alert", func() (bool, string) {
		as := findAlerts(t, base, admin, ds[0].ID)
		if len(as) == 1 {
			alert = as[0]
		}
		return alert != nil, fmt.Sprintf("%d alerts", len(as))
	})
	op := sessionLogin(t, base, "op1", consolePassword)
	inst := sessionLogin(t, base, "inst1", consolePassword)
	evil := "http://evil.example"

	t.Run("live feed", func(t *testing.T) {
		if code, typ := dialLive(t, base, op.cookie, base); code != http.StatusSwitchingProtocols || typ != "snapshot" {
			t.Fatalf("with a session from the page's origin: %d, first message %q; want 101 and a snapshot", code, typ)
		}
		if code, _ := dialLive(t, base, nil, base); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("without a session: %d, want 401 or 403", code)
		}
		if code, _ := dialLive(t, base, &http.Cookie{Name: "sw_session", Value: "forged"}, base); code != http.StatusUnauthorized && code != http.StatusForbidden {
			t.Errorf("with a forged session cookie: %d, want 401 or 403", code)
		}
		if code, _ := dialLive(t, base, op.cookie, evil); code != http.StatusForbidden {
			t.Errorf("from another origin with a good session: %d, want 403", code)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		url := fmt.Sprintf("%s/api/v1/alerts/%d/note", base, alert.ID)
		note := map[string]string{"note": "csrf check"}
		code, body := sessionCall(t, "POST", url, op, "", "", note)
		if code != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("a note with the session cookie and no CSRF token: %d %s, want 403 naming the CSRF token", code, body)
		}
		if code, body := sessionCall(t, "POST", url, op, base, inst.csrf, note); code != http.StatusForbidden {
			t.Errorf("with another session's CSRF token: %d %s, want 403", code, body)
		}
		if code, body := sessionCall(t, "POST", url, op, evil, op.csrf, note); code != http.StatusForbidden {
			t.Errorf("from another origin, even with the token: %d %s, want 403", code, body)
		}
		if a := getAlert(t, base, admin, alert.ID); timelineCount(a, alerts.TimelineNote) != 0 {
			t.Fatalf("a refused note reached the timeline: %+v", a.Timeline)
		}
		if code, body := sessionCall(t, "POST", url, op, base, op.csrf, note); code != http.StatusOK {
			t.Fatalf("the same note with its CSRF token from the page's origin: %d %s", code, body)
		}
		if code, body := sessionCall(t, "GET", base+"/api/v1/me", op, "", "", nil); code != http.StatusOK || !strings.Contains(body, op.csrf) {
			t.Errorf("GET /api/v1/me with the session: %d %s", code, body)
		}
	})

	t.Run("roles", func(t *testing.T) {
		alertURL := func(action string) string { return fmt.Sprintf("%s/api/v1/alerts/%d/%s", base, alert.ID, action) }
		newDevice := devices.Device{ID: "sos-0900", Kind: devices.KindSOSButton, Location: devices.Location{Community: "阳光社区"}}
		refused := []struct {
			what    string
			s       cookieSession
			method  string
			url     string
			body    any
			allowed cookieSession // someone who may do it, to show the request itself is good
		}{
			{"an installer accepts an alert", inst, "POST", alertURL("accept"), map[string]string{}, op},
			{"an operator registers a device", op, "POST", base + "/api/v1/devices", newDevice, inst},
			{"an operator lists accounts", op, "GET", base + "/api/v1/users", nil, cookieSession{}},
			{"an installer creates an account", inst, "POST", base + "/api/v1/users",
				map[string]string{"username": "mallory", "role": "admin", "password": "mallory-password"}, cookieSession{}},
		}
		for _, r := range refused {
			code, body := sessionCall(t, r.method, r.url, r.s, base, r.s.csrf, r.body)
			if code != http.StatusForbidden {
				t.Errorf("%s: %d %s, want 403", r.what, code, body)
			}
			if r.allowed.cookie != nil {
				if code, body := sessionCall(t, r.method, r.url, r.allowed, base, r.allowed.csrf, r.body); code >= 300 {
					t.Errorf("%s, done by a role that may: %d %s", r.what, code, body)
				}
			}
		}
		// The accept above was op1's; only a supervisor or admin closes.
		if code, body := sessionCall(t, "POST", alertURL("close"), op, base, op.csrf, map[string]string{}); code != http.StatusForbidden {
			t.Errorf("an operator closes an alert: %d %s, want 403", code, body)
		}
	})

	t.Run("password reset ends sessions and tokens", func(t *testing.T) {
		createUser(t, m, base, admin, "reset1", accounts.RoleOperator, consolePassword)
		sess := sessionLogin(t, base, "reset1", consolePassword)
		resp, err := http.Post(base+"/api/v1/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"username":"reset1","password":%q}`, consolePassword)))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Token string        `json:"token"`
			User  accounts.User `json:"user"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || out.Token == "" {
			t.Fatalf("API login as reset1: %d, %v", resp.StatusCode, err)
		}
		if code, body := apiCall(t, "GET", base+"/api/v1/me", out.Token, nil, nil); code != http.StatusOK {
			t.Fatalf("reset1's token before the reset: %d %s", code, body)
		}
		if code, body := apiCall(t, "POST", fmt.Sprintf("%s/api/v1/users/%d/password", base, out.User.ID), admin,
			map[string]string{"password": "a brand new secret"}, nil); code != http.StatusOK {
			t.Fatalf("reset reset1's password: %d %s", code, body)
		}
		if code, body := apiCall(t, "GET", base+"/api/v1/me", out.Token, nil, nil); code != http.StatusUnauthorized {
			t.Errorf("reset1's old token after the reset: %d %s, want 401", code, body)
		}
		if code, body := sessionCall(t, "GET", base+"/api/v1/me", sess, "", "", nil); code != http.StatusUnauthorized {
			t.Errorf("reset1's old session after the reset: %d %s, want 401", code, body)
		}
		if code, body := apiCall(t, "GET", base+"/api/v1/me", admin, nil, nil); code != http.StatusOK {
			t.Errorf("the admin's token after resetting another's password: %d %s", code, body)
		}
		sessionLogin(t, base, "reset1", "a brand new secret")
	})

	t.Run("login throttled", func(t *testing.T) {
		bad := `{"username":"victim","password":"wrong-password"}`
		var last int
		var lastBody string
		for i := 0; i < 10 && last != http.StatusTooManyRequests; i++ {
			resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(bad))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last, lastBody = resp.StatusCode, string(raw)
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("10 bad passwords in a row: last answer %d %s, want 429", last, lastBody)
		}
		// Now even the right password waits, and says so.
		good := fmt.Sprintf(`{"username":"victim","password":%q}`, consolePassword)
		resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("the right password during the lockout: %d, want 429", resp.StatusCode)
		}
		// Other accounts are not locked out by one account's attacker.
		sessionLogin(t, base, "op1", consolePassword)
	})
}
