package main

import (
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserOverPlainHTTPSaysNoCalls is a duty-room PC that opens a hub
// without TLS by its name, as on a street's LAN before HTTPS is turned on:
// the browser keeps the microphone from a page that is not a secure
// context. The login form says so before any call rings, and so does a
// banner once logged in; a call still rings, and an attempt to answer it
// leaves it ringing — on the page, with the reason, and at the hub —
// instead of "call ended".
func TestBrowserOverPlainHTTPSaysNoCalls(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	const name = "duty.shouwang.test"
	_, port, _ := net.SplitHostPort(m.HTTPAddr())
	api := "http://" + m.HTTPAddr()
	admin := login(t, api)
	createUser(t, m, api, admin, "op1", "operator", consolePassword)
	s := runSim(t, sim.Config{BrokerURL: "tcp://" + m.BrokerAddr(), Devices: register(t, api, callDevices()), EventsOnly: true})

	// Not newPage: a browser grants no notifications to an insecure page.
	base := "http://" + name + ":" + port
	p := &browserPage{t: t, base: base, name: "op1", ctx: testenv.ChromiumWith(t, testenv.ChromiumOptions{Flags: []string{
		"--host-resolver-rules=MAP " + name + " 127.0.0.1",
	}})}
	p.do("open the console", chromedp.Navigate(base+"/"))
	p.waitJS("the login form to say this PC cannot take calls over plain HTTP", `!window.isSecureContext && `+
		`!document.querySelector('#login-calls').hidden && window.shouwang.calls.reason === 'insecure' && `+
		`document.querySelector('#login-calls').textContent.includes('HTTPS')`, waitUI)
	p.login("op1", consolePassword)
	p.waitJS("the banner saying this PC cannot take calls", `!document.querySelector('#calls-banner').hidden && `+
		`document.querySelector('#calls-banner-text').textContent.includes('HTTPS')`, waitUI)

	call := placeCall(t, s, "sos-c01", sim.CallOptions{})
	alertID := callAlert(t, api, admin, "sos-c01", call.ID())
	p.click(rowSel(alertID))
	p.waitJS("the ringing call with the reason beside it", exists(`#call-status[data-state="ringing"]`)+
		` && !document.querySelector('#call-note').hidden`, waitUI)
	if !evalJS[bool](p, `!document.querySelector('#btn-answer-call').hidden`) {
		t.Fatal("no answer button on the ringing call")
	}
	p.click("#btn-answer-call")
	p.waitJS("the failed answer to say why, the call still ringing", `document.querySelector('#call-note').textContent.includes('HTTPS') && `+
		exists(`#call-status[data-state="ringing"]`)+` && window.shouwang.call.state !== 'ended' && window.shouwang.sound.ringing === true`, waitUI)
	if text := evalJS[string](p, `document.querySelector('#call-panel').textContent`); strings.Contains(text, "通话已结束") {
		t.Errorf("the failed answer shows the call as ended: %q", text)
	}
	p.screenshot("plain-http-cannot-answer")
	if a := getAlert(t, api, admin, alertID); a.Call == nil || a.Call.State != alerts.CallRinging {
		t.Fatalf("after the failed answer the hub's call is %+v, want ringing", a.Call)
	}
}
