package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
	"github.com/shouwang-hub/shouwang/hub/voice/peerclose"
)

// Defaults of CallOptions.
const (
	// DefaultAnswerTimeout bounds a device's wait for the hub's call/answer.
	// The hub answers at once (the operator picks up later), so this is
	// about the hub being there at all.
	DefaultAnswerTimeout = 15 * time.Second
	// DefaultPeerTimeout is how long a connected peer may stay unheard (no
	// media, no ICE keepalive) before the call ends with peer_gone.
	DefaultPeerTimeout = 5 * time.Second
)

// Reasons a call ends. The first six are the values of call/hangup's
// "reason"; ReasonSilenced is local (the device lost power, see Silence).
const (
	ReasonHangup   = "hangup"
	ReasonBusy     = "busy"
	ReasonRefused  = "refused"
	ReasonTimeout  = "timeout"
	ReasonError    = "error"
	ReasonPeerGone = "peer_gone"
	ReasonSilenced = "silenced"
)

// CallOptions shape one call, from the device (Sim.Call) or from the console
// peer (AnswerAsConsole).
type CallOptions struct {
	// Clip is the Ogg/Opus file streamed as the microphone, looped while
	// the call lasts. It must hold one Opus packet per Ogg page (opusenc
	// --max-delay 20). Empty means the committed clip,
	// testdata/voice/clip.ogg, which is embedded.
	Clip string
	// Record, if set, is the path of an Ogg/Opus file that receives what
	// this side hears. It is created when the call starts and closed when
	// it ends.
	Record string
	// AutoCallback makes Sim.Call wait (within its ctx) for the operator's
	// call_request on the device's cmd topic before it offers, as a device
	// does when it is called back. It takes the request ahead of
	// Config.AnswerCallRequests.
	AutoCallback bool
	// AnswerTimeout bounds the device's wait for call/answer once the offer
	// is sent; 0 means DefaultAnswerTimeout. The console peer ignores it.
	AnswerTimeout time.Duration
	// PeerTimeout is how long the connected peer may stay unheard before
	// the call ends with peer_gone; 0 means DefaultPeerTimeout.
	PeerTimeout time.Duration
	// Logger is AnswerAsConsole's logger (nil: discard). Sim.Call logs to
	// the Sim's logger.
	Logger *slog.Logger
	// HTTPClient is what AnswerAsConsole talks to the console with (nil:
	// http.DefaultClient); give one that trusts the hub's CA for HTTPS.
	HTTPClient *http.Client

	recordDir string // Config.CallRecordDir for calls the Sim starts itself
}

// CallStats is what a call has done so far.
type CallStats struct {
	OfferedAt       time.Time `json:"offered_at"`       // our SDP offer sent
	AnsweredAt      time.Time `json:"answered_at"`      // the SDP answer applied
	ConnectedAt     time.Time `json:"connected_at"`     // ICE and DTLS up
	FirstPacketAt   time.Time `json:"first_packet_at"`  // first audio packet received
	EndedAt         time.Time `json:"ended_at"`         // zero while the call lasts
	PacketsSent     uint64    `json:"packets_sent"`     // Opus packets handed to the peer connection
	PacketsReceived uint64    `json:"packets_received"` // RTP packets received
	BytesReceived   uint64    `json:"bytes_received"`   // their payload bytes
	RecordErrors    uint64    `json:"record_errors"`    // packets the recording could not take
	EndReason       string    `json:"end_reason,omitempty"`
}

// Call is one voice call: a pion peer connection that streams a clip as its
// microphone and records what it hears. Its methods are safe for concurrent
// use.
type Call struct {
	id    string
	log   *slog.Logger
	pc    *webrtc.PeerConnection
	guard *peerclose.Guard // closes pc once its transports' start is over
	// closeWait bounds that wait: past the ICE timeouts, ICE has failed.
	closeWait time.Duration
	track     *webrtc.TrackLocalStaticSample
	sender    *webrtc.RTPSender
	frames    []opusFrame
	rec       *ogg.File
	notify    func(reason string) error // tells the other side we ended it
	onEnd     func()                    // runs once everything has stopped
	// byeEnds: the other side's RTCP BYE ends the call. The console peer
	// has no other word of a hang-up; the device hears the reason on MQTT.
	byeEnds bool

	answerc   chan string // the device's call/answer SDP
	connected chan struct{}
	connOnce  sync.Once

	// ctx is cancelled when the call ends; every goroutine of the call
	// watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}
	heard  chan struct{} // closed when the first audio packet arrives

	sent, recv, recvBytes, recErrs atomic.Uint64

	mu        sync.Mutex // guards what follows
	reason    string     // set once, when the call ends
	tell      bool       // notify the other side
	tracks    int
	notifyErr error
	st        CallStats // the times
}

// callHooks connect a Call to its side's signalling.
type callHooks struct {
	notify  func(reason string) error
	onEnd   func()
	byeEnds bool
}

