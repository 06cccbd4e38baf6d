package voice

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/shouwang-hub/shouwang/internal/testenv"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"go.uber.org/goleak"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
	"github.com/shouwang-hub/shouwang/hub/voice/peerclose"
)

// The tests run the hub's Manager between two real pion peers in the
// same process: a "device" that offers through a fake Signaller and a
// "console" that answers through Manager.Answer. Their UDP sockets can be
// cut to make a peer vanish without a word.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testPeerTimeout keeps the tests of a vanishing peer short; the others
// run with the hub's DefaultPeerTimeout. Under -race on a loaded machine the
// whole test process can stall for a second or more: with a PeerTimeout of
// 1.5 s the hub took such a stall for both peers gone and ended the call
// ("peer gone: disconnected too long", device and console in the same
// millisecond) in tests that are not about a peer going.
const testPeerTimeout = 1500 * time.Millisecond

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, what, cond)
}

// sentMsg is one message the hub sent a device.
type sentMsg struct {
	DeviceID, Sub string
	Call, SDP     string
	Reason        string
}

// fakeSignaller records what the hub sends devices.
type fakeSignaller struct {
	mu   sync.Mutex
	msgs []sentMsg
	fail atomic.Bool // SendToDevice fails while set
}

func (f *fakeSignaller) SendToDevice(_ context.Context, deviceID, sub string, payload []byte) error {
	if f.fail.Load() {
		return errors.New("broker unreachable")
	}
	var m struct{ Call, SDP, Reason string }
	if err := json.Unmarshal(payload, &m); err != nil {
		return err
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, sentMsg{DeviceID: deviceID, Sub: sub, Call: m.Call, SDP: m.SDP, Reason: m.Reason})
	f.mu.Unlock()
	return nil
}

// find returns the messages sent about a call on sub.
func (f *fakeSignaller) find(call, sub string) []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sentMsg
	for _, m := range f.msgs {
		if m.Call == call && m.Sub == sub {
			out = append(out, m)
		}
	}
	return out
}

func (f *fakeSignaller) waitOne(t *testing.T, call, sub string) sentMsg {
	t.Helper()
	waitFor(t, "call/"+sub+" for "+call, func() bool { return len(f.find(call, sub)) > 0 })
	return f.find(call, sub)[0]
}

// eventLog records OnEvent.
type eventLog struct {
	mu sync.Mutex
	ev []CallEvent
}

func (l *eventLog) add(e CallEvent) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

// of returns a call's events in order.
func (l *eventLog) of(call string) []CallEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []CallEvent
	for _, e := range l.ev {
		if e.Call.ID == call {
			out = append(out, e)
		}
	}
	return out
}

