package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
	"github.com/shouwang-hub/shouwang/hub/voice/peerclose"
)

// TestCommittedClip checks the committed clip: the embedded copy is the
// file, it parses with one packet per page, and it lasts 3-5 s.
func TestCommittedClip(t *testing.T) {
	onDisk, err := os.ReadFile(filepath.Join("testdata", "voice", "clip.ogg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, defaultClip) {
		t.Fatal("the embedded clip differs from testdata/voice/clip.ogg")
	}
	if len(onDisk) > 50<<10 {
		t.Errorf("clip is %d bytes, want under 50 KB", len(onDisk))
	}
	if head := oggtest.Read(t, bytes.NewReader(onDisk)).Head; head.Channels != 1 && head.Channels != 2 {
		t.Errorf("clip has %d channels", head.Channels)
	}
	frames, err := loadClip("")
	if err != nil {
		t.Fatal(err)
	}
	if d := clipDuration(frames); d < 3*time.Second || d > 5*time.Second {
		t.Errorf("clip lasts %v, want 3-5 s", d)
	}
	for i, f := range frames {
		if f.dur != 20*time.Millisecond {
			t.Errorf("frame %d lasts %v, want 20ms", i, f.dur)
			break
		}
	}
}

// TestClipRefusesPackedPages makes an Ogg file whose second page advances
// two packets' worth of samples, as a page holding two packets does.
func TestClipRefusesPackedPages(t *testing.T) {
	frames, err := loadClip("")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "packed.ogg")
	w, err := openRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{960, 960, 1920} {
		if err := w.WritePacket(frames[10+i].data, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := loadClip(path); err == nil || !strings.Contains(err.Error(), "several packets per page") {
		t.Errorf("packed clip: err %v, want several packets per page", err)
	}
	if _, err := loadClip(filepath.Join(t.TempDir(), "missing.ogg")); err == nil {
		t.Error("missing clip: no error")
	}
}

// callSeen is one call/... message the fake hub saw.
type callSeen struct {
	device, topic string
	msg           callMsg
}

// echoPeer is a pion peer that answers an offer and sends back every
// packet it receives.
type echoPeer struct {
	pc     *webrtc.PeerConnection
	guard  *peerclose.Guard
	sender *webrtc.RTPSender
	recv   atomic.Uint64
}

func newEchoPeer(t *testing.T, offer string) (*echoPeer, string, error) {
	api, err := newAPI(DefaultPeerTimeout, testLogger(t))
	if err != nil {
		return nil, "", err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &echoPeer{pc: pc, guard: peerclose.Watch(pc)}
	fail := func(err error) (*echoPeer, string, error) { p.close(); return nil, "", err }
	if err := p.guard.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	echo, err := webrtc.NewTrackLocalStaticRTP(opusCodec.RTPCodecCapability, "audio", "echo")
	if err != nil {
		return fail(err)
	}
	if p.sender, err = pc.AddTrack(echo); err != nil {
		return fail(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := p.sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.recv.Add(1)
			echo.WriteRTP(pkt)
		}
	})
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	<-gathered
	return p, pc.LocalDescription().SDP, nil
}

// close closes the peer once its transports' start is over (package
// peerclose).
func (p *echoPeer) close() { p.guard.Close(2 * DefaultPeerTimeout) }

// bye sends an RTCP BYE for the peer's audio.
func (p *echoPeer) bye() error {
	ssrc := uint32(p.sender.GetParameters().Encodings[0].SSRC)
	return p.pc.WriteRTCP([]rtcp.Packet{&rtcp.Goodbye{Sources: []uint32{ssrc}}})
}

// fakeHub stands in for the hub's voice side: it subscribes as the service
// user to every device's call/#, answers offers with an echo peer (or, by
// mode, ignores them or answers busy) and closes its peer on a hang-up.
type fakeHub struct {
	t      *testing.T
	client mqtt.Client

	mu      sync.Mutex
	mode    string // "echo", "ignore" or "busy"
	offers  []callSeen
	hangups []callSeen
	peers   map[string]*echoPeer
}

func startHub(t *testing.T, b brokerEnv, mode string) *fakeHub {
	t.Helper()
	h := &fakeHub{t: t, mode: mode, peers: map[string]*echoPeer{}}
	o := mqtt.NewClientOptions().AddBroker(b.url).SetClientID(fmt.Sprintf("hub-%d", time.Now().UnixNano())).
		SetUsername(b.user).SetPassword(b.pw).SetCleanSession(true)
	h.client = mqtt.NewClient(o)
	if tok := h.client.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("hub connect: %v", tok.Error())
	}
	if tok := h.client.Subscribe(devices.TopicPrefix+"+/call/#", 1, h.onMessage); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("hub subscribe: %v", tok.Error())
	}
	t.Cleanup(func() {
		h.mu.Lock()
		for _, p := range h.peers {
			p.close()
		}
		h.mu.Unlock()
		h.client.Disconnect(100)
	})
	return h
}

