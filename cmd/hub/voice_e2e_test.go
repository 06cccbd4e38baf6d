package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestVoiceThreePeers runs one-button calls through the real hub with three
// real WebRTC peers: a devsim device ⇄ the hub's relay ⇄ a pion console
// peer answering through the console API. Audio flows both ways, both sides
// are recorded as Ogg/Opus of about the call's length, a hang-up from
// either side ends the call on all three without leaking goroutines, and
// refusals (a voice-less device, a malformed offer, an answer without a
// session, a call over the cap) leave nothing running.
func TestVoiceThreePeers(t *testing.T) {
	influx := testenv.Influx(t)
	data := t.TempDir()
	m := startHub(t, hubOptions{Influx: influx, DataDir: data, Args: []string{"-max-calls", "1"}})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	loc := devices.Location{Community: "阳光社区", Building: "3号楼", Household: "3-2-502"}
	specs := register(t, base, []*devices.Device{
		{ID: "sos-v1", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc},
		{ID: "sos-v2", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc},
		{ID: "sos-mute", Kind: devices.KindSOSButton, Location: loc},
	})
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), specs)
	dir := t.TempDir()
	before := runtime.NumGoroutine()

	// A call from the device, answered by the console peer.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := s.Call(ctx, "sos-v1", sim.CallOptions{Record: filepath.Join(dir, "device-hears.ogg")})
	if err != nil {
		t.Fatal(err)
	}
	var alert *alerts.Alert
	eventually(t, 10*time.Second, "the call ringing on an sos alert", func() (bool, string) {
		as := findAlerts(t, base, token, "sos-v1")
		if len(as) == 1 && as[0].Call != nil && as[0].Call.ID == dev.ID() && as[0].Call.State == alerts.CallRinging {
			alert = as[0]
			return true, ""
		}
		return false, fmt.Sprintf("%+v", as)
	})
	if alert.Kind != alerts.KindSOS || alert.Severity != alerts.SeverityCritical {
		t.Fatalf("call alert = %s %s", alert.Kind, alert.Severity)
	}
	// Over the cap (one call): a second device hears busy.
	busy, err := s.Call(ctx, "sos-v2", sim.CallOptions{})
	if !errors.Is(err, sim.ErrCallEnded) || busy.EndReason() != sim.ReasonBusy {
		t.Fatalf("a call over the cap: %v, reason %q", err, busy.EndReason())
	}

	con, err := sim.AnswerAsConsole(ctx, base, token, dev.ID(), sim.CallOptions{Record: filepath.Join(dir, "console-hears.ogg")})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "audio both ways", func() (bool, string) {
		d, c := dev.Stats(), con.Stats()
		return d.PacketsReceived > 100 && c.PacketsReceived > 100, fmt.Sprintf("device got %d, console got %d", d.PacketsReceived, c.PacketsReceived)
	})
	answeredAt := time.Now()
	a := getAlert(t, base, token, alert.ID)
	if a.Call.State != alerts.CallAnswered || a.Call.AnsweredBy != "admin" || a.State != alerts.StateAccepted {
		t.Fatalf("after answering: call %+v, alert state %s", a.Call, a.State)
	}
	// The accept by answering is measured like an accept at the console
	// (just after the commit the API has already shown).
	eventually(t, 10*time.Second, "the accept in the time-to-accept histogram", func() (bool, string) {
		n := metric(t, base, "shouwang_alert_time_to_seconds_count", `severity="critical",step="accept"`)
		return n == 1, fmt.Sprintf("%v accepts", n)
	})
	<-time.After(2 * time.Second) // let the call last long enough to check the recordings' length

	// The console hangs up: all three end.
	if err := con.Hangup(); err != nil {
		t.Fatal(err)
	}
	callLength := time.Since(answeredAt)
	select {
	case <-dev.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the device's call did not end after the console hung up")
	}
	if dev.EndReason() != sim.ReasonHangup {
		t.Fatalf("device end reason %q", dev.EndReason())
	}
	eventually(t, 10*time.Second, "no call left in the hub", func() (bool, string) {
		n := len(m.calls.Manager().Calls())
		return n == 0, fmt.Sprint(n)
	})
	eventually(t, 10*time.Second, "the call's end and recordings on the timeline", func() (bool, string) {
		a := getAlert(t, base, token, alert.ID)
		return a.Call.State == alerts.CallEnded && timelineCount(a, alerts.TimelineCallEnded) == 1, fmt.Sprintf("%+v", a.Call)
	})
	for _, side := range []string{"device", "console"} {
		pages, length := oggOpusPages(t, filepath.Join(data, "calls", dev.ID(), side+".ogg"))
		if pages < 100 || length < callLength-time.Second || length > callLength+10*time.Second {
			t.Fatalf("%s recording: %d pages, %v long; the call lasted about %v", side, pages, length, callLength)
		}
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/calls/%s/recordings/%s", base, dev.ID(), side))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a recording without a session: %d", resp.StatusCode)
		}
	}
	if pages, _ := oggOpusPages(t, filepath.Join(dir, "device-hears.ogg")); pages < 100 {
		t.Fatalf("the device recorded %d pages of the console's audio", pages)
	}

	// A second call, hung up by the device.
	dev2, err := s.Call(ctx, "sos-v1", sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	con2, err := sim.AnswerAsConsole(ctx, base, token, dev2.ID(), sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "audio on the second call", func() (bool, string) {
		return con2.Stats().PacketsReceived > 20, fmt.Sprint(con2.Stats().PacketsReceived)
	})
	if err := dev2.Hangup(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-con2.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the console's call did not end after the device hung up")
	}
	eventually(t, 10*time.Second, "no call left after the device hung up", func() (bool, string) {
		n := len(m.calls.Manager().Calls())
		return n == 0, fmt.Sprint(n)
	})

	// Refusals.
	if _, err := s.Call(ctx, "sos-mute", sim.CallOptions{}); !errors.Is(err, sim.ErrCallEnded) {
		t.Fatalf("a voice-less device's call: %v", err)
	}
	if err := s.Publish("sos-v1", devices.Channel("call/offer"), []byte(`{"call":"bad-1","sdp":"not an sdp"}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the malformed offer refused and counted", func() (bool, string) {
		v := metric(t, base, "shouwang_calls_refused_total", `reason="invalid"`)
		nv := metric(t, base, "shouwang_calls_refused_total", `reason="not_voice_capable"`)
		return v >= 1 && nv >= 1, fmt.Sprint(v, nv)
	})
	dev3, err := s.Call(ctx, "sos-v1", sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(fmt.Sprintf("%s/api/v1/calls/%s/answer", base, dev3.ID()), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an answer without a session: %d", resp.StatusCode)
	}
	if err := dev3.Hangup(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "nothing left running", func() (bool, string) {
		n := len(m.calls.Manager().Calls())
		g := runtime.NumGoroutine()
		return n == 0 && g <= before+5, fmt.Sprintf("%d calls, %d goroutines (%d before)", n, g, before)
	})
}