// newCall builds the peer connection: Opus only, the clip on one sendrecv
// audio track, OnTrack recording, short ICE timeouts. The call's supervisor
// runs from here on; every failure after newCall returns goes through end.
func newCall(id string, opts CallOptions, log *slog.Logger, hooks callHooks) (*Call, error) {
	frames, err := loadClip(opts.Clip)
	if err != nil {
		return nil, err
	}
	fill(&opts.PeerTimeout, DefaultPeerTimeout)
	api, err := newAPI(opts.PeerTimeout, log)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	c := &Call{
		id: id, log: log, pc: pc, guard: peerclose.Watch(pc), closeWait: 2 * opts.PeerTimeout, frames: frames,
		notify: hooks.notify, onEnd: hooks.onEnd, byeEnds: hooks.byeEnds,
		answerc:   make(chan string, 1),
		connected: make(chan struct{}),
		done:      make(chan struct{}),
		heard:     make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Call, error) {
		c.cancel()
		pc.Close()
		return nil, err
	}
	c.track, err = webrtc.NewTrackLocalStaticSample(opusCodec.RTPCodecCapability, "audio", "shouwang-"+id)
	if err != nil {
		return fail(fmt.Errorf("audio track: %w", err))
	}
	if c.sender, err = pc.AddTrack(c.track); err != nil {
		return fail(fmt.Errorf("add audio track: %w", err))
	}
	if opts.Record != "" {
		if c.rec, err = openRecording(opts.Record); err != nil {
			return fail(fmt.Errorf("recording: %w", err))
		}
	}
	pc.OnConnectionStateChange(c.onState)
	pc.OnTrack(c.onTrack)
	c.wg.Add(2)
	go c.stream()
	go c.drainRTCP()
	go c.supervise()
	return c, nil
}

// ID is the call's ID, as call/... messages and the hub's API name it.
func (c *Call) ID() string { return c.id }

// Done is closed once the call has ended and everything it ran has stopped:
// the peer connection is closed, the recording written, its goroutines
// gone.
func (c *Call) Done() <-chan struct{} { return c.done }

// Heard is closed when the first audio packet arrives (Stats' FirstPacketAt).
func (c *Call) Heard() <-chan struct{} { return c.heard }

// EndReason says why the call ended (Reason...; for a hang-up by the hub,
// the reason it sent); it is empty while the call lasts.
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Stats returns a snapshot of the call's counters and times.
func (c *Call) Stats() CallStats {
	c.mu.Lock()
	st := c.st
	st.EndReason = c.reason
	c.mu.Unlock()
	st.PacketsSent = c.sent.Load()
	st.PacketsReceived = c.recv.Load()
	st.BytesReceived = c.recvBytes.Load()
	st.RecordErrors = c.recErrs.Load()
	return st
}

// Hangup ends the call from this side: it tells the other side (the device
// publishes call/hangup, the console peer POSTs to the hub's hang-up route),
// closes the peer connection and waits until everything has stopped. It
// returns the error of telling the other side; on a call that has already
// ended it does nothing and returns nil.
func (c *Call) Hangup() error {
	won := c.end(ReasonHangup, true)
	<-c.done
	if !won {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notifyErr
}

// end ends the call for reason, telling the other side if tell; the first
// call wins, and it reports whether it was this one. It does not wait.
func (c *Call) end(reason string, tell bool) bool {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return false
	}
	c.reason, c.tell = reason, tell
	c.st.EndedAt = time.Now()
	c.mu.Unlock()
	c.cancel()
	return true
}

// supervise tears the call down once it ends, in order: tell the other
// side, say goodbye on the media path, close the peer connection, wait for
// the call's goroutines, finish the recording.
func (c *Call) supervise() {
	<-c.ctx.Done()
	c.mu.Lock()
	reason, tell := c.reason, c.tell
	c.mu.Unlock()
	if tell && c.notify != nil {
		if err := c.notify(reason); err != nil {
			c.log.Debug("call hang-up not delivered", "err", err)
			c.mu.Lock()
			c.notifyErr = err
			c.mu.Unlock()
		}
	}
	c.goodbye()
	if err := c.guard.Close(c.closeWait); err != nil {
		c.log.Debug("close peer connection", "err", err)
	}
	c.wg.Wait()
	if c.rec != nil {
		if err := c.rec.Close(); err != nil {
			c.log.Warn("close call recording", "err", err)
		}
	}
	c.log.Info("call ended", "reason", reason, "sent", c.sent.Load(), "received", c.recv.Load())
	if c.onEnd != nil {
		c.onEnd()
	}
	close(c.done)
}

// goodbye sends an RTCP BYE for our audio, so a peer that watches for it
// (the console peer does) ends at once instead of after its peer timeout.
func (c *Call) goodbye() {
	select {
	case <-c.connected:
	default:
		return
	}
	var ssrcs []uint32
	for _, e := range c.sender.GetParameters().Encodings {
		ssrcs = append(ssrcs, uint32(e.SSRC))
	}
	if err := c.pc.WriteRTCP([]rtcp.Packet{&rtcp.Goodbye{Sources: ssrcs, Reason: "hangup"}}); err != nil {
		c.log.Debug("rtcp goodbye", "err", err)
	}
}

// offer creates our SDP offer and returns it once ICE gathering is complete
// (non-trickle ICE: the offer carries every candidate).
func (c *Call) offer(ctx context.Context) (string, error) {
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		return "", fmt.Errorf("set offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gather ice candidates: %w", ctx.Err())
	case <-c.ctx.Done():
		return "", errors.New("gather ice candidates: call ended")
	}
	c.mu.Lock()
	c.st.OfferedAt = time.Now() // the caller sends it right away
	c.mu.Unlock()
	return c.pc.LocalDescription().SDP, nil
}

// setAnswer applies the other side's SDP answer.
func (c *Call) setAnswer(sdp string) error {
	if err := c.guard.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("apply answer: %w", err)
	}
	c.mu.Lock()
	c.st.AnsweredAt = time.Now()
	c.mu.Unlock()
	return nil
}

func (c *Call) onState(s webrtc.PeerConnectionState) {
	c.log.Debug("call connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.connOnce.Do(func() {
			c.mu.Lock()
			c.st.ConnectedAt = time.Now()
			c.mu.Unlock()
			close(c.connected)
		})
	case webrtc.PeerConnectionStateFailed:
		c.end(ReasonPeerGone, true)
	}
}
