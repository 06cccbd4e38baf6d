package console

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// maxLiveRead is the largest message a client may send; it has nothing to
// say, so this only bounds what a misbehaving one costs.
const maxLiveRead = 4 << 10

// replayPage is how many stored changes a resume reads at a time.
const replayPage = 500

// errLiveWrite means a write to the client failed: the connection is gone.
var errLiveWrite = errors.New("write to live client")

// liveClient is one connection to the live feed. Only the owner goroutine
// sends on send and closes it; only the write pump writes to conn.
type liveClient struct {
	hub  *liveHub
	conn *websocket.Conn
	req  liveRequest
	send chan liveOut

	ctx      context.Context // ends with the connection or the feed
	cancel   context.CancelFunc
	readDone chan struct{} // closed when the read pump returns

	closing   atomic.Pointer[liveClose]
	closeSent bool // the write pump sent a close frame

	recheckNow chan struct{} // capacity 1: check the session before the next ping
}

func newLiveClient(h *liveHub, conn *websocket.Conn, req liveRequest) *liveClient {
	ctx, cancel := context.WithCancel(h.ctx)
	return &liveClient{hub: h, conn: conn, req: req, send: make(chan liveOut, h.opt.SendBuffer),
		ctx: ctx, cancel: cancel, readDone: make(chan struct{}), recheckNow: make(chan struct{}, 1)}
}

// stop is how the owner ends a client, once: it records why and closes
// send. The write pump sends the close frame without the backlog.
func (c *liveClient) stop(code int, text string) {
	c.closing.Store(&liveClose{code: code, text: text})
	close(c.send)
}

// readPump reads (and ignores) what the client sends, so that pongs and
// close frames are handled, until the connection fails or goes quiet for
// longer than PongWait.
func (c *liveClient) readPump() {
	defer c.hub.pumps.Done()
	defer close(c.readDone)
	defer func() {
		c.cancel()
		select {
		case c.hub.unregister <- c:
		case <-c.hub.ownerDone:
		}
	}()
	wait := c.hub.opt.PongWait
	c.conn.SetReadLimit(maxLiveRead)
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(wait)) })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if websocket.IsUnexpectedCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
				c.hub.log.Debug("live client gone", "user", c.req.user, "err", err)
			}
			return
		}
	}
}

// writePump sends the client its start (a snapshot or a replay), then the
// changes the owner queues, with pings in between, until the owner stops
// it or the connection fails.
func (c *liveClient) writePump(head int64) {
	defer c.hub.pumps.Done()
	defer func() {
		if c.closeSent { // let the client answer, so it reads our reason
			t := time.NewTimer(c.hub.opt.CloseGrace)
			select {
			case <-c.readDone:
			case <-t.C:
			}
			t.Stop()
		}
		c.conn.Close()
	}()

	last, err := c.start(head)
	if err != nil {
		c.fail(err)
		return
	}
	ticker := time.NewTicker(c.hub.opt.PingPeriod)
	defer ticker.Stop()
	for {
		select {
		case out, ok := <-c.send:
			if why := c.closing.Load(); !ok || why != nil {
				if why != nil {
					c.writeClose(why.code, why.text)
				}
				return
			}
			switch {
			case out.resync != nil:
				if last, err = c.resync(out.resync, last); err != nil {
					c.fail(err)
					return
				}
			case out.seq <= last:
				// Already sent, in the snapshot or the replay.
			case !c.req.scope.Allows(out.alert):
				// Outside a grid worker's scope: not theirs to see.
				last = out.seq
			default:
				_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opt.WriteWait))
				if err := c.conn.WritePreparedMessage(out.msg); err != nil {
					return
				}
				last = out.seq
			}

		case <-ticker.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opt.WriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
			if !c.sessionValid() {
				return
			}

		case <-c.recheckNow:
			if !c.sessionValid() {
				return
			}

		case <-c.readDone:
			return
		}
	}
}

// sessionValid re-checks the client's session; when it has ended it sends
// the close frame and reports false.
func (c *liveClient) sessionValid() bool {
	if c.req.recheck == nil {
		return true
	}
	if err := c.req.recheck(c.ctx); shouwang.ErrorCode(err) == shouwang.EUNAUTHORIZED {
		c.hub.log.Info("live client's session ended", "user", c.req.user)
		c.writeClose(websocket.ClosePolicyViolation, "session ended; log in again")
		return false
	} else if err != nil && c.ctx.Err() == nil {
		c.hub.log.Warn("recheck live client's session", "user", c.req.user, "err", err)
	}
	return true
}

// recheckSoon asks the write pump to check the session now.
func (c *liveClient) recheckSoon() {
	select {
	case c.recheckNow <- struct{}{}:
	default:
	}
}

