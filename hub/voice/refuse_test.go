package voice

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shouwang-hub/shouwang"
)

const videoOnlySDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\n"
const pcmuOnlySDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n"

// Bad offers are refused with EINVALID; the device is told (reason
// refused) whenever its call id can be read, and nothing is left behind.
func TestRefusals(t *testing.T) {
	f := newFixture(t, nil)
	dev := newTestPeer(t, "device", false)
	noFingerprint := regexp.MustCompile(`(?m)^a=fingerprint:.*\r\n`).ReplaceAllString(dev.offer(), "")
	offer := func(id, sdp string) []byte {
		b, _ := json.Marshal(offerMsg{Call: id, SDP: sdp})
		return b
	}
	cases := []struct {
		name, sub string
		payload   []byte
		told      string // the call id the device hears "refused" for, if any
	}{
		{"not JSON", "offer", []byte(`{"call":`), ""},
		{"JSON of the wrong shape", "offer", []byte(`["c1"]`), ""},
		{"no call id", "offer", offer("", dev.offer()), ""},
		{"bad call id", "offer", offer("../etc", dev.offer()), ""},
		{"call id too long", "offer", offer(strings.Repeat("a", 65), dev.offer()), ""},
		{"oversized", "offer", offer("big", strings.Repeat("x", MaxPayload)), "big"},
		{"empty SDP", "offer", offer("r1", ""), "r1"},
		{"malformed SDP", "offer", offer("r2", "hello, I need help"), "r2"},
		{"no audio", "offer", offer("r3", videoOnlySDP), "r3"},
		{"no Opus", "offer", offer("r4", pcmuOnlySDP), "r4"},
		{"no DTLS fingerprint", "offer", offer("r5", noFingerprint), "r5"},
		{"unknown message", "candidate", offer("r6", dev.offer()), ""},
		{"hang-up not JSON", "hangup", []byte(`hangup`), ""},
	}
	for _, tc := range cases {
		err := f.m.DeviceMessage(context.Background(), "dev-1", tc.sub, tc.payload)
		if shouwang.ErrorCode(err) != shouwang.EINVALID {
			t.Errorf("%s: %v, want invalid", tc.name, err)
		}
		if tc.told != "" {
			if h := f.sig.find(tc.told, "hangup"); len(h) != 1 || h[0].Reason != "refused" {
				t.Errorf("%s: the device was told %+v, want refused", tc.name, h)
			}
		}
	}
	f.sig.mu.Lock()
	for _, m := range f.sig.msgs {
		if m.Sub != "hangup" || m.Reason != "refused" {
			t.Errorf("sent %+v", m)
		}
	}
	f.sig.mu.Unlock()
	if st := f.m.Stats(); st.Active != 0 || st.Total != 1 || st.Refused != 11 {
		t.Errorf("stats %+v, want the one offer that got as far as pion counted and 11 refused", st)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.dir, "calls")); len(entries) != 0 {
		t.Errorf("refused calls left %d folders", len(entries))
	}
	if len(f.events.of("r5")) != 0 {
		t.Error("a refused call had events")
	}
}

// A redelivered offer (MQTT QoS 1) is ignored; the same call id from
// another device is refused; an id used before this run is refused.
func TestDuplicateOffers(t *testing.T) {
	f := newFixture(t, nil)
	dev := newTestPeer(t, "device", false)
	payload, _ := json.Marshal(offerMsg{Call: "c1", SDP: dev.offer()})
	for range 2 {
		if err := f.m.DeviceMessage(context.Background(), "dev-1", "offer", payload); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.sig.find("c1", "answer")); n != 1 {
		t.Errorf("%d answers", n)
	}
	if n := len(f.events.of("c1")); n != 1 {
		t.Errorf("%d events", n)
	}
	if err := f.m.DeviceMessage(context.Background(), "dev-2", "offer", payload); shouwang.ErrorCode(err) != shouwang.ECONFLICT {
		t.Errorf("another device's offer with the same id: %v", err)
	}
	if h := f.sig.find("c1", "hangup"); len(h) != 1 || h[0].DeviceID != "dev-2" || h[0].Reason != "refused" {
		t.Errorf("hang-ups %+v", h)
	}
	if err := f.m.Hangup(context.Background(), "c1", "alice"); err != nil {
		t.Fatal(err)
	}
	// Redelivered after the end: still ignored.
	if err := f.m.DeviceMessage(context.Background(), "dev-1", "offer", payload); err != nil {
		t.Fatal(err)
	}
	if st := f.m.Stats(); st.Total != 1 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}

	// A call folder left from an earlier run is never overwritten.
	if err := os.MkdirAll(filepath.Join(f.dir, "calls", "old"), 0o750); err != nil {
		t.Fatal(err)
	}
	old, _ := json.Marshal(offerMsg{Call: "old", SDP: dev.offer()})
	if err := f.m.DeviceMessage(context.Background(), "dev-1", "offer", old); shouwang.ErrorCode(err) != shouwang.ECONFLICT {
		t.Errorf("offer for a used call id: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "calls", "old")); err != nil {
		t.Errorf("the earlier call's folder: %v", err)
	}
}

