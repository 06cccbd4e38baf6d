package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/webrtc/v3/pkg/media/oggreader"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// callDevices are two voice-capable call buttons.
func callDevices() []*devices.Device {
	loc := func(h string) devices.Location {
		return devices.Location{Community: "阳光社区", Grid: "网格一", Building: "6号楼", Unit: "1单元", Floor: "2", Household: h}
	}
	return []*devices.Device{
		{ID: "sos-c01", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc("6-1-201"),
			Resident: devices.Resident{Name: "张桂芳", BirthYear: 1936, LivesAlone: true}},
		{ID: "sos-c02", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc("6-1-202"),
			Resident: devices.Resident{Name: "周建国", BirthYear: 1940, LivesAlone: true}},
	}
}

// TestBrowserCall answers a resident's voice call in real Chromium (its
// fake microphone) against the real hub: two devsim calls ring at once on
// their alerts, each with how long it has waited, and the ringtone sounds;
// the operator answers one in the page and audio flows both ways (the
// page's getStats and the device's own count and recording); the hang-up on
// the page ends the call on the device; the recordings appear on the
// timeline and are served as Ogg/Opus; a call-back from the page rings the
// device, whose call the page answers by itself, and the device's hang-up
// ends it on the page.
func TestBrowserCall(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	dir := t.TempDir()
	s := connectCallDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, callDevices()), filepath.Join(dir, "callbacks"))
	op := newPage(t, base, "op1")
	parent := t

	var (
		call1, call2 *sim.Call
		alert1       int64
		deviceRec    = filepath.Join(dir, "device-heard.ogg")
	)
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"two calls ring with their waits and the ringtone", func(t *testing.T) {
			op.login("op1", consolePassword)
			if evalJS[bool](op, `window.shouwang.sound.ringing`) {
				t.Fatal("the ringtone sounds before any call")
			}
			call1 = placeCall(t, s, "sos-c01", sim.CallOptions{Record: deviceRec})
			alert1 = callAlert(t, base, admin, "sos-c01", call1.ID())
			op.waitJS("the first call ringing in the queue", exists(rowSel(alert1)+`[data-call="ringing"] .call-wait`), waitUI)
			op.waitJS("the ringtone", `window.shouwang.sound.ringing === true && document.body.dataset.ring === 'on'`, waitUI)
			call2 = placeCall(t, s, "sos-c02", sim.CallOptions{})
			alert2 := callAlert(t, base, admin, "sos-c02", call2.ID())
			op.waitJS("both calls ringing", fmt.Sprintf(`document.querySelectorAll('#queue tr.alert-row[data-call="ringing"]').length === 2 && %s`,
				exists(rowSel(alert2)+`[data-call="ringing"] .call-wait`)), waitUI)
			// Each row counts its own wait, the first call's the longer.
			first := evalJS[string](op, fmt.Sprintf(`document.querySelector(%q).textContent`, rowSel(alert1)+" .call-wait"))
			op.waitJS("the waits to count up", fmt.Sprintf(`document.querySelector(%q).textContent !== %q`, rowSel(alert1)+" .call-wait", first), waitUI)
			w1 := clockSeconds(t, evalJS[string](op, fmt.Sprintf(`document.querySelector(%q).textContent`, rowSel(alert1)+" .call-wait")))
			w2 := clockSeconds(t, evalJS[string](op, fmt.Sprintf(`document.querySelector(%q).textContent`, rowSel(alert2)+" .call-wait")))
			if w1 < w2 {
				t.Errorf("the first call shows a wait of %ds, shorter than the second's %ds", w1, w2)
			}
			// The ringtone is its own sound: the new alerts' alarm plays too.
			if !evalJS[bool](op, `window.shouwang.sound.playing === true`) {
				t.Error("the alarm of the new sos alerts stopped for the ringtone")
			}
			t.Logf("waits shown: %ds and %ds", w1, w2)
			op.screenshot("calls-ringing")
		}},
		{"answer in the browser: audio both ways", func(t *testing.T) {
			heardBefore := call1.Stats().PacketsReceived
			op.click(rowSel(alert1))
			op.waitJS("the ringing call in the detail", exists(fmt.Sprintf(`#alert-detail[data-alert-id="%d"] #call-status[data-state="ringing"]`, alert1))+
				` && !document.querySelector('#btn-answer-call').hidden`, waitUI)
			op.click("#btn-answer-call")
			clicked := time.Now()
			op.waitJS("the call connected", `window.shouwang.call.state === 'connected' && `+exists(`#call-status[data-state="connected"]`)+
				` && !document.querySelector('#btn-hangup-call').hidden`, waitUI)
			t.Logf("answer clicked → connected: %v", time.Since(clicked))
			// On a call, this console's ringtone stops though another rings.
			op.waitJS("the ringtone to stop while on the call", `window.shouwang.sound.ringing === false && document.body.dataset.ring === 'off'`, waitUI)
			if n := op.rows(`[data-call="ringing"]`); n != 1 {
				t.Errorf("%d rows ringing, want the second call's", n)
			}

			// The resident's voice reaches the page...
			n0 := inboundAudio(op)
			eventually(t, waitUI, "the page's inbound audio packets to increase", func() (bool, string) {
				n := inboundAudio(op)
				return n >= n0+25, fmt.Sprintf("%v → %v", n0, n)
			})
			// ...and the page's microphone reaches the device.
			eventually(t, waitUI, "the device to hear the browser", func() (bool, string) {
				st := call1.Stats()
				return st.PacketsReceived >= heardBefore+25, fmt.Sprintf("%+v", st)
			})
			a := getAlert(t, base, admin, alert1)
			if a.Call == nil || a.Call.ID != call1.ID() || a.Call.State != alerts.CallAnswered || a.Call.AnsweredBy != "op1" {
				t.Fatalf("the alert's call after the answer: %+v", a.Call)
			}
			if a.State != alerts.StateAccepted || a.Assignee != "op1" {
				t.Errorf("answering did not accept the alert for op1: state %s, assignee %q", a.State, a.Assignee)
			}
			op.screenshot("call-connected")
		}},
		{"hang up on the page ends the call on the device", func(t *testing.T) {
			op.click("#btn-hangup-call")
			select {
			case <-call1.Done():
			case <-time.After(waitUI):
				t.Fatalf("the device's call did not end after the page hung up: %+v", call1.Stats())
			}
			if r := call1.EndReason(); r != sim.ReasonHangup {
				t.Errorf("the device's call ended with %q, want %q", r, sim.ReasonHangup)
			}
			op.waitJS("the call ended on the page", `window.shouwang.call.state === 'ended' && `+exists(`#call-status[data-state="ended"]`)+
				` && document.querySelector('#btn-hangup-call').hidden`, waitUI)
			eventually(t, waitUI, "the alert's call to end", func() (bool, string) {
				a := getAlert(t, base, admin, alert1)
				return a.Call != nil && a.Call.State == alerts.CallEnded, fmt.Sprintf("%+v", a.Call)
			})
			// The second call still rings, and this console is free again.
			op.waitJS("the ringtone for the call still waiting", `window.shouwang.sound.ringing === true`, waitUI)
			pages, dur := oggOpusPages(t, deviceRec)
			t.Logf("the device's recording of the browser: %d pages, %v", pages, dur)
			if pages < 25 {
				t.Errorf("the device recorded %d pages of the browser's audio, want at least 25 (half a second)", pages)
			}
		}},
		{"recordings on the timeline, served as Ogg/Opus", func(t *testing.T) {
			var ended alerts.TimelineEntry
			eventually(t, waitUI, "call_ended with both recordings on the timeline", func() (bool, string) {
				for _, e := range getAlert(t, base, admin, alert1).Timeline {
					if e.Action == alerts.TimelineCallEnded && e.Data["call"] == call1.ID() {
						ended = e
					}
				}
				return ended.Data["recording_device"] != "" && ended.Data["recording_console"] != "", fmt.Sprintf("%+v", ended)
			})
			players := fmt.Sprintf(`#timeline li[data-action="call_ended"] audio[data-call=%q]`, call1.ID())
			op.waitJS("the players on the timeline", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, players), waitUI)
			// The page's own players fetch them with its session.
			got := awaitJS[string](op, fmt.Sprintf(`Promise.all([...document.querySelectorAll(%q)].map(async a => {
				const r = await fetch(a.src, {credentials: 'same-origin'});
				const b = new Uint8Array(await r.arrayBuffer());
				return a.dataset.side + ' ' + r.status + ' ' + r.headers.get('content-type') + ' ' + String.fromCharCode(...b.slice(0, 4)) + ' ' + b.length;
			})).then(l => l.sort().join('; '))`, players))
			t.Logf("the page's players: %s", got)
			for _, side := range []string{"console", "device"} {
				if !strings.Contains(got, side+" 200 audio/ogg OggS ") {
					t.Errorf("the page's %s player did not get an Ogg file: %s", side, got)
				}
				path := filepath.Join(t.TempDir(), side+".ogg")
				fetchRecording(t, fmt.Sprintf("%s/api/v1/calls/%s/recordings/%s", base, call1.ID(), side), admin, path)
				pages, dur := oggOpusPages(t, path)
				t.Logf("the hub's %s recording: %d pages, %v", side, pages, dur)
				if pages < 25 {
					t.Errorf("the hub's %s recording has %d pages, want at least 25", side, pages)
				}
			}
			op.screenshot("call-recordings")
		}},
		{"call back from the page; the device hangs up", func(t *testing.T) {
			if err := call2.Hangup(); err != nil {
				t.Fatal(err)
			}
			op.waitJS("no call ringing", `document.querySelectorAll('#queue tr.alert-row[data-call="ringing"]').length === 0 && window.shouwang.sound.ringing === false`, waitUI)
			op.click(rowSel(alert1))
			op.waitJS("the call-back button", fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d' && !document.querySelector('#btn-callback').hidden`, alert1), waitUI)
			op.click("#btn-callback")
			clicked := time.Now()
			op.waitJS("the device's call answered by the page", `window.shouwang.call.state === 'connected' && window.shouwang.call.id !== `+strconv.Quote(call1.ID()), waitUI)
			t.Logf("call back clicked → connected: %v", time.Since(clicked))
			back := s.Calls("sos-c01")
			if len(back) != 1 {
				t.Fatalf("the device has %d calls after the call-back, want 1", len(back))
			}
			if id := evalJS[string](op, `window.shouwang.call.id`); id != back[0].ID() {
				t.Fatalf("the page is on call %q, the device on %q", id, back[0].ID())
			}
			n0 := inboundAudio(op)
			eventually(t, waitUI, "audio of the call-back on the page", func() (bool, string) {
				n := inboundAudio(op)
				return n >= n0+25, fmt.Sprintf("%v → %v", n0, n)
			})
			if _, err := s.HangupCalls("sos-c01"); err != nil {
				t.Fatal(err)
			}
			op.waitJS("the device's hang-up on the page", `window.shouwang.call.state === 'ended' && `+exists(`#call-status[data-state="ended"]`), waitUI)
			eventually(t, waitUI, "the hub to have no calls left", func() (bool, string) {
				n := len(m.calls.Manager().Calls())
				return n == 0, fmt.Sprint(n)
			})
		}},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			op.t = t
			defer func() { op.t = parent }()
			st.run(t)
		})
		if !ok {
			return // later steps build on this one
		}
	}
}

