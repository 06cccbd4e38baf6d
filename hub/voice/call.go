package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/hub/voice/peerclose"
)

// errEnded reports that the call ended while a step of it was under way.
var errEnded = errors.New("the call has ended")

// endRequest is why a call ends, and whether the device must be told.
type endRequest struct {
	reason, by   string
	tellDevice   bool
	deviceReason string // what the device hears; "" derives it from reason
}

// call is one call: the device's peer connection from the offer on, the
// console's once answered. Its supervisor goroutine waits for the end and
// tears everything down; every other goroutine of the call (relays, RTCP
// readers) is counted in wg and started only while the call is not ending.
type call struct {
	m        *Manager
	id       string
	deviceID string
	dir      string
	log      *slog.Logger

	endCh   chan struct{} // closed by the first requestEnd
	endOnce sync.Once
	endReq  endRequest
	done    chan struct{} // closed when the teardown is complete

	evMu sync.Mutex // holds this call's events in order: ringing, answered, ended

	mu         sync.Mutex
	ci         CallInfo // State is "" while the device's leg is set up
	ending     bool
	ownsDir    bool   // the call created dir (and may remove it if refused)
	answering  string // the operator whose Answer is under way
	devicePC   *webrtc.PeerConnection
	consolePC  *webrtc.PeerConnection
	consoleUp  bool        // the console's connection has connected (media can flow)
	connecting *time.Timer // releases an answer not connected within ConnectTimeout
	recDevice  *recorder
	recConsole *recorder
	timers     map[*webrtc.PeerConnection]*time.Timer
	relaying   map[*webrtc.PeerConnection]bool
	guards     map[*webrtc.PeerConnection]*peerclose.Guard // closepeer.go
	wg         sync.WaitGroup

	toDevice  atomic.Pointer[webrtc.TrackLocalStaticRTP] // the hub's track toward the device
	toConsole atomic.Pointer[webrtc.TrackLocalStaticRTP] // toward the console, once answered
}

func newCall(m *Manager, deviceID, id string) *call {
	return &call{
		m: m, id: id, deviceID: deviceID,
		dir:      filepath.Join(m.cfg.DataDir, "calls", id),
		log:      m.log.With("call", id, "device", deviceID),
		endCh:    make(chan struct{}),
		done:     make(chan struct{}),
		ci:       CallInfo{ID: id, DeviceID: deviceID, StartedAt: m.cfg.Now(), Recordings: map[string]string{}},
		timers:   map[*webrtc.PeerConnection]*time.Timer{},
		relaying: map[*webrtc.PeerConnection]bool{},
		guards:   map[*webrtc.PeerConnection]*peerclose.Guard{},
	}
}

// visible reports whether the call has rung: before that it is known only
// to its own set-up (and to a device hang-up).
func (c *call) visible() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ci.State != ""
}

func (c *call) info() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ci.clone()
}

func (c *call) isEnding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ending
}

// requestEnd asks the supervisor to end the call; the first request wins.
func (c *call) requestEnd(reason, by string, tellDevice bool) {
	c.requestEndWith(endRequest{reason: reason, by: by, tellDevice: tellDevice})
}

func (c *call) requestEndWith(r endRequest) {
	c.endOnce.Do(func() {
		c.endReq = r
		close(c.endCh)
	})
}

// wait returns when the call's teardown is complete, or ctx is done.
func (c *call) wait(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for call %s to end: %w", c.id, ctx.Err())
	}
}

// refuse ends a call that has not rung, telling the device reason, and
// waits for the teardown so nothing of it is left running.
func (c *call) refuse(ctx context.Context, endReason, deviceReason string, err error) error {
	c.requestEndWith(endRequest{reason: endReason, tellDevice: true, deviceReason: deviceReason})
	if werr := c.wait(ctx); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// start sets up the device's leg from its offer: the recording, the peer
// connection with the hub's track toward the device, the answer sent over
// MQTT; then the call rings.
func (c *call) start(ctx context.Context, offer string) error {
	if err := os.Mkdir(c.dir, 0o750); errors.Is(err, fs.ErrExist) {
		return c.refuse(ctx, EndError, reasonRefused, shouwang.Errorf(shouwang.ECONFLICT, "call id %s was used before", c.id))
	} else if err != nil {
		return c.refuse(ctx, EndError, reasonError, fmt.Errorf("call folder: %w", err))
	}
	c.mu.Lock()
	c.ownsDir = true
	c.mu.Unlock()

	path := filepath.Join(c.dir, "device.ogg")
	rec, err := newRecorder(path, c.log)
	if err != nil {
		return c.refuse(ctx, EndError, reasonError, err)
	}
	pc, err := c.m.api.NewPeerConnection(c.m.ice)
	if err != nil {
		rec.close()
		return c.refuse(ctx, EndError, reasonError, fmt.Errorf("device peer connection: %w", err))
	}
	c.watchPeer(pc)
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		rec.close()
		c.closePeer(pc, false)
		return c.wait(ctx)
	}
	c.devicePC, c.recDevice = pc, rec
	c.ci.Recordings["device"] = path
	c.mu.Unlock()

	track, err := c.addTrack(pc, "device")
	if err != nil {
		return c.refuse(ctx, EndError, reasonError, err)
	}
	c.toDevice.Store(track)
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.relay(pc, t, rec, &c.toConsole, &c.m.toConsole, &c.m.lostFromDevice)
	})

	answer, err := c.negotiate(ctx, pc, offer)
	if c.isEnding() { // hung up or shut down meanwhile: not an error of this offer
		return c.wait(ctx)
	}
	if err != nil {
		if shouwang.ErrorCode(err) == shouwang.EINVALID {
			c.m.refused.Add(1)
			return c.refuse(ctx, EndError, reasonRefused, err)
		}
		return c.refuse(ctx, EndError, reasonError, err)
	}
	b, _ := json.Marshal(offerMsg{Call: c.id, SDP: answer})
	if err := c.m.cfg.Signaller.SendToDevice(ctx, c.deviceID, "answer", b); err != nil {
		return c.refuse(ctx, EndError, reasonError, fmt.Errorf("send call answer: %w", err))
	}

	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		return nil
	}
	c.ci.State = CallRinging
	ci := c.ci.clone()
	c.mu.Unlock()
	c.log.Info("call ringing")
	c.m.cfg.OnEvent(CallEvent{Type: CallRinging, Call: ci})
	return nil
}

