package console_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// syncBuffer is a log the server writes from its handlers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxyEnv is a console with a live feed as it runs behind a reverse proxy,
// its log kept.
type proxyEnv struct {
	url   string
	token string
	log   *syncBuffer
}

func startBehindProxy(t *testing.T, configure func(*console.Config)) *proxyEnv {
	t.Helper()
	accts := accountstest.NewAccounts()
	u := accts.AddUser("op", accounts.RoleOperator, "pw-op")
	e := &proxyEnv{token: accts.AddToken(u.ID, "token-op"), log: &syncBuffer{}}
	cfg := console.Config{
		Registry: consoletest.NewRegistry(),
		Accounts: accts,
		Alerts:   consoletest.NewAlerts(),
		History: func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
			return nil, nil
		},
		Ready:   func(context.Context) (bool, map[string]string) { return true, nil },
		Metrics: http.NotFoundHandler(),
		Live:    consoletest.NewLive(map[string]any{"total": 0}),
	}
	configure(&cfg)
	srv, err := console.New(cfg, slog.New(slog.NewTextHandler(e.log, nil)))
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(srv.CloseLive)
	e.url = hs.URL
	return e
}

// dialLive opens the live feed with headers h (and the operator's token)
// and returns the handshake's status.
func (e *proxyEnv) dialLive(t *testing.T, h http.Header) int {
	t.Helper()
	h = h.Clone()
	h.Set("Authorization", "Bearer "+e.token)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/api/v1/live", h)
	if err == nil {
		c.Close()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial the live feed: %v", err)
	}
	return resp.StatusCode
}

func loopbackProxy() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