// connectCallDevices connects the devices as real MQTT clients that publish
// only what the test tells them to and call back when asked, recording
// those calls in recordDir.
func connectCallDevices(t *testing.T, brokerURL string, specs []sim.DeviceSpec, recordDir string) *sim.Sim {
	t.Helper()
	if err := os.MkdirAll(recordDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return runSim(t, sim.Config{BrokerURL: brokerURL, Devices: specs, EventsOnly: true, AnswerCallRequests: true, CallRecordDir: recordDir})
}

// placeCall has device id call the duty room; it returns once the hub has
// taken the call (it rings at the consoles).
func placeCall(t *testing.T, s *sim.Sim, id string, opts sim.CallOptions) *sim.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitUI)
	defer cancel()
	c, err := s.Call(ctx, id, opts)
	if err != nil {
		t.Fatalf("call from %s: %v", id, err)
	}
	return c // the Sim hangs up whatever is left when it closes
}

// callAlert waits for the device's open sos alert to carry the ringing call
// and returns the alert's id.
func callAlert(t *testing.T, base, token, device, callID string) int64 {
	t.Helper()
	var id int64
	eventually(t, waitUI, "the call on "+device+"'s alert", func() (bool, string) {
		for _, a := range findAlerts(t, base, token, device) {
			if a.Kind == alerts.KindSOS && a.State.Open() && a.Call != nil && a.Call.ID == callID && a.Call.State == alerts.CallRinging {
				id = a.ID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d alerts", len(findAlerts(t, base, token, device)))
	})
	return id
}

// awaitJS evaluates a JavaScript expression whose value is a promise, and
// returns what it resolves to.
func awaitJS[T any](p *browserPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitUI)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// inboundAudio is the audio packets the page's call has received so far, by
// its peer connection's getStats (-1 without a connection).
func inboundAudio(p *browserPage) float64 {
	p.t.Helper()
	return awaitJS[float64](p, `(async () => {
		const pc = window.shouwang.call.pc;
		if (!pc || pc.connectionState === 'closed') return -1;
		let n = 0;
		(await pc.getStats()).forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived || 0; });
		return n;
	})()`)
}

// clockSeconds reads a timer the page shows as m:ss or h:mm:ss.
func clockSeconds(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for part := range strings.SplitSeq(strings.TrimSpace(s), ":") {
		v, err := strconv.Atoi(part)
		if err != nil {
			t.Fatalf("timer %q: %v", s, err)
		}
		n = n*60 + v
	}
	return n
}

// fetchRecording downloads a call recording, checking it is served as
// audio/ogg, to path.
func fetchRecording(t *testing.T, url, token, path string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/ogg" {
		t.Fatalf("GET %s: %d %q: %.200s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oggOpusPages checks that path is a valid Ogg/Opus file (an OpusHead
// header, every page's checksum) and returns its number of audio pages and
// the duration its last granule position says.
func oggOpusPages(t *testing.T, path string) (int, time.Duration) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, head, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatalf("%s is not an Ogg/Opus file: %v", path, err)
	}
	if head.SampleRate == 0 || head.Channels == 0 {
		t.Fatalf("%s: OpusHead %+v", path, head)
	}
	pages := 0
	var granule uint64
	for {
		payload, ph, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: page %d: %v", path, pages+2, err)
		}
		if strings.HasPrefix(string(payload), "OpusTags") {
			continue
		}
		pages++
		granule = ph.GranulePosition
	}
	return pages, time.Duration(granule) * time.Second / 48000
}
