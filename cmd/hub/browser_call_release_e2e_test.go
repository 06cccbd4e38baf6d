package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserAnswerWithoutMedia: a duty-room PC whose browser cannot carry
// a call's audio (its peer connections held to relayed candidates with no
// relay, so its connection to the hub never comes up) answers a devsim
// call. The hub takes the answer, but the answer is
// released: the call rings again at the hub (call_released on the
// timeline, the device never hung up), the failed console says why in
// Chinese and in English and rings on, and a second console — Chromium
// with a working network — answers the same call and hears the resident.
// A second call, whose answer op1's page cannot apply, is given back by the
// page itself (POST …/release) with the same result.
func TestBrowserAnswerWithoutMedia(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	createUser(t, m, base, admin, "op2", accounts.RoleOperator, consolePassword)
	s := connectCallDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, callDevices()), filepath.Join(t.TempDir(), "callbacks"))

	// op1's browser may use only relayed candidates and is given no relay:
	// it offers none, so its connection to the hub can never come up.
	blocked := newPage(t, base, "op1-no-route")
	blocked.do("an ICE policy that cannot connect", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
			const P = window.RTCPeerConnection;
			window.RTCPeerConnection = class extends P {
				constructor(cfg, ...rest) { super({ ...(cfg || {}), iceTransportPolicy: 'relay' }, ...rest); }
				// window.failRemote: the hub's answer cannot be applied.
				setRemoteDescription(d) {
					return window.failRemote ? Promise.reject(new Error('refused by the test')) : super.setRemoteDescription(d);
				}
			};
			// The page's releases, as the hub answered them.
			window.releases = [];
			const f = window.fetch;
			window.fetch = async (url, opts) => {
				const r = await f(url, opts);
				if (String(url).endsWith('/release')) window.releases.push(r.status);
				return r;
			};
		})()`})
		return err
	}), chromedp.Reload())
	blocked.login("op1", consolePassword)
	other := newPage(t, base, "op2")
	other.login("op2", consolePassword)

	call := placeCall(t, s, "sos-c01", sim.CallOptions{})
	alertID := callAlert(t, base, admin, "sos-c01", call.ID())
	ringing := exists(fmt.Sprintf(`#alert-detail[data-alert-id="%d"] #call-status[data-state="ringing"]`, alertID)) +
		` && !document.querySelector('#btn-answer-call').hidden && !document.querySelector('#btn-answer-call').disabled`

	// op1 answers; the hub takes the answer, the audio never comes up.
	blocked.click(rowSel(alertID))
	blocked.waitJS("the ringing call in op1's detail", ringing, waitUI)
	blocked.click("#btn-answer-call")
	clicked := time.Now()
	eventually(t, waitUI, "the hub to take op1's answer", func() (bool, string) {
		a := getAlert(t, base, admin, alertID)
		return a.Call != nil && a.Call.State == alerts.CallAnswered && a.Call.AnsweredBy == "op1", fmt.Sprintf("%+v", a.Call)
	})
	blocked.waitJS("op1's page ringing again, with the reason", ringing+
		` && window.shouwang.call.state !== 'connected' && ['media_failed', 'media_timeout'].includes(document.querySelector('#call-note').dataset.reason)`+
		` && !document.querySelector('#call-note').hidden && window.shouwang.sound.ringing === true`, 2*waitUI)
	t.Logf("answer clicked → ringing again on op1's page: %v", time.Since(clicked).Round(time.Millisecond))
	reason := evalJS[string](blocked, `document.querySelector('#call-note').dataset.reason`)
	zh := evalJS[string](blocked, `document.querySelector('#call-note').textContent`)
	blocked.screenshot("answer-released-zh")

	var released alerts.TimelineEntry
	eventually(t, waitUI, "the call ringing again at the hub, call_released on the timeline", func() (bool, string) {
		a := getAlert(t, base, admin, alertID)
		for _, e := range a.Timeline {
			if e.Action == alerts.TimelineCallReleased && e.Data["call"] == call.ID() {
				released = e
			}
		}
		return a.Call != nil && a.Call.State == alerts.CallRinging && a.Call.AnsweredBy == "" && released.Action != "",
			fmt.Sprintf("call %+v, released %+v", a.Call, released)
	})
	if released.Data["by"] != "op1" || (released.Data["reason"] != "media_failed" && released.Data["reason"] != "media_timeout") {
		t.Errorf("call_released: %+v", released.Data)
	}
	t.Logf("the page's reason %s, the hub's %s: %q", reason, released.Data["reason"], zh)
	select {
	case <-call.Done():
		t.Fatalf("the device's call ended (%s) when op1's answer failed", call.EndReason())
	default:
	}

	// The reason in English, from the same code.
	blocked.click("#lang-toggle")
	blocked.waitJS("English", `document.documentElement.lang === 'en'`, waitUI)
	en := evalJS[string](blocked, `document.querySelector('#call-note').textContent`)
	if en == zh || en == "" {
		t.Errorf("the reason in English %q, in Chinese %q", en, zh)
	}
	blocked.waitJS("the English reason", fmt.Sprintf(`document.querySelector('#call-note').textContent.includes(%q)`, "still ringing"), waitUI)
	blocked.screenshot("answer-released-en")
	t.Logf("en: %q", en)

	// Another console answers the same call and hears the resident.
	other.waitJS("op2's ringtone", `window.shouwang.sound.ringing === true`, waitUI)
	other.click(rowSel(alertID))
	other.waitJS("the ringing call in op2's detail", ringing, waitUI)
	// The release on the timeline names who answered and why it failed,
	// in words from the reason's code.
	other.waitJS("the release on op2's timeline", `(() => {
		const li = document.querySelector('#timeline li[data-action="call_released"]');
		const s = li ? li.textContent : '';
		return s.includes('op1 已接听') && /语音连接/.test(s) && !s.includes('挂断') && !s.includes('media_');
	})()`, waitUI)
	other.click("#btn-answer-call")
	other.waitJS("op2 connected", `window.shouwang.call.state === 'connected' && `+exists(`#call-status[data-state="connected"]`), waitUI)
	n0 := inboundAudio(other)
	eventually(t, waitUI, "op2 to hear the resident", func() (bool, string) {
		n := inboundAudio(other)
		return n >= n0+25, fmt.Sprintf("%v → %v", n0, n)
	})
	heard := call.Stats().PacketsReceived
	eventually(t, waitUI, "the device to hear op2", func() (bool, string) {
		st := call.Stats()
		return st.PacketsReceived >= heard+25, fmt.Sprintf("%+v", st)
	})
	if a := getAlert(t, base, admin, alertID); a.Call == nil || a.Call.State != alerts.CallAnswered || a.Call.AnsweredBy != "op2" {
		t.Errorf("the alert's call after op2's answer: %+v", a.Call)
	}
	blocked.waitJS("op1's page: answered by op2, no longer ringing", exists(`#call-status[data-state="connected"]`)+
		` && document.querySelector('#call-note').hidden && window.shouwang.sound.ringing === false`, waitUI)
	if n := evalJS[int](blocked, `window.releases.length`); n != 0 {
		t.Errorf("op1's page sent %d releases; the hub released the first call by itself", n)
	}

	// A second call: op1's page cannot apply the hub's answer, and gives
	// the call back itself (POST …/release), long before the hub would.
	call2 := placeCall(t, s, "sos-c02", sim.CallOptions{})
	alert2 := callAlert(t, base, admin, "sos-c02", call2.ID())
	ringing2 := exists(fmt.Sprintf(`#alert-detail[data-alert-id="%d"] #call-status[data-state="ringing"]`, alert2)) +
		` && !document.querySelector('#btn-answer-call').hidden && !document.querySelector('#btn-answer-call').disabled`
	blocked.click(rowSel(alert2))
	blocked.waitJS("the second call ringing in op1's detail", ringing2, waitUI)
	evalJS[bool](blocked, `window.failRemote = true`)
	blocked.click("#btn-answer-call")
	blocked.waitJS("op1's release answered by the hub", `window.releases.length === 1 && window.releases[0] === 204`, waitUI)
	blocked.waitJS("the second call ringing again on op1's page, with the reason", ringing2+
		` && document.querySelector('#call-note').dataset.reason === 'media_failed' && document.querySelector('#call-note').textContent.includes('still ringing')`, waitUI)
	eventually(t, waitUI, "the second call ringing again at the hub", func() (bool, string) {
		a := getAlert(t, base, admin, alert2)
		for _, e := range a.Timeline {
			if e.Action == alerts.TimelineCallReleased && e.Data["call"] == call2.ID() && e.Data["by"] == "op1" && e.Data["reason"] == "media_failed" {
				return a.Call != nil && a.Call.State == alerts.CallRinging, fmt.Sprintf("%+v", a.Call)
			}
		}
		return false, fmt.Sprintf("%+v", a.Call)
	})
	select {
	case <-call2.Done():
		t.Fatalf("the second call ended (%s) when op1 released it", call2.EndReason())
	default:
	}
}