func (l *eventLog) wait(t *testing.T, call string, typ CallState) CallEvent {
	t.Helper()
	var got CallEvent
	waitFor(t, string(typ)+" event of "+call, func() bool {
		for _, e := range l.of(call) {
			if e.Type == typ {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// fixture is a Manager with its fakes.
type fixture struct {
	m      *Manager
	sig    *fakeSignaller
	events *eventLog
	dir    string
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	f := &fixture{sig: &fakeSignaller{}, events: &eventLog{}, dir: t.TempDir()}
	cfg := Config{DataDir: f.dir, Signaller: f.sig, OnEvent: f.events.add}
	if edit != nil {
		edit(&cfg)
	}
	m, err := New(cfg, slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	t.Cleanup(m.Close)
	return f
}

// testWriter sends log lines to t.Log, so they show with a failure, until
// the test's last cleanup. pion v3 leaves a few goroutines of a closed peer
// connection running, even after GracefulClose (undeclaredMediaProcessor's
// two, which log a warning as they return), and t.Log from a goroutine after
// the test has completed panics, failing the whole package: their lines are
// dropped.
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

// newTestWriter returns a writer for t; create it before what logs to it,
// so its cleanup runs after theirs.
func newTestWriter(t *testing.T) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(p[:len(p)-1]))
	}
	return len(p), nil
}

// dropConn is a UDP socket that can be cut: from then on it sends and
// receives nothing, like a device whose power or network went.
type dropConn struct {
	net.PacketConn
	cut atomic.Bool
}

func (d *dropConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if d.cut.Load() {
		return len(p), nil
	}
	return d.PacketConn.WriteTo(p, addr)
}

func (d *dropConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := d.PacketConn.ReadFrom(p)
		if err != nil || !d.cut.Load() {
			return n, addr, err
		}
	}
}

// testPeer is a pion peer standing in for a device or a browser: it sends
// Opus frames on its track and keeps the payloads it receives.
type testPeer struct {
	t    *testing.T
	name string
	pc   *webrtc.PeerConnection
	pcg  *peerclose.Guard
	out  *webrtc.TrackLocalStaticRTP
	conn *dropConn
	mux  *ice.UDPMuxDefault

	mu        sync.Mutex
	got       [][]byte
	reads     sync.WaitGroup
	closeOnce sync.Once
}

// newTestPeer makes a peer; a browser-like one offers every codec pion
// knows (the hub must pick Opus), a device-like one offers Opus only.
func newTestPeer(t *testing.T, name string, browserLike bool) *testPeer {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &testPeer{t: t, name: name, conn: &dropConn{PacketConn: udp}}
	p.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: p.conn})

	me := &webrtc.MediaEngine{}
	if browserLike {
		err = me.RegisterDefaultCodecs()
	} else {
		err = me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio)
	}
	if err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(p.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// Keep-alives as often as the shortest PeerTimeout of the tests
	// needs, so that the hub never mistakes a live test peer for a gone one.
	se.SetICETimeouts(DefaultPeerTimeout/2, DefaultPeerTimeout/2, testPeerTimeout/5)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	p.pcg = peerclose.Watch(p.pc)
	if p.out, err = webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", name); err != nil {
		t.Fatal(err)
	}
	if _, err = p.pc.AddTrack(p.out); err != nil {
		t.Fatal(err)
	}
	p.reads.Add(1)
	var once sync.Once
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer once.Do(p.reads.Done)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.got = append(p.got, slices.Clone(pkt.Payload))
			p.mu.Unlock()
		}
	})
	t.Cleanup(p.close)
	return p
}

// offer returns the peer's SDP offer with its candidates (non-trickle),
// the same one each time.
func (p *testPeer) offer() string {
	p.t.Helper()
	if ld := p.pc.LocalDescription(); ld != nil {
		return ld.SDP
	}
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		p.t.Fatal(err)
	}
	<-gathered
	return p.pc.LocalDescription().SDP
}

func (p *testPeer) accept(answer string) {
	p.t.Helper()
	if err := p.pcg.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		p.t.Fatalf("%s: apply the hub's answer: %v", p.name, err)
	}
}

func (p *testPeer) waitConnected() {
	p.t.Helper()
	waitFor(p.t, p.name+" connected", func() bool { return p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
}

// sent is one step of a peer's microphone: a packet, or a gap where a
// packet was "lost" on the way (its sequence number and timestamp skipped).
type sent struct {
	seq     uint16
	ts      uint32
	payload []byte // nil: lost
}

// schedule lays frames out as 20 ms RTP packets from sequence number seq,
// losing the sequence numbers in lost.
func schedule(frames [][]byte, seq uint16, lost ...uint16) []sent {
	var out []sent
	ts := uint32(90000)
	for _, f := range frames {
		for slices.Contains(lost, seq) {
			out = append(out, sent{seq: seq, ts: ts})
			seq++
			ts += 960
		}
		out = append(out, sent{seq: seq, ts: ts, payload: f})
		seq++
		ts += 960
	}
	return out
}

// send sends a schedule, paced as a microphone would.
func (p *testPeer) send(steps []sent) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, s := range steps {
		if s.payload == nil {
			continue
		}
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: 1}, Payload: s.payload}
		if err := p.out.WriteRTP(pkt); err != nil {
			p.t.Errorf("%s: send: %v", p.name, err) // may run on a goroutine of the test
			return
		}
		<-tick.C
	}
}

