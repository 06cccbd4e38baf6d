package voice

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
)

// A call end to end: the device offers and rings, an operator answers,
// audio flows both ways through the hub and is recorded each way, the
// operator hangs up and everything closes.
func TestCallRelaysBothWaysAndRecords(t *testing.T) {
	f := newFixture(t, nil)
	clip := clipFrames(t)
	// Three packets from the device are lost, one where the sequence
	// numbers wrap.
	fromDevice, fromConsole := schedule(clip[:60], 65530, 65534, 0, 7), schedule(clip[60:120], 100)

	dev := f.call(t, "dev-1", "c1")
	ring := f.events.of("c1")[0]
	wantRec := filepath.Join(f.dir, "calls", "c1", "device.ogg")
	if ring.Type != CallRinging || ring.Call.State != CallRinging || ring.Call.DeviceID != "dev-1" || ring.Call.Recordings["device"] != wantRec {
		t.Fatalf("first event %+v", ring)
	}
	if calls := f.m.Calls(); len(calls) != 1 || calls[0].ID != "c1" {
		t.Fatalf("Calls() = %+v", calls)
	}

	con := f.answer(t, "c1", "alice")
	ans := f.events.wait(t, "c1", CallAnswered)
	if ans.Call.AnsweredBy != "alice" || ans.Call.AnsweredAt.IsZero() || ans.Call.Recordings["console"] == "" {
		t.Errorf("answered event %+v", ans.Call)
	}
	hc := f.hubCall(t, "c1")
	dev.waitConnected()
	con.waitConnected()
	f.waitHubConnected(t, "c1")

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); dev.send(fromDevice) }()
	go func() { defer wg.Done(); con.send(fromConsole) }()
	wg.Wait()
	waitFor(t, "the console to hear the device", func() bool { return len(con.received()) >= 60 })
	waitFor(t, "the device to hear the console", func() bool { return len(dev.received()) >= 60 })
	if !slices.EqualFunc(con.received(), heard(fromDevice), bytes.Equal) {
		t.Error("the console did not hear exactly what the device said")
	}
	if !slices.EqualFunc(dev.received(), heard(fromConsole), bytes.Equal) {
		t.Error("the device did not hear exactly what the console said")
	}

	if err := f.m.Hangup(context.Background(), "c1", "alice"); err != nil {
		t.Fatal(err)
	}
	evs := f.events.of("c1")
	if types := eventTypes(evs); !slices.Equal(types, []CallState{CallRinging, CallAnswered, CallEnded}) {
		t.Fatalf("events %v", types)
	}
	end := evs[2].Call
	if end.State != CallEnded || end.EndReason != EndHangup || end.EndedBy != "alice" || end.EndedAt.Before(end.AnsweredAt) {
		t.Errorf("ended event %+v", end)
	}
	if h := f.sig.find("c1", "hangup"); len(h) != 1 || h[0].Reason != "hangup" || h[0].DeviceID != "dev-1" {
		t.Errorf("the device was told %+v, want one hangup", h)
	}
	checkClosed(t, hc)
	waitGone(t, con)
	waitGone(t, dev)

	for side, want := range map[string][][]byte{"device": recorded(fromDevice), "console": recorded(fromConsole)} {
		checkRecording(t, end.Recordings[side], want)
	}
	st := f.m.Stats()
	if st.Active != 0 || st.Total != 1 || st.DeviceToConsole < 60 || st.ConsoleToDevice < 60 || st.LostFromDevice != 3 || st.LostFromConsole != 0 {
		t.Errorf("stats %+v", st)
	}
	if ci, ok := f.m.Call("c1"); !ok || ci.State != CallEnded {
		t.Errorf("Call(c1) after the end = %+v, %v", ci, ok)
	}
	if len(f.m.Calls()) != 0 {
		t.Errorf("Calls() after the end = %+v", f.m.Calls())
	}
	if err := f.m.Hangup(context.Background(), "c1", "bob"); err != nil {
		t.Errorf("second hang-up: %v", err)
	}
	if _, err := f.m.Answer(context.Background(), "c1", "bob", con.pc.LocalDescription().SDP); shouwang.ErrorCode(err) != shouwang.ECONFLICT {
		t.Errorf("answer after the end: %v, want conflict", err)
	}
}

// checkRecording parses an Ogg/Opus recording and compares its packets
// with what was sent; its length follows from the granule positions.
func checkRecording(t *testing.T, path string, want [][]byte) {
	t.Helper()
	s := oggtest.ReadFile(t, path)
	s.Check(t, path)
	if !slices.EqualFunc(s.Packets, want, bytes.Equal) {
		t.Errorf("%s: %d packets, not the %d expected", path, len(s.Packets), len(want))
	}
	secs := s.Duration().Seconds()
	wantSecs := float64(len(want)) * 0.020
	if math.Abs(secs-wantSecs) > 0.05 {
		t.Errorf("%s: %.3f s long, want about %.2f s", path, secs, wantSecs)
	}
}

// checkClosed checks that the hub closed both of a call's connections.
func checkClosed(t *testing.T, c *call) {
	t.Helper()
	c.mu.Lock()
	pcs := map[string]*webrtc.PeerConnection{"device": c.devicePC, "console": c.consolePC}
	c.mu.Unlock()
	for side, pc := range pcs {
		if pc == nil {
			t.Errorf("no %s peer connection", side)
		} else if s := pc.ConnectionState(); s != webrtc.PeerConnectionStateClosed {
			t.Errorf("the hub's %s peer connection is %s", side, s)
		}
	}
}