func (h *fakeHub) onMessage(_ mqtt.Client, m mqtt.Message) {
	dev, _, sub, err := devices.ParseTopic(m.Topic())
	if err != nil {
		h.t.Errorf("hub: %v", err)
		return
	}
	var msg callMsg
	if err := json.Unmarshal(m.Payload(), &msg); err != nil {
		h.t.Errorf("hub: %s: %v", m.Payload(), err)
		return
	}
	seen := callSeen{dev, m.Topic(), msg}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch sub {
	case "offer":
		h.offers = append(h.offers, seen)
		go h.answer(dev, msg)
	case "hangup": // the device's, or the echo of our own
		h.hangups = append(h.hangups, seen)
		if p := h.peers[msg.Call]; p != nil {
			go p.close()
		}
	}
}

func (h *fakeHub) setMode(mode string) {
	h.mu.Lock()
	h.mode = mode
	h.mu.Unlock()
}

func (h *fakeHub) answer(dev string, offer callMsg) {
	h.mu.Lock()
	mode := h.mode
	h.mu.Unlock()
	switch mode {
	case "ignore":
		return
	case "busy":
		h.publish(dev, "hangup", callMsg{Call: offer.Call, Reason: ReasonBusy})
		return
	}
	p, sdp, err := newEchoPeer(h.t, offer.SDP)
	if err != nil {
		h.t.Errorf("hub: answer %s: %v", offer.Call, err)
		return
	}
	h.mu.Lock()
	h.peers[offer.Call] = p
	h.mu.Unlock()
	h.publish(dev, "answer", callMsg{Call: offer.Call, SDP: sdp})
}

func (h *fakeHub) publish(dev, sub string, m callMsg) {
	payload, _ := json.Marshal(m)
	tok := h.client.Publish(devices.Topic(dev, devices.ChannelCall)+"/"+sub, 1, false, payload)
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		h.t.Errorf("hub: publish %s: %v", sub, tok.Error())
	}
}

func (h *fakeHub) peer(callID string) *echoPeer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peers[callID]
}