// heard is what a peer hears of a schedule: the packets that were sent.
func heard(steps []sent) [][]byte {
	var out [][]byte
	for _, s := range steps {
		if s.payload != nil {
			out = append(out, s.payload)
		}
	}
	return out
}

// recorded is what the hub records of a schedule: every lost packet
// replaced by an empty Opus frame of the same mode, for the decoder to
// conceal.
func recorded(steps []sent) [][]byte {
	var out [][]byte
	var toc byte
	for _, s := range steps {
		if s.payload == nil {
			out = append(out, []byte{toc &^ 0x03})
			continue
		}
		out = append(out, s.payload)
		toc = s.payload[0]
	}
	return out
}

// received returns the payloads received so far.
func (p *testPeer) received() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// vanish cuts the peer off without closing anything.
func (p *testPeer) vanish() { p.conn.cut.Store(true) }

func (p *testPeer) close() {
	p.closeOnce.Do(func() {
		p.pcg.Close(2 * DefaultPeerTimeout)
		p.mux.Close()
		p.conn.Close()
	})
}

// call is a device offering a call and the hub answering it.
func (f *fixture) call(t *testing.T, deviceID, id string) *testPeer {
	t.Helper()
	dev := newTestPeer(t, "device "+deviceID, false)
	b, _ := json.Marshal(offerMsg{Call: id, SDP: dev.offer()})
	if err := f.m.DeviceMessage(context.Background(), deviceID, "offer", b); err != nil {
		t.Fatalf("offer: %v", err)
	}
	dev.accept(f.sig.waitOne(t, id, "answer").SDP)
	f.events.wait(t, id, CallRinging)
	return dev
}

// answer is an operator's browser answering a call.
func (f *fixture) answer(t *testing.T, id, operator string) *testPeer {
	t.Helper()
	con := newTestPeer(t, "console "+operator, true)
	ans, err := f.m.Answer(context.Background(), id, operator, con.offer())
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	con.accept(ans)
	return con
}

// waitHubConnected waits until the hub's own end of both legs of a call is
// connected. A test peer's waitConnected is not enough before it sends or
// expects audio: the hub answers as the DTLS client, so the peer finishes
// the handshake one flight before the hub does, and until the hub's end is
// connected (pion starts its SRTP session before it reports connected)
// pion drops what the hub relays to that leg without an error.
func (f *fixture) waitHubConnected(t *testing.T, id string) {
	t.Helper()
	c := f.hubCall(t, id)
	waitFor(t, "the hub's end of both legs of "+id+" connected", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, pc := range []*webrtc.PeerConnection{c.devicePC, c.consolePC} {
			if pc == nil || pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
				return false
			}
		}
		return c.consoleUp
	})
}

// hubCall returns the manager's live call (for its peer connections).
func (f *fixture) hubCall(t *testing.T, id string) *call {
	t.Helper()
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	c := f.m.calls[id]
	if c == nil {
		t.Fatalf("no live call %s", id)
	}
	return c
}

// clipFrames returns the Opus packets of the project's spoken test clip.
func clipFrames(t *testing.T) [][]byte {
	t.Helper()
	path := filepath.Join("..", "..", "internal", "sim", "testdata", "voice", "clip.ogg")
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("the test clip: %v (make it with scripts/make-voice-clip, which needs apt-get install espeak-ng opus-tools)", err)
	}
	defer fh.Close()
	frames := oggtest.Read(t, fh).Packets
	if len(frames) < 100 {
		t.Fatalf("the test clip has %d packets, want a few seconds' worth", len(frames))
	}
	return frames
}
