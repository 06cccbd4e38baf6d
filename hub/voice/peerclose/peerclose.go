// Package peerclose closes a pion v3 PeerConnection without racing the
// start of its transports.
//
// SetRemoteDescription queues the start of the ICE and DTLS transports on
// pion's operations goroutine, where ICETransport.Start blocks until ICE
// connects. Closing the connection meanwhile stops the ICE transport, and
// pion v3's ICETransport.stop reads the transport's mux after releasing its
// lock: if ICE connects at that moment (the agent's state callback can even
// undo the closed state Start checks), Start writes the mux while stop
// reads it — a data race the race detector reports, and a mux that may be
// left open (pion/webrtc#2940 and #2953, fixed in v4 only). So a connection
// whose remote description was applied is closed once that start is over:
// the DTLS transport began (ICE is up, Start has returned) or ICE failed
// (Start can then only return an error). The wait is bounded: a connection
// is closed after limit in any case.
package peerclose

import (
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
)

// ErrClosing is returned by SetRemoteDescription once Close has begun.
var ErrClosing = errors.New("peer connection closing")

// Guard watches one peer connection's transports. Its methods are safe for
// concurrent use.
type Guard struct {
	pc   *webrtc.PeerConnection
	over chan struct{} // the transports' start is over
	once sync.Once

	mu      sync.Mutex
	applied bool // a remote description was applied: the start is queued
	closing bool
}

// Watch returns pc's guard. It takes pc's DTLS transport state handler and
// its ICE connection state handler (OnConnectionStateChange stays the
// caller's): call it before any description is set.
func Watch(pc *webrtc.PeerConnection) *Guard {
	g := &Guard{pc: pc, over: make(chan struct{})}
	pc.SCTP().Transport().OnStateChange(func(webrtc.DTLSTransportState) { g.end() })
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateFailed || s == webrtc.ICEConnectionStateClosed {
			g.end()
		}
	})
	return g
}

func (g *Guard) end() { g.once.Do(func() { close(g.over) }) }

// SetRemoteDescription applies desc to the connection, unless Close has
// begun (ErrClosing).
func (g *Guard) SetRemoteDescription(desc webrtc.SessionDescription) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return ErrClosing
	}
	// pion queues the transports' start at the end of a call that
	// succeeds; a failing one queues nothing.
	err := g.pc.SetRemoteDescription(desc)
	if err == nil {
		g.applied = true
	}
	return err
}

// Close closes the connection once that cannot race the start of its
// transports, waiting at most limit for it.
func (g *Guard) Close(limit time.Duration) error {
	g.wait(limit)
	return g.pc.Close()
}

// GracefulClose is Close with pion's GracefulClose, which also waits for
// the connection's goroutines.
func (g *Guard) GracefulClose(limit time.Duration) error {
	g.wait(limit)
	return g.pc.GracefulClose()
}

// Started is closed once the transports' start is over (see the package
// documentation); it stays open on a connection that never had a remote
// description.
func (g *Guard) Started() <-chan struct{} { return g.over }

func (g *Guard) wait(limit time.Duration) {
	g.mu.Lock()
	g.closing = true
	applied := g.applied
	g.mu.Unlock()
	if !applied {
		return
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-g.over:
	case <-t.C: // closed anyway: a guard is no reason to keep a peer open
	}
}
