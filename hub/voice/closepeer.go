package voice

import (
	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang/hub/voice/peerclose"
)

// Every peer connection of a call is watched from its creation, so that it
// is closed without racing the start of its transports (package peerclose:
// pion v3's Close against the ICE start SetRemoteDescription queued). A
// call that ends while a leg's ICE is connecting is torn down once ICE is
// up or has failed, within twice PeerTimeout.

// watchPeer starts watching pc; call it before pc has a remote description.
func (c *call) watchPeer(pc *webrtc.PeerConnection) {
	g := peerclose.Watch(pc)
	c.mu.Lock()
	c.guards[pc] = g
	c.mu.Unlock()
}

// setRemote applies a peer's description to pc.
func (c *call) setRemote(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	c.mu.Lock()
	g := c.guards[pc]
	c.mu.Unlock()
	if g == nil { // closed already
		return peerclose.ErrClosing
	}
	return g.SetRemoteDescription(desc)
}

// closePeer closes pc (gracefully: waiting for its goroutines too). The
// caller must not hold c.mu.
func (c *call) closePeer(pc *webrtc.PeerConnection, graceful bool) error {
	c.mu.Lock()
	g := c.guards[pc]
	delete(c.guards, pc)
	c.mu.Unlock()
	limit := 2 * c.m.cfg.PeerTimeout
	switch {
	case g != nil && graceful:
		return g.GracefulClose(limit)
	case g != nil:
		return g.Close(limit)
	case graceful:
		return pc.GracefulClose()
	default:
		return pc.Close()
	}
}