// answer connects an operator's browser to the call.
func (c *call) answer(ctx context.Context, operator, offer string) (string, error) {
	c.mu.Lock()
	switch {
	case c.ending:
		c.mu.Unlock()
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", c.id)
	case c.ci.State == CallAnswered:
		by := c.ci.AnsweredBy
		c.mu.Unlock()
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s was answered by %s", c.id, by)
	case c.answering != "":
		by := c.answering
		c.mu.Unlock()
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s is being answered by %s", c.id, by)
	}
	c.answering = operator
	c.mu.Unlock()

	answer, track, err := c.connectConsole(ctx, offer)
	if err != nil {
		var pc *webrtc.PeerConnection
		var rec *recorder
		c.mu.Lock()
		ending := c.ending
		if !ending { // else the teardown has the leg and closes it
			pc, rec = c.consolePC, c.recConsole
			c.consolePC, c.recConsole = nil, nil
			delete(c.ci.Recordings, "console")
		}
		c.answering = ""
		c.mu.Unlock()
		if pc != nil {
			c.closePeer(pc, false) // no longer the call's: its closing ends nothing
		}
		if rec != nil {
			rec.close()
			os.Remove(rec.path)
		}
		if ending || errors.Is(err, errEnded) {
			return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", c.id)
		}
		return "", err
	}

	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.mu.Lock()
	if c.ending { // the teardown closes the console's connection
		c.mu.Unlock()
		return "", shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", c.id)
	}
	c.toConsole.Store(track)
	c.ci.State, c.ci.AnsweredBy, c.ci.AnsweredAt = CallAnswered, operator, c.m.cfg.Now()
	c.answering = ""
	if !c.consoleUp {
		leg := c.consolePC
		c.connecting = time.AfterFunc(c.m.cfg.ConnectTimeout, func() {
			c.spawn(func() { c.releaseLeg(leg, "", ReleaseMediaTimeout) })
		})
	}
	ci := c.ci.clone()
	c.mu.Unlock()
	c.log.Info("call answered", "by", operator)
	c.m.cfg.OnEvent(CallEvent{Type: CallAnswered, Call: ci})
	return answer, nil
}

// connectConsole builds the console's leg: recording, peer connection,
// the hub's track toward the console, and the answer to the browser's
// offer. What it sets up is the call's from the moment it is stored, so
// the teardown closes it if the call ends meanwhile.
func (c *call) connectConsole(ctx context.Context, offer string) (string, *webrtc.TrackLocalStaticRTP, error) {
	path := filepath.Join(c.dir, "console.ogg")
	rec, err := newRecorder(path, c.log)
	if err != nil {
		return "", nil, err
	}
	pc, err := c.m.api.NewPeerConnection(c.m.ice)
	if err != nil {
		rec.close()
		os.Remove(path)
		return "", nil, fmt.Errorf("console peer connection: %w", err)
	}
	c.watchPeer(pc)
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		c.closePeer(pc, false)
		rec.close()
		os.Remove(path)
		return "", nil, errEnded
	}
	c.consolePC, c.recConsole = pc, rec
	c.ci.Recordings["console"] = path
	c.mu.Unlock()

	track, err := c.addTrack(pc, "console")
	if err != nil {
		return "", nil, err
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.relay(pc, t, rec, &c.toDevice, &c.m.toDevice, &c.m.lostFromConsole)
	})
	answer, err := c.negotiate(ctx, pc, offer)
	if err != nil {
		return "", nil, err
	}
	return answer, track, nil
}

// addTrack gives pc the hub's Opus track toward its peer, a reader for the
// RTCP that comes back (so the report interceptors see it) and a watch on
// the connection's state.
func (c *call) addTrack(pc *webrtc.PeerConnection, side string) (*webrtc.TrackLocalStaticRTP, error) {
	c.watch(pc, side)
	track, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "shouwang-"+c.id)
	if err != nil {
		return nil, fmt.Errorf("%s track: %w", side, err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return nil, fmt.Errorf("%s track: %w", side, err)
	}
	c.spawn(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	})
	return track, nil
}

// spawn runs f on a goroutine of the call, unless the call is ending.
func (c *call) spawn(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// negotiate applies a peer's offer and returns the hub's answer with every
// ICE candidate gathered (or those found within GatherTimeout).
func (c *call) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := c.setRemote(pc, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", shouwang.Errorf(shouwang.EINVALID, "the SDP offer was refused: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", shouwang.Errorf(shouwang.EINVALID, "the SDP offer cannot be answered: %v", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	t := time.NewTimer(c.m.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
		c.log.Warn("ICE gathering timed out; answering with the candidates found so far", "after", c.m.cfg.GatherTimeout)
	case <-c.endCh:
		return "", errEnded
	case <-ctx.Done():
		return "", fmt.Errorf("gather ICE candidates: %w", ctx.Err())
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return "", errors.New("no local description")
	}
	return ld.SDP, nil
}