func (h *fakeHub) seen(list *[]callSeen, keep func(callSeen) bool) []callSeen {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []callSeen
	for _, s := range *list {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func forCall(id string) func(callSeen) bool {
	return func(s callSeen) bool { return s.msg.Call == id }
}

// noCallGoroutines waits until no goroutine of a call or of pion is left.
func noCallGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		buf := make([]byte, 4<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "github.com/pion/") || strings.Contains(g, "sim.(*Call)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d call goroutines still running:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRecording reads the Ogg/Opus recording of an ended call and checks
// that it is what package ogg writes, holding one page per received packet
// and lasting what that many 20 ms packets last, and no longer than the
// audio flowed (the sender keeps real time).
func checkRecording(t *testing.T, path string, st CallStats) {
	t.Helper()
	packets := st.PacketsReceived
	if packets < 10 {
		t.Fatalf("only %d packets received", packets)
	}
	s := oggtest.ReadFile(t, path)
	s.Check(t, path)
	if n := uint64(len(s.Packets)); n != packets {
		t.Errorf("recording has %d audio pages, want one per received packet (%d)", n, packets)
	}
	got := s.Duration()
	want := time.Duration(packets) * 20 * time.Millisecond
	if d := got - want; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Errorf("recording lasts %v, want about %v for %d packets", got, want, packets)
	}
	// The recording spans the received packets' RTP timestamps, which the
	// sender advances by 20 ms per packet while keeping to the clock from
	// its first packet, sent once the connection was up; so it cannot be
	// longer than the time since the connection came up (the call has
	// ended, so now is after the last packet). Not since the first packet
	// arrived: a peer that starts reading late (on a busy machine) gets the
	// first packets from its receive buffer, late and together, and so does
	// whoever it forwards them to (at load 28 an echo brought 473 ms of
	// audio in the 94 ms after the first packet arrived).
	if up := time.Since(st.ConnectedAt); got > up+200*time.Millisecond {
		t.Errorf("recording lasts %v but the connection was up for only %v: not sent in real time", got, up)
	}
}

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// callEnv is what a device's call needs: the embedded broker, the fake
// hub, a running Sim of a small community and its SOS button, which calls.
type callEnv struct {
	b    brokerEnv
	hub  *fakeHub
	s    *Sim
	id   string       // the SOS button
	stop func() error // runSim's
}

// startCallEnv starts a callEnv of the community seeded seed, its hub
// answering in mode; mod, if not nil, changes the Sim's Config.
func startCallEnv(t *testing.T, seed uint64, mode string, mod func(*Config)) callEnv {
	t.Helper()
	specs := community(t, 1, 2, seed)
	e := callEnv{b: embeddedEnv(t, specs), id: firstOfKind(t, specs, devices.KindSOSButton)}
	e.hub = startHub(t, e.b, mode)
	e.s = newSim(t, e.b.url, specs, mod)
	e.stop = runSim(t, e.s)
	return e
}

// call places a call from the SOS button; waitTimeout bounds the wait for
// the answer (and for a call_request, with AutoCallback).
func (e callEnv) call(opts CallOptions) (*Call, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return e.s.Call(ctx, e.id, opts)
}

// hangupsOf waits until the hub has seen a hang-up of call id and returns
// those it saw.
func (h *fakeHub) hangupsOf(t *testing.T, id string) []callSeen {
	t.Helper()
	eventually(t, "the hang-up of "+id+" at the hub", func() bool { return len(h.seen(&h.hangups, forCall(id))) > 0 })
	return h.seen(&h.hangups, forCall(id))
}

// ended fails the test unless c has ended, everything it ran stopped.
func ended(t *testing.T, c *Call, when string) {
	t.Helper()
	select {
	case <-c.Done():
	default:
		t.Fatalf("the call has not ended %s", when)
	}
}

// TestCallFlow places a call from a device through the real embedded
// broker to the fake hub: a valid offer on the device's own topic, audio
// both ways, a recording of what the device heard, and a hang-up from the
// device that the hub receives and that leaves nothing running.
func TestCallFlow(t *testing.T) {
	e := startCallEnv(t, 11, "echo", nil)
	rec := filepath.Join(t.TempDir(), "device.ogg")
	c, err := e.call(CallOptions{Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if !callIDPattern.MatchString(c.ID()) {
		t.Errorf("call id %q does not match %v", c.ID(), callIDPattern)
	}
	offers := e.hub.seen(&e.hub.offers, forCall(c.ID()))
	if len(offers) != 1 {
		t.Fatalf("hub saw %d offers for call %s", len(offers), c.ID())
	}
	if want := "shouwang/v1/" + e.id + "/call/offer"; offers[0].topic != want || offers[0].device != e.id {
		t.Errorf("offer on %q, want %q", offers[0].topic, want)
	}
	sd := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offers[0].msg.SDP}
	parsed, err := sd.Unmarshal()
	if err != nil {
		t.Fatalf("offer SDP does not parse: %v", err)
	}
	if len(parsed.MediaDescriptions) != 1 || parsed.MediaDescriptions[0].MediaName.Media != "audio" {
		t.Errorf("offer has %d media sections, want one audio", len(parsed.MediaDescriptions))
	}
	for _, want := range []string{"opus/48000/2", "a=fingerprint:", "a=candidate:", "a=sendrecv", "a=end-of-candidates"} {
		if !strings.Contains(sd.SDP, want) {
			t.Errorf("offer SDP lacks %q", want)
		}
	}
	if n := strings.Count(sd.SDP, "a=rtpmap:"); n != 1 {
		t.Errorf("offer SDP has %d codecs, want Opus only:\n%s", n, sd.SDP)
	}

	peer := e.hub.peer(c.ID())
	eventually(t, "50 packets each way", func() bool {
		return c.Stats().PacketsReceived >= 50 && peer.recv.Load() >= 50
	})
	st := c.Stats()
	for name, ts := range map[string]time.Time{"offered": st.OfferedAt, "answered": st.AnsweredAt, "connected": st.ConnectedAt, "first packet": st.FirstPacketAt} {
		if ts.IsZero() {
			t.Errorf("stats: %s time not set", name)
		}
	}
	if len(e.s.Calls(e.id)) != 1 {
		t.Errorf("Calls(%s) = %d calls, want 1", e.id, len(e.s.Calls(e.id)))
	}

	if err := c.Hangup(); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	ended(t, c, "when Hangup returned")
	if c.EndReason() != ReasonHangup {
		t.Errorf("end reason %q, want hangup", c.EndReason())
	}
	if got := e.hub.hangupsOf(t, c.ID()); len(got) != 1 || got[0].msg.Reason != ReasonHangup || got[0].topic != "shouwang/v1/"+e.id+"/call/hangup" {
		t.Errorf("hub saw hang-ups %+v, want one with reason hangup", got)
	}
	if len(e.s.Calls(e.id)) != 0 {
		t.Error("the call is still listed after it ended")
	}
	if err := c.Hangup(); err != nil {
		t.Errorf("second hangup: %v", err)
	}
	final := c.Stats()
	if final.RecordErrors != 0 {
		t.Errorf("%d record errors", final.RecordErrors)
	}
	checkRecording(t, rec, final)
	if final.PacketsSent < 50 {
		t.Errorf("stats: %d packets sent", final.PacketsSent)
	}
	if n := e.s.Stats().Published[devices.ChannelCall]; n != 2 {
		t.Errorf("published %d call messages, want offer and hangup", n)
	}
	noCallGoroutines(t)
}

// TestCallEndsByHub: a hang-up from the hub ends the call with the hub's
// reason, and the device does not answer it with one of its own; an offer
// the hub refuses as busy ends before it is answered.
func TestCallEndsByHub(t *testing.T) {
	e := startCallEnv(t, 12, "echo", nil)
	c, err := e.call(CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "audio at the device", func() bool { return c.Stats().PacketsReceived > 10 })
	e.hub.publish(e.id, "hangup", callMsg{Call: c.ID(), Reason: ReasonError})
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the call did not end on the hub's hang-up")
	}
	if c.EndReason() != ReasonError {
		t.Errorf("end reason %q, want the hub's %q", c.EndReason(), ReasonError)
	}
	if n := e.s.Stats().Published[devices.ChannelCall]; n != 1 {
		t.Errorf("device published %d call messages, want only its offer", n)
	}
	e.hub.peer(c.ID()).close()

	e.hub.setMode("busy")
	c, err = e.call(CallOptions{})
	if !errors.Is(err, ErrCallEnded) || c == nil || c.EndReason() != ReasonBusy {
		t.Fatalf("busy hub: call %v, err %v; want ErrCallEnded with reason busy", c, err)
	}
	noCallGoroutines(t)
}

// TestCallAnswerTimeout: with no answer, the call ends with reason timeout
// and the device tells the hub so.
func TestCallAnswerTimeout(t *testing.T) {
	e := startCallEnv(t, 13, "ignore", nil)
	c, err := e.call(CallOptions{AnswerTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrCallEnded) || c == nil {
		t.Fatalf("call without answer: %v, %v; want ErrCallEnded", c, err)
	}
	ended(t, c, "when Call returned")
	if c.EndReason() != ReasonTimeout {
		t.Errorf("end reason %q, want timeout", c.EndReason())
	}
	if got := e.hub.hangupsOf(t, c.ID()); got[0].msg.Reason != ReasonTimeout {
		t.Errorf("hang-up reason %q, want timeout", got[0].msg.Reason)
	}
	noCallGoroutines(t)
}

// TestCallRequest: a call_request on cmd makes a device with
// AnswerCallRequests offer by itself; a Call waiting with AutoCallback
// takes the next one; Close hangs up what is left.
func TestCallRequest(t *testing.T) {
	recDir := t.TempDir()
	e := startCallEnv(t, 14, "echo", func(c *Config) {
		c.AnswerCallRequests = true
		c.CallRecordDir = recDir
	})

	sendCmd(t, e.b, e.id, []byte(`{"type":"call_request","alert":7}`))
	eventually(t, "the device's own call", func() bool {
		calls := e.s.Calls(e.id)
		return len(calls) == 1 && calls[0].Stats().PacketsReceived > 10
	})
	own := e.s.Calls(e.id)[0]
	if len(e.hub.seen(&e.hub.offers, forCall(own.ID()))) != 1 {
		t.Error("the hub saw no offer for the called-back call")
	}
	e.hub.publish(e.id, "hangup", callMsg{Call: own.ID(), Reason: ReasonHangup})
	<-own.Done()
	checkRecording(t, filepath.Join(recDir, e.id+"-"+own.ID()+".ogg"), own.Stats())

	type result struct {
		c   *Call
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := e.call(CallOptions{AutoCallback: true})
		done <- result{c, err}
	}()
	d := e.s.devs[e.id]
	eventually(t, "the call to wait for a request", func() bool {
		d.callMu.Lock()
		defer d.callMu.Unlock()
		return len(d.waiters) == 1
	})
	sendCmd(t, e.b, e.id, []byte(`{"type":"call_request","alert":8}`))
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if calls := e.s.Calls(e.id); len(calls) != 1 || calls[0] != r.c {
		t.Errorf("Calls = %v, want only the AutoCallback call", calls)
	}

	// Close hangs the call up, telling the hub, before it disconnects.
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	<-r.c.Done()
	if got := e.hub.hangupsOf(t, r.c.ID()); len(got) != 1 || got[0].msg.Reason != ReasonHangup {
		t.Errorf("hub saw %+v at close, want one hang-up", got)
	}
	noCallGoroutines(t)
}

// TestCallSilenced: a device that loses power drops its call at once,
// without a word to the hub.
func TestCallSilenced(t *testing.T) {
	e := startCallEnv(t, 15, "echo", nil)
	c, err := e.call(CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Silence(e.id); err != nil {
		t.Fatal(err)
	}
	ended(t, c, "when Silence returned")
	if c.EndReason() != ReasonSilenced {
		t.Errorf("end reason %q, want silenced", c.EndReason())
	}
	if got := e.hub.seen(&e.hub.hangups, forCall(c.ID())); len(got) != 0 {
		t.Errorf("a silenced device sent %+v", got)
	}
	e.hub.peer(c.ID()).close()
	noCallGoroutines(t)
}

// callConsole serves the console's call routes with echo peers.
type callConsole struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	peers   map[string]*echoPeer
	hangups []string
}

func startConsole(t *testing.T) *callConsole {
	f := &callConsole{t: t, token: "tok-" + devices.NewPassword(), peers: map[string]*echoPeer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/calls/{id}/answer", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in first"})
			return
		}
		var req struct{ SDP string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		p, sdp, err := newEchoPeer(t, req.SDP)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f.mu.Lock()
		f.peers[r.PathValue("id")] = p
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"sdp": sdp})
	})
	mux.HandleFunc("POST /api/v1/calls/{id}/hangup", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "log in first"})
			return
		}
		f.mu.Lock()
		f.hangups = append(f.hangups, r.PathValue("id"))
		p := f.peers[r.PathValue("id")]
		f.mu.Unlock()
		if p != nil {
			p.close()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		for _, p := range f.peers {
			p.close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *callConsole) peer(id string) *echoPeer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peers[id]
}

