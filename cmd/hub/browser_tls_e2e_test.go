package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/hub/tlsconf"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// trustForTest makes http.DefaultClient, which the tests' API helpers use,
// trust the CA in caFile until the test ends.
func trustForTest(t *testing.T, caFile string) {
	t.Helper()
	tc, err := tlsconf.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	old := http.DefaultClient
	http.DefaultClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	t.Cleanup(func() { http.DefaultClient = old })
}

// spkiHash is what Chromium's --ignore-certificate-errors-spki-list takes:
// the base64 SHA-256 of a certificate's public key (SubjectPublicKeyInfo).
func spkiHash(t *testing.T, certFile string) string {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM certificate", certFile)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestBrowserCallOverHTTPS is a duty room whose PCs reach the hub by name
// over HTTPS, as on a street's LAN with -tls auto: Chromium opens the
// console as https://duty.shouwang.test (a resolver rule maps the name to
// loopback; the hub's CA is trusted for this run by its key). A PC without
// a microphone is told so on the login form, before any call, and in a
// banner once logged in; when its operator tries to answer anyway, the call
// keeps ringing — on that page, with the reason, and at the hub — and
// another console answers it with its (fake) microphone, audio both ways.
func TestBrowserCallOverHTTPS(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	const name = "duty.shouwang.test"
	m := startHub(t, hubOptions{Influx: influx, Args: []string{
		"-tls", "auto", "-tls-names", name + ",localhost,127.0.0.1", "-https", "127.0.0.1:0", "-mqtt-tls-listen", "127.0.0.1:0",
	}})
	trustForTest(t, m.LocalCAFile())
	_, port, _ := net.SplitHostPort(m.HTTPSAddr())
	api := "https://127.0.0.1:" + port     // the tests' own calls
	base := "https://" + name + ":" + port // what the browsers open
	admin := login(t, api)
	createUser(t, m, api, admin, "op1", "operator", consolePassword)
	createUser(t, m, api, admin, "op2", "operator", consolePassword)
	tc, err := tlsconf.ClientConfig(m.LocalCAFile())
	if err != nil {
		t.Fatal(err)
	}
	s := runSim(t, sim.Config{BrokerURL: "tls://" + m.BrokerTLSAddr(), TLSConfig: tc, Devices: register(t, api, callDevices()), EventsOnly: true})

	browser := testenv.ChromiumOptions{Flags: []string{
		"--host-resolver-rules=MAP " + name + " 127.0.0.1",
		"--ignore-certificate-errors-spki-list=" + spkiHash(t, m.LocalCAFile()),
	}}
	withMic := newPageWith(t, base, "op1", browser)
	browser.NoMicrophone = true
	noMic := newPageWith(t, base, "op2", browser)

	// At the login form: the page is secure, the CA is offered, and the PC
	// without a microphone says it cannot take calls.
	for _, p := range []*browserPage{withMic, noMic} {
		p.waitJS("the login form with the CA download", `window.isSecureContext && !document.querySelector('#login-ca').hidden && `+
			`document.querySelector('#login-ca-link').getAttribute('href') === '/ca.crt' && `+
			`document.querySelector('#login-ca-hint').textContent.includes(':')`, waitUI)
	}
	noMic.waitJS("the login form to say this PC cannot take calls", `!document.querySelector('#login-calls').hidden && `+
		`document.querySelector('#login-calls').textContent.includes('未检测到麦克风') && window.shouwang.calls.reason === 'noMic'`, waitUI)
	noMic.screenshot("login-no-microphone")
	if evalJS[bool](withMic, `!document.querySelector('#login-calls').hidden || window.shouwang.calls.ok !== true`) {
		t.Errorf("the PC with a microphone says it cannot take calls: %s", evalJS[string](withMic, `document.querySelector('#login-calls').textContent`))
	}
	withMic.login("op1", consolePassword)
	noMic.login("op2", consolePassword)
	noMic.waitJS("the banner saying this PC cannot take calls", `!document.querySelector('#calls-banner').hidden`, waitUI)
	if !evalJS[bool](withMic, `document.querySelector('#calls-banner').hidden`) {
		t.Error("the PC with a microphone shows the cannot-take-calls banner")
	}

	// A resident calls; the PC without a microphone tries to answer.
	call := placeCall(t, s, "sos-c01", sim.CallOptions{Record: filepath.Join(t.TempDir(), "device-heard.ogg")})
	alertID := callAlert(t, api, admin, "sos-c01", call.ID())
	noMic.click(rowSel(alertID))
	noMic.waitJS("the ringing call with its answer button and the reason beside it", exists(`#call-status[data-state="ringing"]`)+
		` && !document.querySelector('#btn-answer-call').hidden && !document.querySelector('#call-note').hidden`, waitUI)
	noMic.click("#btn-answer-call")
	noMic.waitJS("the failed answer to say why, the call still ringing", `document.querySelector('#call-note').textContent.includes('接听失败') && `+
		`document.querySelector('#call-note').textContent.includes('来电仍在等待接听') && `+
		exists(`#call-status[data-state="ringing"]`)+` && window.shouwang.call.state !== 'ended' && window.shouwang.sound.ringing === true`, waitUI)
	if text := evalJS[string](noMic, `document.querySelector('#call-panel').textContent`); strings.Contains(text, "通话已结束") {
		t.Errorf("the failed answer shows the call as ended: %q", text)
	}
	noMic.screenshot("answer-failed-still-ringing")
	if a := getAlert(t, api, admin, alertID); a.Call == nil || a.Call.State != alerts.CallRinging {
		t.Fatalf("after the failed answer the hub's call is %+v, want ringing", a.Call)
	}

	// Another console answers it.
	heardBefore := call.Stats().PacketsReceived
	withMic.click(rowSel(alertID))
	withMic.waitJS("the ringing call", exists(fmt.Sprintf(`#alert-detail[data-alert-id="%d"] #call-status[data-state="ringing"]`, alertID))+
		` && !document.querySelector('#btn-answer-call').hidden && document.querySelector('#call-note').hidden`, waitUI)
	withMic.click("#btn-answer-call")
	withMic.waitJS("the call connected over HTTPS", `window.shouwang.call.state === 'connected'`, waitUI)
	n0 := inboundAudio(withMic)
	eventually(t, waitUI, "the page to hear the resident", func() (bool, string) {
		n := inboundAudio(withMic)
		return n >= n0+25, fmt.Sprintf("%v → %v", n0, n)
	})
	eventually(t, waitUI, "the resident to hear the page", func() (bool, string) {
		st := call.Stats()
		return st.PacketsReceived >= heardBefore+25, fmt.Sprintf("%+v", st)
	})
	noMic.waitJS("the other console to see the call answered by op1", exists(`#call-status[data-state="connected"][data-mine="false"]`)+
		` && document.querySelector('#call-note').hidden && window.shouwang.sound.ringing === false`, waitUI)
	withMic.screenshot("call-connected-over-https")
	withMic.click("#btn-hangup-call")
	select {
	case <-call.Done():
	case <-time.After(waitUI):
		t.Fatal("the device's call did not end after the page hung up")
	}
}
