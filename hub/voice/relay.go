package voice

import (
	"context"
	"os"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// relay copies one peer's audio to the recording of that side and to the
// other peer's track (once there is one). It runs on the goroutine pion
// starts for OnTrack, counted in the call's wait group, and returns when
// the peer connection closes.
func (c *call) relay(pc *webrtc.PeerConnection, track *webrtc.TrackRemote, rec *recorder,
	out *atomic.Pointer[webrtc.TrackLocalStaticRTP], relayed, lost *atomic.Uint64) {
	c.mu.Lock()
	if c.ending || c.relaying[pc] || track.Kind() != webrtc.RTPCodecTypeAudio {
		// One audio track per peer: a second would interleave its
		// packets with the first's in the recording and the relay.
		c.mu.Unlock()
		return
	}
	c.relaying[pc] = true
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()

	var seq seqTracker
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		gap, inOrder := seq.next(p.SequenceNumber)
		lost.Add(gap)
		if inOrder {
			rec.write(p)
		}
		t := out.Load()
		if t == nil {
			continue
		}
		// Header extensions were negotiated with the sending peer, not
		// the receiving one.
		p.Header.Extension, p.Header.ExtensionProfile, p.Header.Extensions = false, 0, nil
		if err := t.WriteRTP(p); err == nil {
			relayed.Add(1)
		}
	}
}

// watch ends the call when pc's peer is gone: its connection failed or
// closed, or stayed disconnected for the second half of PeerTimeout (ICE
// calls it disconnected after the first half of silence). A connection the
// call no longer holds (a console leg whose answer failed) is ignored.
func (c *call) watch(pc *webrtc.PeerConnection, side string) {
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		// pion calls this on a goroutine per change, so changes can
		// arrive out of order: act on the state as it is now.
		state := pc.ConnectionState()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ending || (pc != c.devicePC && pc != c.consolePC) {
			return
		}
		if t := c.timers[pc]; t != nil {
			t.Stop()
			delete(c.timers, pc)
		}
		if pc == c.consolePC && !c.consoleUp {
			// An answer whose audio has not connected yet: it connects,
			// or it is released and the call rings again — a console
			// that cannot reach the hub never ends the resident's call.
			switch state {
			case webrtc.PeerConnectionStateConnected:
				c.consoleUp = true
				if c.connecting != nil {
					c.connecting.Stop()
				}
			case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
				c.log.Info("console's connection failed before it connected", "state", state.String())
				c.wg.Add(1) // c.mu is held: spawn would take it
				go func() { // releaseLeg takes the call's locks
					defer c.wg.Done()
					c.releaseLeg(pc, "", ReleaseMediaFailed)
				}()
			}
			return
		}
		switch state {
		case webrtc.PeerConnectionStateDisconnected:
			c.timers[pc] = time.AfterFunc(c.m.cfg.PeerTimeout-c.m.cfg.PeerTimeout/2, func() {
				if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
					c.log.Info("peer gone: disconnected too long", "side", side)
					c.requestEnd(EndPeerGone, "", true)
				}
			})
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			c.log.Info("peer gone", "side", side, "state", state.String())
			c.requestEnd(EndPeerGone, "", true) // never blocks, takes no lock of the call
		}
	})
}

// supervise waits for the end of the call and tears it down: both peer
// connections closed, the call's goroutines finished, the recordings
// closed, the device told (unless it hung up), the ended event sent.
func (c *call) supervise() {
	defer c.m.wg.Done()
	<-c.endCh
	req := c.endReq

	c.mu.Lock()
	c.ending = true
	pcs := []*webrtc.PeerConnection{c.devicePC, c.consolePC}
	recs := []*recorder{c.recDevice, c.recConsole}
	for pc, t := range c.timers {
		t.Stop()
		delete(c.timers, pc)
	}
	if c.connecting != nil {
		c.connecting.Stop()
	}
	rang, ownsDir := c.ci.State != "", c.ownsDir
	c.mu.Unlock()

	for _, pc := range pcs {
		if pc != nil {
			if err := c.closePeer(pc, true); err != nil {
				c.log.Debug("close peer connection", "err", err)
			}
		}
	}
	c.wg.Wait()
	for _, r := range recs {
		if r != nil {
			if err := r.close(); err != nil {
				c.log.Warn("recording", "err", err)
			}
		}
	}
	if req.tellDevice {
		reason := req.deviceReason
		if reason == "" {
			reason = deviceReason(req.reason)
		}
		c.m.sendHangup(context.Background(), c.deviceID, c.id, reason)
	}
	if !rang && ownsDir { // refused before it rang: leave nothing behind
		os.RemoveAll(c.dir)
	}

	c.mu.Lock()
	if rang { // a call refused before it rang stays invisible to Answer
		c.ci.State = CallEnded
	}
	c.ci.EndedAt, c.ci.EndReason, c.ci.EndedBy = c.m.cfg.Now(), req.reason, req.by
	ci := c.ci.clone()
	c.mu.Unlock()
	c.m.retire(c, ci, rang)
	if rang {
		c.log.Info("call ended", "reason", ci.EndReason, "by", ci.EndedBy, "duration", ci.EndedAt.Sub(ci.StartedAt).Round(time.Millisecond))
		c.evMu.Lock()
		c.m.cfg.OnEvent(CallEvent{Type: CallEnded, Call: ci})
		c.evMu.Unlock()
	}
	close(c.done)
}
