package voice

import (
	"context"
	"os"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang"
)

// Release lets go of an answer whose audio never connected: operator's
// browser says its connection failed or did not connect in time (reason
// ReleaseMediaFailed or ReleaseMediaTimeout). The console's leg is closed,
// and the call rings again for every console, the resident still waiting.
// The hub does the same by itself when the console's connection fails
// first or is not connected within ConnectTimeout. Releasing a call that
// rings already (released before) does nothing. Errors: EINVALID for an
// unknown reason, ENOTFOUND for an unknown call, ECONFLICT for an ended
// call, one answered by another operator, or one whose audio connected (a
// connected call is hung up, not released).
func (m *Manager) Release(ctx context.Context, callID, operator, reason string) error {
	if !ValidReleaseReason(reason) {
		return shouwang.Errorf(shouwang.EINVALID, "release reason %q: must be %s or %s", clipReason(reason), ReleaseMediaFailed, ReleaseMediaTimeout)
	}
	if operator == "" {
		return shouwang.Errorf(shouwang.EINVALID, "an operator is required to release a call")
	}
	c, err := m.find(callID)
	if err != nil {
		return err
	}
	return c.releaseLeg(nil, operator, reason)
}

func clipReason(r string) string {
	if len(r) > 32 {
		return r[:32] + "…"
	}
	return r
}

// releaseLeg puts an answered call whose console's connection never
// connected back to ringing. leg, when not nil, is the connection the
// caller saw fail (a newer answer's leg is left alone); operator, when not
// "", must be the one who answered.
func (c *call) releaseLeg(leg *webrtc.PeerConnection, operator, reason string) error {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	c.mu.Lock()
	switch {
	case c.ending:
		c.mu.Unlock()
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s has ended", c.id)
	case c.ci.State != CallAnswered || (leg != nil && leg != c.consolePC):
		c.mu.Unlock()
		return nil // ringing again already, or another answer's leg
	case operator != "" && operator != c.ci.AnsweredBy:
		by := c.ci.AnsweredBy
		c.mu.Unlock()
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s was answered by %s", c.id, by)
	case c.consoleUp:
		c.mu.Unlock()
		return shouwang.Errorf(shouwang.ECONFLICT, "call %s is connected: hang up instead", c.id)
	}
	pc, rec, by := c.consolePC, c.recConsole, c.ci.AnsweredBy
	c.consolePC, c.recConsole = nil, nil
	delete(c.ci.Recordings, "console")
	c.toConsole.Store(nil)
	if t := c.timers[pc]; t != nil {
		t.Stop()
		delete(c.timers, pc)
	}
	if c.connecting != nil {
		c.connecting.Stop()
		c.connecting = nil
	}
	c.ci.State, c.ci.AnsweredBy, c.ci.AnsweredAt = CallRinging, "", time.Time{}
	ci := c.ci.clone()
	c.mu.Unlock()

	if pc != nil {
		c.closePeer(pc, false) // no longer the call's: its closing ends nothing
	}
	if rec != nil { // nothing was heard: no recording of this console
		rec.close()
		os.Remove(rec.path)
	}
	c.m.released.Add(1)
	c.log.Warn("answer released: the console's audio never connected; the call rings again", "by", by, "reason", reason)
	c.m.cfg.OnEvent(CallEvent{Type: CallReleased, Call: ci, By: by, Reason: reason})
	return nil
}