// Answer's refusals: unknown call, bad SDP (the call keeps ringing), a
// second operator (told who answered).
func TestAnswerConflicts(t *testing.T) {
	f := newFixture(t, nil)
	f.call(t, "dev-1", "c1")
	con := newTestPeer(t, "console bob", true)
	offer := con.offer()
	ctx := context.Background()
	if _, err := f.m.Answer(ctx, "nope", "bob", offer); shouwang.ErrorCode(err) != shouwang.ENOTFOUND {
		t.Errorf("unknown call: %v", err)
	}
	if _, err := f.m.Answer(ctx, "c1", "bob", "garbage"); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("bad SDP: %v", err)
	}
	noFingerprint := regexp.MustCompile(`(?m)^a=fingerprint:.*\r\n`).ReplaceAllString(offer, "")
	if _, err := f.m.Answer(ctx, "c1", "bob", noFingerprint); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("SDP without a fingerprint: %v", err)
	}
	if _, err := f.m.Answer(ctx, "c1", "", offer); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("no operator: %v", err)
	}
	if ci, _ := f.m.Call("c1"); ci.State != CallRinging || ci.Recordings["console"] != "" {
		t.Fatalf("after failed answers the call is %+v", ci)
	}
	f.answer(t, "c1", "alice")
	_, err := f.m.Answer(ctx, "c1", "bob", offer)
	var de *shouwang.Error
	if !errors.As(err, &de) || de.Code != shouwang.ECONFLICT || !strings.Contains(de.Message, "alice") {
		t.Errorf("second answer: %v, want a conflict naming alice", err)
	}
}

// The answer cannot reach the device: the offer fails and nothing is left.
func TestAnswerUndeliverable(t *testing.T) {
	f := newFixture(t, nil)
	f.sig.fail.Store(true)
	dev := newTestPeer(t, "device", false)
	payload, _ := json.Marshal(offerMsg{Call: "c1", SDP: dev.offer()})
	if err := f.m.DeviceMessage(context.Background(), "dev-1", "offer", payload); err == nil {
		t.Fatal("offer succeeded without a way to answer")
	}
	if st := f.m.Stats(); st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "calls", "c1")); !os.IsNotExist(err) {
		t.Errorf("call folder: %v", err)
	}
}

// Close ends every call (reason shutdown, devices told), refuses new
// offers, and leaves no goroutine behind.
func TestCloseEndsEverything(t *testing.T) {
	before := goleak.IgnoreCurrent()
	f := newFixture(t, nil)
	dev1 := f.call(t, "dev-1", "c1")
	con := f.answer(t, "c1", "alice")
	dev2 := f.call(t, "dev-2", "c2")
	dev1.waitConnected()
	con.waitConnected()

	f.m.Close()
	f.m.Close()
	for _, id := range []string{"c1", "c2"} {
		evs := f.events.of(id)
		if len(evs) == 0 || evs[len(evs)-1].Type != CallEnded || evs[len(evs)-1].Call.EndReason != EndShutdown {
			t.Errorf("%s: events %+v", id, evs)
		}
		if h := f.sig.find(id, "hangup"); len(h) != 1 || h[0].Reason != "hangup" {
			t.Errorf("%s: the device was told %+v", id, h)
		}
	}
	dev3 := newTestPeer(t, "device", false)
	payload, _ := json.Marshal(offerMsg{Call: "c3", SDP: dev3.offer()})
	if err := f.m.DeviceMessage(context.Background(), "dev-3", "offer", payload); err == nil {
		t.Error("an offer after Close was taken")
	}
	if h := f.sig.find("c3", "hangup"); len(h) != 1 || h[0].Reason != "busy" {
		t.Errorf("dev-3 was told %+v", h)
	}
	if st := f.m.Stats(); st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, p := range []*testPeer{dev1, dev2, dev3, con} {
		p.close()
	}
	goleak.VerifyNone(t, before)
}

func TestConfigErrors(t *testing.T) {
	ok := Config{DataDir: t.TempDir(), Signaller: &fakeSignaller{}}
	cases := []struct {
		field string
		edit  func(*Config)
	}{
		{"DataDir", func(c *Config) { c.DataDir = "" }},
		{"Signaller", func(c *Config) { c.Signaller = nil }},
		{"MaxCalls", func(c *Config) { c.MaxCalls = -1 }},
		{"PeerTimeout", func(c *Config) { c.PeerTimeout = -1 }},
		{"UDPPortMin/UDPPortMax", func(c *Config) { c.UDPPortMin, c.UDPPortMax = 5000, 4000 }},
		{"UDPPortMin/UDPPortMax", func(c *Config) { c.UDPPortMin = 5000 }},
		{"PublicIPs", func(c *Config) { c.PublicIPs = []string{"hub.example.org"} }},
		{"ICEServers", func(c *Config) { c.ICEServers = []string{"http://stun.example.org"} }},
		{"ICEUsername/ICECredential", func(c *Config) { c.ICEServers = []string{"turn:turn.example.org:3478"} }},
	}
	for _, tc := range cases {
		cfg := ok
		tc.edit(&cfg)
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
	cfg := ok
	cfg.ICEServers = []string{"stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp"}
	cfg.ICEUsername, cfg.ICECredential = "u", "p"
	cfg.PublicIPs = []string{"203.0.113.7"}
	cfg.UDPPortMin, cfg.UDPPortMax = 40000, 40999
	m, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if m.cfg.MaxCalls != DefaultMaxCalls || m.cfg.PeerTimeout != DefaultPeerTimeout || len(m.ice.ICEServers) != 2 {
		t.Errorf("defaults %+v, ICE %+v", m.cfg, m.ice)
	}
}