// TestAnswerAsConsole: the console peer answers through the HTTP route with
// its bearer token, audio flows both ways and is recorded, and the call
// ends by its own hang-up, by the hub's RTCP BYE, and by the hub going
// silent.
func TestAnswerAsConsole(t *testing.T) {
	f := startConsole(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	if _, err := AnswerAsConsole(ctx, f.srv.URL, "wrong", "call-1", CallOptions{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v, want HTTP 401", err)
	}
	noCallGoroutines(t)

	rec := filepath.Join(t.TempDir(), "console.ogg")
	c, err := AnswerAsConsole(ctx, f.srv.URL, f.token, "call-2", CallOptions{Record: rec, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	p := f.peer("call-2")
	eventually(t, "50 packets each way", func() bool {
		return c.Stats().PacketsReceived >= 50 && p.recv.Load() >= 50
	})
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	if c.EndReason() != ReasonHangup {
		t.Errorf("end reason %q", c.EndReason())
	}
	f.mu.Lock()
	hangups := append([]string(nil), f.hangups...)
	f.mu.Unlock()
	if len(hangups) != 1 || hangups[0] != "call-2" {
		t.Errorf("console saw hang-ups %q, want call-2", hangups)
	}
	checkRecording(t, rec, c.Stats())
	noCallGoroutines(t)

	// The hub ends the call with an RTCP BYE, as Call.Hangup sends one.
	c, err = AnswerAsConsole(ctx, f.srv.URL, f.token, "call-3", CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "audio at the console", func() bool { return c.Stats().PacketsReceived > 10 })
	if err := f.peer("call-3").bye(); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if c.EndReason() != ReasonHangup {
		t.Errorf("after BYE: end reason %q, want hangup", c.EndReason())
	}
	f.peer("call-3").close()
	noCallGoroutines(t)

	// The hub vanishes: the peer timeout ends the call.
	c, err = AnswerAsConsole(ctx, f.srv.URL, f.token, "call-4", CallOptions{PeerTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "audio at the console", func() bool { return c.Stats().PacketsReceived > 10 })
	f.peer("call-4").close()
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the call outlived its vanished peer")
	}
	if c.EndReason() != ReasonPeerGone {
		t.Errorf("vanished hub: end reason %q, want peer_gone", c.EndReason())
	}
	noCallGoroutines(t)
}
