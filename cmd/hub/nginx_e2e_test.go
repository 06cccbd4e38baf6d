package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/tlsconf"
	"github.com/shouwang-hub/shouwang/internal/parts"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// deployedNginxSite reads deploy/nginx/shouwang.conf, the configuration
// operations.md gives, and points it at this test's ports, certificate and
// hub. Every token replaced must be there: an edit that renames one fails
// here rather than testing another file.
func deployedNginxSite(t *testing.T, repl map[string]string) string {
	t.Helper()
	root, err := parts.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "nginx", "shouwang.conf"))
	if err != nil {
		t.Fatal(err)
	}
	site := string(b)
	for old, new := range repl {
		if !strings.Contains(site, old) {
			t.Fatalf("deploy/nginx/shouwang.conf has no %q to replace", old)
		}
		site = strings.ReplaceAll(site, old, new)
	}
	return site
}

// headerTransport adds a browser's headers to every request.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// TestBehindNginx runs the hub behind Debian's nginx with the deployed
// configuration: nginx terminates TLS and passes its upstream's address as
// Host (its default), the hub knows its public URL and trusts the proxy.
// Through the proxy, as a browser would (session cookie, CSRF token, an
// Origin but no Sec-Fetch-Site): login, the live feed (its snapshot, then a
// press arriving as a change), and a voice call answered with audio both
// ways; plain HTTP on the proxy redirects to HTTPS.
func TestBehindNginx(t *testing.T) {
	testenv.ToolPath(t, "nginx")
	influx := testenv.Influx(t)
	dir := t.TempDir()
	ca, err := tlsconf.OpenLocalCA(filepath.Join(dir, "tls"), []string{"localhost", "127.0.0.1"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	httpsPort, httpPort := testenv.FreePort(t), testenv.FreePort(t)
	public := "https://localhost:" + strconv.Itoa(httpsPort)
	m := startHub(t, hubOptions{Influx: influx, Args: []string{"-public-url", public, "-trusted-proxies", "127.0.0.1"}})
	hubBase := "http://" + m.HTTPAddr()
	admin := login(t, hubBase)
	createUser(t, m, hubBase, admin, "op1", "operator", consolePassword)
	s := connectCallDevices(t, "tcp://"+m.BrokerAddr(), register(t, hubBase, append(callDevices(), sosButton("sos-n1"))), filepath.Join(dir, "calls"))

	ng := testenv.Nginx(t, deployedNginxSite(t, map[string]string{
		"listen 443 ssl http2;":             "listen 127.0.0.1:" + strconv.Itoa(httpsPort) + " ssl http2;",
		"listen 80;":                        "listen 127.0.0.1:" + strconv.Itoa(httpPort) + ";",
		"server_name duty.example.org;":     "server_name localhost;",
		"/etc/ssl/shouwang/fullchain.pem":   ca.CertFile(),
		"/etc/ssl/shouwang/privkey.pem":     ca.KeyFile(),
		"proxy_pass http://127.0.0.1:8080;": "proxy_pass " + hubBase + ";",
		"shared:shouwang:10m":               "shared:shouwang:1m",
	}), httpsPort, httpPort)
	defer func() {
		if t.Failed() {
			t.Logf("nginx log:\n%s", ng.Log())
		}
	}()

	client := httpsClient(t, ca.CAFile())
	// Plain HTTP on the proxy: to HTTPS.
	resp, err := client.Get("http://localhost:" + strconv.Itoa(httpPort) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(loc, "https://localhost") {
		t.Errorf("plain HTTP at the proxy: %d → %q", resp.StatusCode, loc)
	}

	// Login as a browser on the public page: Origin, no Sec-Fetch-Site.
	req, _ := http.NewRequest("POST", public+"/api/v1/login", strings.NewReader(fmt.Sprintf(`{"username":"op1","password":%q,"session":true}`, consolePassword)))
	req.Header.Set("Origin", public)
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var session struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&session)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sw_session" {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || session.CSRFToken == "" {
		t.Fatalf("login through nginx: %d, cookie %v", resp.StatusCode, cookie)
	}
	if !cookie.Secure {
		t.Errorf("the session cookie through the TLS proxy is not Secure: %v", cookie)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS through the proxy")
	}
	browser := http.Header{"Origin": {public}, "Cookie": {cookie.Name + "=" + cookie.Value}, "X-Csrf-Token": {session.CSRFToken}}

	// The live feed: the upgrade passes the proxy and the Origin check.
	tc, _ := tlsconf.ClientConfig(ca.CAFile())
	dialer := &websocket.Dialer{TLSClientConfig: tc, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := dialer.Dial("wss://localhost:"+strconv.Itoa(httpsPort)+"/api/v1/live", browser)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("live feed through nginx: %v (HTTP %d)", err, status)
	}
	defer ws.Close()
	var msg struct {
		Type  string `json:"type"`
		Alert *struct {
			DeviceID string `json:"device_id"`
		} `json:"alert"`
	}
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if err := ws.ReadJSON(&msg); err != nil || msg.Type != "snapshot" {
		t.Fatalf("the live feed's first message: %q, %v", msg.Type, err)
	}
	if err := s.Publish("sos-n1", devices.ChannelEvent, fmt.Appendf(nil, `{"seq":1,"ts":%d,"type":"sos"}`, time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}
	for {
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("waiting for the press on the live feed: %v", err)
		}
		if msg.Type == "change" && msg.Alert != nil && msg.Alert.DeviceID == "sos-n1" {
			break
		}
	}

	// A call, answered through the proxy with the browser's session.
	call := placeCall(t, s, "sos-c01", sim.CallOptions{})
	callAlert(t, hubBase, admin, "sos-c01", call.ID())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	con, err := sim.AnswerAsConsole(ctx, public, "", call.ID(), sim.CallOptions{
		HTTPClient: &http.Client{Transport: headerTransport{client.Transport, browser}},
	})
	if err != nil {
		t.Fatalf("answer through nginx: %v", err)
	}
	eventually(t, 20*time.Second, "audio both ways on the call answered through nginx", func() (bool, string) {
		d, c := call.Stats(), con.Stats()
		return d.PacketsReceived > 25 && c.PacketsReceived > 25, fmt.Sprintf("device heard %d, console heard %d", d.PacketsReceived, c.PacketsReceived)
	})
	if err := con.Hangup(); err != nil {
		t.Fatalf("hang up through nginx: %v", err)
	}
	select {
	case <-call.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the device's call did not end after the hang-up through nginx")
	}
}
