package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/tlsconf"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// httpsClient is a client of the hub that trusts the CA in caFile and opens
// a new connection for every request, so each one sees the certificate
// served at that moment.
func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	tc, err := tlsconf.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true},
		// Redirects are asserted, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// clientAlerts lists one device's alerts through client.
func clientAlerts(t *testing.T, client *http.Client, base, token, device string) []*alerts.Alert {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/alerts?device="+device, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out alertList
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list alerts: %d %v", resp.StatusCode, err)
	}
	return out.Alerts
}

func sosButton(id string) *devices.Device {
	return &devices.Device{ID: id, Kind: devices.KindSOSButton,
		Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "9号楼", Unit: "1单元", Floor: "1", Household: "9-1-101"},
		Resident: devices.Resident{Name: "李秀英", BirthYear: 1939, LivesAlone: true}}
}

// TestTLSLocalCA runs the hub in the automatic mode with both plain
// listeners off but the redirect: HTTPS verifies with the generated CA and
// not with another, plain HTTP redirects, the CA is downloadable, the
// session cookie is Secure; the hub's own MQTT clients reach its broker
// over TLS, mosquitto_pub --cafile raises an alert through the TLS
// listener (and is refused with the wrong CA), and simulated devices
// (devsim's library) connect over TLS.
func TestTLSLocalCA(t *testing.T) {
	pub := testenv.ToolPath(t, "mosquitto_pub")
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx, Args: []string{
		"-tls", "auto", "-tls-names", "localhost,127.0.0.1", "-https", "127.0.0.1:0",
		"-mqtt-listen", "off", "-mqtt-tls-listen", "127.0.0.1:0",
	}})
	caFile := filepath.Join(m.Config.DataDir, "tls", "ca.crt")
	if m.LocalCAFile() != caFile {
		t.Fatalf("local CA at %q, want %q", m.LocalCAFile(), caFile)
	}
	if m.BrokerAddr() != "" {
		t.Errorf("plain MQTT listener at %q with -mqtt-listen off", m.BrokerAddr())
	}
	base := "https://" + m.HTTPSAddr()
	client := httpsClient(t, caFile)

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS with the hub's CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("HTTPS /healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	// Another hub's CA does not vouch for this one.
	otherCA, err := tlsconf.OpenLocalCA(filepath.Join(t.TempDir(), "tls"), []string{"localhost", "127.0.0.1"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpsClient(t, otherCA.CAFile()).Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("HTTPS trusting another CA: %v, want a certificate error", err)
	}

	// Plain HTTP redirects to the same path over HTTPS.
	_, httpsPort, _ := net.SplitHostPort(m.HTTPSAddr())
	resp, err = client.Get("http://" + m.HTTPAddr() + "/api/v1/alerts?state=open")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://127.0.0.1:" + httpsPort + "/api/v1/alerts?state=open"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d → %q, want 308 → %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	// The login page's CA download is the CA file.
	resp, err = client.Get(base + "/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want, _ := os.ReadFile(caFile); resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Errorf("GET /ca.crt: %d, %d bytes, want the %d bytes of %s", resp.StatusCode, len(got), len(want), caFile)
	}

	// A browser session over HTTPS gets a Secure cookie.
	resp, err = client.Post(base+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q,"session":true}`, adminPassword)))
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
	if cookie == nil || !cookie.Secure {
		t.Errorf("session cookie over HTTPS: %v, want Secure", cookie)
	}

	// MQTT over TLS: the hub's own clients are connected (plain is off)...
	token := clientLogin(t, client, base)
	var ready struct{ Checks map[string]string }
	req, _ := http.NewRequest("GET", base+"/readyz", nil)
	if resp, err := client.Do(req); err != nil {
		t.Fatal(err)
	} else {
		json.NewDecoder(resp.Body).Decode(&ready)
		resp.Body.Close()
	}
	if ready.Checks["mqtt"] != "connected" {
		t.Fatalf("the hub's MQTT client over TLS: %v", ready.Checks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	specs, err := sim.RegisterWith(ctx, client, base, token, []*devices.Device{sosButton("sos-tls1"), sosButton("sos-tls2")})
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(m.BrokerTLSAddr())

	// ...mosquitto_pub --cafile with the hub's CA raises an alert...
	publish := func(ca string, seq int) ([]byte, error) {
		payload := fmt.Sprintf(`{"seq":%d,"ts":%d,"type":"sos"}`, seq, time.Now().UnixMilli())
		cmd := exec.CommandContext(ctx, pub, "--cafile", ca, "-h", host, "-p", port, "-V", "mqttv311",
			"-i", specs[0].Device.ID, "-u", specs[0].Device.ID, "-P", specs[0].Password,
			"-t", devices.Topic(specs[0].Device.ID, devices.ChannelEvent), "-q", "1", "-m", payload)
		return cmd.CombinedOutput()
	}
	if out, err := publish(otherCA.CAFile(), 1); err == nil {
		t.Errorf("mosquitto_pub trusting another CA succeeded: %s", out)
	}
	if out, err := publish(caFile, 2); err != nil {
		t.Fatalf("mosquitto_pub --cafile %s: %v: %s", caFile, err, out)
	}
	eventually(t, 20*time.Second, "the press over TLS to open an alert", func() (bool, string) {
		as := clientAlerts(t, client, base, token, "sos-tls1")
		return len(as) == 1 && as[0].Kind == alerts.KindSOS, fmt.Sprintf("%d alerts", len(as))
	})

	// ...and simulated devices connect over TLS and hear their ack.
	tc, err := tlsconf.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	s := runSim(t, sim.Config{BrokerURL: "tls://" + m.BrokerTLSAddr(), TLSConfig: tc, Devices: specs[1:], EventsOnly: true})
	if err := s.Publish("sos-tls2", devices.ChannelEvent, fmt.Appendf(nil, `{"seq":1,"ts":%d,"type":"sos"}`, time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the simulated device's press over TLS to be acknowledged", func() (bool, string) {
		return received(s, "sos-tls2", `"type":"ack","seq":1`) && len(clientAlerts(t, client, base, token, "sos-tls2")) == 1, fmt.Sprintf("%q", s.Received("sos-tls2"))
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestTLSFilesReload serves HTTPS and MQTT over TLS from certificate files,
// replaces them while the hub runs, and sees the new certificate served on
// both without a restart.
func TestTLSFilesReload(t *testing.T) {
	influx := testenv.Influx(t)
	dir := t.TempDir()
	names := []string{"localhost", "127.0.0.1"}
	caA, err := tlsconf.OpenLocalCA(filepath.Join(dir, "a"), names, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	caB, err := tlsconf.OpenLocalCA(filepath.Join(dir, "b"), names, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	install := func(ca *tlsconf.LocalCA) {
		t.Helper()
		for src, dst := range map[string]string{ca.CertFile(): certFile, ca.KeyFile(): keyFile} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(dst+".new", dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(caA)
	m := startHub(t, hubOptions{Influx: influx, Args: []string{
		"-tls-cert", certFile, "-tls-key", keyFile, "-https", "127.0.0.1:0", "-mqtt-tls-listen", "127.0.0.1:0",
	}})
	if m.Config.TLS.Mode != tlsFiles {
		t.Fatalf("-tls-cert and -tls-key gave mode %q", m.Config.TLS.Mode)
	}
	base := "https://" + m.HTTPSAddr()
	verifies := func(ca *tlsconf.LocalCA) (httpsErr, mqttErr error) {
		resp, err := httpsClient(t, ca.CAFile()).Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		tc, _ := tlsconf.ClientConfig(ca.CAFile())
		tc.ServerName = "localhost"
		c, mqttErr := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", m.BrokerTLSAddr(), tc)
		if mqttErr == nil {
			c.Close()
		}
		return err, mqttErr
	}
	if h, q := verifies(caA); h != nil || q != nil {
		t.Fatalf("the first certificate: HTTPS %v, MQTT %v", h, q)
	}
	if h, q := verifies(caB); h == nil || q == nil {
		t.Fatalf("before the swap, B's CA verified: HTTPS %v, MQTT %v", h, q)
	}
	install(caB)
	eventually(t, 10*time.Second, "the replaced certificate to be served on HTTPS and MQTT", func() (bool, string) {
		h, q := verifies(caB)
		return h == nil && q == nil, fmt.Sprintf("HTTPS %v, MQTT %v", h, q)
	})
	if h, _ := verifies(caA); h == nil {
		t.Error("after the swap the old certificate is still served")
	}
}