// fail ends a client whose start or resync failed.
func (c *liveClient) fail(err error) {
	switch {
	case errors.Is(err, errLiveWrite):
		// The connection is gone: nothing to tell.
	case c.hub.ctx.Err() != nil:
		c.writeClose(websocket.CloseGoingAway, "server shutting down")
	case c.ctx.Err() != nil:
		// The client left while we were loading.
	default:
		c.hub.log.Error("live feed: load alerts for a client", "user", c.req.user, "err", err)
		c.writeClose(websocket.CloseInternalServerErr, "could not load the alerts; reconnect")
	}
}

// start sends what the client needs before live changes: with ?since=,
// the stored changes after it up to head if they are all still kept and
// not too many; otherwise a snapshot labelled head. The client is already
// in the set, so every change after head is queued for it: nothing falls
// between. It returns the last seq sent.
func (c *liveClient) start(head int64) (int64, error) {
	if c.req.resume && c.req.since <= head {
		changes, ok, err := c.replay(c.req.since, head)
		if err != nil {
			return 0, err
		}
		if ok {
			last := c.req.since
			for _, ch := range changes {
				if !c.req.scope.Allows(ch.Alert) {
					last = ch.Seq
					continue
				}
				b, err := encode(changeMessage{Type: "change", Seq: ch.Seq, Alert: withoutTimeline(ch.Alert)})
				if err != nil {
					return 0, fmt.Errorf("encode change %d: %w", ch.Seq, err)
				}
				if err := c.writeText(b); err != nil {
					return 0, err
				}
				last = ch.Seq
			}
			return last, nil
		}
	}
	open, devs, err := c.hub.snapshot(c.ctx)
	if err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	b, err := encode(snapshotMessage{Type: "snapshot", Seq: head, Alerts: stripTimelines(c.inScope(open)), Devices: devs})
	if err != nil {
		return 0, fmt.Errorf("encode snapshot: %w", err)
	}
	return head, c.writeText(b)
}

// replay returns the stored changes in (since, head], or false if some of
// them are no longer kept or there are more than MaxReplay: then the client
// needs a snapshot.
func (c *liveClient) replay(since, head int64) ([]alerts.Change, bool, error) {
	if head-since > int64(c.hub.opt.MaxReplay) {
		return nil, false, nil
	}
	var out []alerts.Change
	for cursor := since; cursor < head; {
		page, oldest, err := c.hub.src.ChangesSince(c.ctx, cursor, int(min(head-cursor, replayPage)))
		if err != nil {
			return nil, false, fmt.Errorf("replay changes since %d: %w", cursor, err)
		}
		if len(page) == 0 || oldest == 0 || oldest > cursor+1 {
			return nil, false, nil // pruned
		}
		for _, ch := range page {
			if ch.Seq <= cursor { // not in order: trust a snapshot instead
				return nil, false, nil
			}
			if ch.Seq > head { // the owner queues these
				return out, true, nil
			}
			if ch.Alert != nil {
				out = append(out, ch)
			}
			cursor = ch.Seq
		}
	}
	return out, true, nil
}

// resync sends the shared snapshot taken after the console resubscribed.
// It is labelled with the later of its seq and the last one sent: it was
// taken after both.
func (c *liveClient) resync(r *liveResync, last int64) (int64, error) {
	open, devs, msg, err := r.get()
	if err != nil {
		return last, err
	}
	if r.seq > last && c.req.scope == nil {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opt.WriteWait))
		if err := c.conn.WritePreparedMessage(msg); err != nil {
			return last, errLiveWrite
		}
		return r.seq, nil
	}
	seq := max(r.seq, last)
	b, err := encode(snapshotMessage{Type: "snapshot", Seq: seq, Alerts: stripTimelines(c.inScope(open)), Devices: devs})
	if err != nil {
		return last, fmt.Errorf("encode snapshot: %w", err)
	}
	return seq, c.writeText(b)
}

// inScope keeps the alerts the client may see: all of them, or a grid
// worker's.
func (c *liveClient) inScope(open []*alerts.Alert) []*alerts.Alert {
	if c.req.scope == nil {
		return open
	}
	var out []*alerts.Alert
	for _, a := range open {
		if a != nil && c.req.scope.Allows(a) {
			out = append(out, a)
		}
	}
	return out
}

func (c *liveClient) writeText(b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opt.WriteWait))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return errLiveWrite
	}
	return nil
}

// writeClose sends a close frame. It may run beside the pumps.
func (c *liveClient) writeClose(code int, text string) {
	err := c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(c.hub.opt.WriteWait))
	c.closeSent = err == nil
}