// A proxy that rewrites Host (nginx's default) sends the hub its own
// upstream address as Host while the browser's Origin is the public name:
// the public URL is what lets the live feed and writes through, and a
// refused upgrade says why in the log.
func TestPublicURLPassesTheOriginChecksBehindAHostRewritingProxy(t *testing.T) {
	e := startBehindProxy(t, func(c *console.Config) { c.PublicURL = "https://duty.street.lan/" })
	if got := e.dialLive(t, http.Header{"Origin": {"https://duty.street.lan"}}); got != http.StatusSwitchingProtocols {
		t.Errorf("live feed from the public origin: %d, want an upgrade", got)
	}
	if got := e.dialLive(t, http.Header{"Origin": {"https://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("live feed from another origin: %d, want 403", got)
	}
	if log := e.log.String(); !strings.Contains(log, "live feed refused") || !strings.Contains(log, "origin=https://evil.example") ||
		!strings.Contains(log, "-public-url") {
		t.Errorf("the refusal is not logged with the origin, the host and what to set:\n%s", log)
	}
	// Refusals are logged at a bounded rate, not once each.
	for range 20 {
		e.dialLive(t, http.Header{"Origin": {"https://evil.example"}})
	}
	if n := strings.Count(e.log.String(), "live feed refused: the page's origin"); n != 1 {
		t.Errorf("%d refusal lines for 21 refusals within the interval, want 1", n)
	}

	// A login from the public page, by a browser that sends Origin but no
	// Sec-Fetch-Site, passes the cross-origin check; another site's fails.
	login := func(origin string) int {
		r, _ := http.NewRequest("POST", e.url+"/api/v1/login", strings.NewReader(`{"username":"op","password":"pw-op","session":true}`))
		r.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := login("https://duty.street.lan"); got != http.StatusOK {
		t.Errorf("login from the public origin: %d", got)
	}
	if got := login("https://evil.example"); got != http.StatusForbidden {
		t.Errorf("login from another origin: %d, want 403", got)
	}

	if _, err := console.New(console.Config{PublicURL: "duty.street.lan"}, slog.Default()); err == nil {
		t.Error("a public URL without a scheme was accepted")
	}
}

// X-Forwarded-* headers count only from a trusted proxy: its Host, its
// scheme (Secure cookie, HSTS) and the client's address in the log.
func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	fwd := http.Header{
		"Origin":            {"https://duty.street.lan"},
		"X-Forwarded-Host":  {"duty.street.lan"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-For":   {"203.0.113.9, 10.1.2.3"},
	}
	untrusted := startBehindProxy(t, func(*console.Config) {})
	if got := untrusted.dialLive(t, fwd); got != http.StatusForbidden {
		t.Errorf("an untrusted peer's X-Forwarded-Host opened the feed: %d", got)
	}
	resp := postLogin(t, untrusted.url, fwd)
	if c := cookieOf(resp); c == nil || c.Secure || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("an untrusted peer's X-Forwarded-Proto counted: cookie %v, HSTS %q", c, resp.Header.Get("Strict-Transport-Security"))
	}

	trusted := startBehindProxy(t, func(c *console.Config) {
		c.TrustedProxies = append(loopbackProxy(), netip.MustParsePrefix("10.0.0.0/8"))
	})
	if got := trusted.dialLive(t, fwd); got != http.StatusSwitchingProtocols {
		t.Errorf("a trusted proxy's X-Forwarded-Host did not open the feed: %d", got)
	}
	resp = postLogin(t, trusted.url, fwd)
	if c := cookieOf(resp); c == nil || !c.Secure {
		t.Errorf("behind a trusted https proxy the cookie is not Secure: %v", c)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("behind a trusted https proxy no HSTS: %q", h)
	}
	// 10.1.2.3 is a trusted hop; 203.0.113.9 is the client.
	if log := trusted.log.String(); !strings.Contains(log, "remote=203.0.113.9") {
		t.Errorf("the login is not logged with the client's address:\n%s", log)
	}
}

func TestHSTSUnderTLS(t *testing.T) {
	e := consoletest.StartTLS(t)
	resp, err := e.Client.Get(e.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Errorf("HSTS over TLS: %q", h)
	}
	plain := consoletest.Start(t)
	resp, err = http.Get(plain.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("HSTS over plain HTTP: %q", h)
	}
}

func TestLocalCADownloadAndSiteInfo(t *testing.T) {
	pem := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	e := consoletest.Start(t, func(c *console.Config) {
		c.LocalCA = &console.LocalCA{CertPEM: pem, SHA256: "AB:CD"}
	})
	r := do(t, e, req{method: "GET", path: "/api/v1/site"})
	if m := r.json(t); r.status != 200 || m["local_ca"].(map[string]any)["url"] != "/ca.crt" || m["local_ca"].(map[string]any)["sha256"] != "AB:CD" {
		t.Errorf("site info: %d %s", r.status, r.body)
	}
	r = do(t, e, req{method: "GET", path: "/ca.crt"})
	if r.status != 200 || !bytes.Equal(r.body, pem) || r.header.Get("Content-Type") != "application/x-x509-ca-cert" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CA download: %d %v %q", r.status, r.header, r.body)
	}
	none := consoletest.Start(t)
	if r := do(t, none, req{method: "GET", path: "/api/v1/site"}); r.status != 200 || strings.Contains(string(r.body), "local_ca") {
		t.Errorf("site info without a local CA: %d %s", r.status, r.body)
	}
	do(t, none, req{method: "GET", path: "/ca.crt"}).wantError(t, 404, "not_found", "")
}

func TestICEServersForAnswerersOnly(t *testing.T) {
	servers := []console.ICEServer{{URLs: []string{"turn:turn.street.lan:3478"}, Username: "u", Credential: "c"}}
	e := consoletest.Start(t, func(c *console.Config) { c.ICEServers = servers })
	r := do(t, e, req{method: "GET", path: "/api/v1/calls/ice-servers", token: tok(e, accounts.RoleOperator)})
	var got struct {
		ICEServers []console.ICEServer `json:"ice_servers"`
	}
	r.decode(t, &got)
	if r.status != 200 || len(got.ICEServers) != 1 || got.ICEServers[0].URLs[0] != "turn:turn.street.lan:3478" || got.ICEServers[0].Credential != "c" {
		t.Errorf("ICE servers: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/calls/ice-servers", token: tok(e, accounts.RoleInstaller)}).wantError(t, 403, "forbidden", "")
	do(t, e, req{method: "GET", path: "/api/v1/calls/ice-servers"}).wantError(t, 401, "unauthorized", "")
	if r := do(t, consoletest.Start(t), req{method: "GET", path: "/api/v1/calls/ice-servers", token: tok(e, accounts.RoleOperator)}); r.status == 200 && !strings.Contains(string(r.body), `"ice_servers":[]`) {
		t.Errorf("no ICE servers: %s", r.body)
	}
}

func TestRedirectHTTPS(t *testing.T) {
	cases := []struct {
		port, public, host, target string
		method                     string
		want                       string
	}{
		{"8443", "", "hub.lan:8080", "/api/v1/alerts?state=open", "GET", "https://hub.lan:8443/api/v1/alerts?state=open"},
		{"443", "", "192.168.1.10:80", "/", "GET", "https://192.168.1.10/"},
		{"8443", "", "[fe80::1]:8080", "/", "POST", "https://[fe80::1]:8443/"},
		{"8443", "", "hub.lan", "/x", "GET", "https://hub.lan:8443/x"},
		{"8443", "https://duty.street.lan/", "127.0.0.1:8080", "/login", "GET", "https://duty.street.lan/login"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(c.method, c.target, nil)
		r.Host = c.host
		console.RedirectHTTPS(c.port, c.public).ServeHTTP(rec, r)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != c.want {
			t.Errorf("%s %s (Host %s): %d → %q, want 308 → %q", c.method, c.target, c.host, rec.Code, rec.Header().Get("Location"), c.want)
		}
	}
	rec := httptest.NewRecorder()
	console.RedirectHTTPS("8443", "").ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz on the plain port: %d, want 200", rec.Code)
	}
}

func postLogin(t *testing.T, base string, h http.Header) *http.Response {
	t.Helper()
	r, _ := http.NewRequest("POST", base+"/api/v1/login", strings.NewReader(`{"username":"op","password":"pw-op","session":true}`))
	for k, v := range h {
		r.Header[k] = v
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return resp
}

func cookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "sw_session" {
			return c
		}
	}
	return nil
}