func eventTypes(evs []CallEvent) []CallState {
	var out []CallState
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// waitGone waits for a test peer to see its connection to the hub end.
func waitGone(t *testing.T, p *testPeer) {
	t.Helper()
	waitFor(t, p.name+" to see the call end", func() bool {
		s := p.pc.ConnectionState()
		return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
	})
}

// The device hangs up: the call ends on every side and the device is not
// told what it said itself.
func TestDeviceHangsUp(t *testing.T) {
	f := newFixture(t, nil)
	dev := f.call(t, "dev-1", "c1")
	con := f.answer(t, "c1", "alice")
	dev.waitConnected()
	con.waitConnected()
	hc := f.hubCall(t, "c1")

	if err := f.m.DeviceMessage(context.Background(), "dev-1", "hangup", []byte(`{"call":"c1","reason":"hangup"}`)); err != nil {
		t.Fatal(err)
	}
	end := f.events.wait(t, "c1", CallEnded).Call
	if end.EndReason != EndHangup || end.EndedBy != EndedByDevice || end.AnsweredBy != "alice" {
		t.Errorf("ended %+v", end)
	}
	if h := f.sig.find("c1", "hangup"); len(h) != 0 {
		t.Errorf("the device was sent %+v after hanging up itself", h)
	}
	checkClosed(t, hc)
	waitGone(t, con)
	// A hang-up from another device, or for a call gone, changes nothing.
	if err := f.m.DeviceMessage(context.Background(), "dev-2", "hangup", []byte(`{"call":"c1"}`)); err != nil {
		t.Error(err)
	}
}

// A device hangs up while still ringing; another device's hang-up for the
// call is ignored.
func TestDeviceHangsUpRinging(t *testing.T) {
	f := newFixture(t, nil)
	f.call(t, "dev-1", "c1")
	if err := f.m.DeviceMessage(context.Background(), "dev-2", "hangup", []byte(`{"call":"c1"}`)); err != nil {
		t.Fatal(err)
	}
	if ci, _ := f.m.Call("c1"); ci.State != CallRinging {
		t.Fatalf("another device hung up dev-1's call: %+v", ci)
	}
	if err := f.m.DeviceMessage(context.Background(), "dev-1", "hangup", []byte(`{"call":"c1","reason":"timeout"}`)); err != nil {
		t.Fatal(err)
	}
	if end := f.events.wait(t, "c1", CallEnded).Call; end.EndReason != EndTimeout || end.EndedBy != EndedByDevice || end.AnsweredBy != "" {
		t.Errorf("ended %+v", end)
	}
	if types := eventTypes(f.events.of("c1")); !slices.Equal(types, []CallState{CallRinging, CallEnded}) {
		t.Errorf("events %v", types)
	}
}

// A peer that vanishes without a word (its network cut) ends the call
// within PeerTimeout and a margin, with reason peer_gone, on every side.
func TestPeerVanishes(t *testing.T) {
	for _, side := range []string{"device", "console"} {
		t.Run(side, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.PeerTimeout = testPeerTimeout })
			dev := f.call(t, "dev-1", "c1")
			con := f.answer(t, "c1", "alice")
			dev.waitConnected()
			con.waitConnected()
			gone, other := dev, con
			if side == "console" {
				gone, other = con, dev
			}
			start := time.Now()
			gone.vanish()
			end := f.events.wait(t, "c1", CallEnded).Call
			took, limit := time.Since(start), testPeerTimeout+2*time.Second
			t.Logf("the call ended %s after the %s vanished (PeerTimeout %s)", took.Round(time.Millisecond), side, testPeerTimeout)
			if took > limit {
				t.Errorf("the call ended %s after the %s vanished, want within %s", took, side, limit)
			}
			if end.EndReason != EndPeerGone || end.EndedBy != "" {
				t.Errorf("ended %+v", end)
			}
			if h := f.sig.find("c1", "hangup"); len(h) != 1 || h[0].Reason != "peer_gone" {
				t.Errorf("the device was told %+v", h)
			}
			waitGone(t, other)
			if st := f.m.Stats(); st.Active != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A device calling when MaxCalls calls are up hears busy.
func TestBusy(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxCalls = 1 })
	f.call(t, "dev-1", "c1")
	dev2 := newTestPeer(t, "device dev-2", false)
	offer, _ := json.Marshal(offerMsg{Call: "c2", SDP: dev2.offer()})
	if err := f.m.DeviceMessage(context.Background(), "dev-2", "offer", offer); err != nil {
		t.Fatalf("busy offer: %v", err)
	}
	if h := f.sig.find("c2", "hangup"); len(h) != 1 || h[0].Reason != "busy" || h[0].DeviceID != "dev-2" {
		t.Errorf("dev-2 was told %+v, want busy", h)
	}
	if len(f.sig.find("c2", "answer")) != 0 {
		t.Error("dev-2 got an answer")
	}
	if _, ok := f.m.Call("c2"); ok {
		t.Error("the busy call is known")
	}
	if st := f.m.Stats(); st.Busy != 1 || st.Active != 1 || st.Total != 1 {
		t.Errorf("stats %+v", st)
	}
}
