package mqttc

import (
	"runtime/debug"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message from the broker.
type Message struct {
	Topic               string
	Payload             []byte
	Retained, Duplicate bool
	// Arrival orders messages as they came off the connections of every
	// Client in the process: handlers run concurrently, so one that must
	// apply messages in order (the state a vendor device reports) sorts by
	// it.
	Arrival uint64

	pm    paho.Message // acknowledged through paho when conn is nil
	conn  *batchConn   // the connection a QoS 1 message came on, which its PUBACK is written to
	acked atomic.Bool
}

// Ack acknowledges the message to the broker (PUBACK). Call it once the
// message is durably handled; it may be called from any goroutine, later
// than the handler returns. Calls after the first do nothing. An ack that
// comes after the connection it arrived on was lost is dropped; the broker
// then redelivers the message on the next connection.
//
// A QoS 1 message's PUBACK is written straight into the queue of the
// connection it came on (batchConn.puback) rather than through paho, whose
// path crosses three goroutines and allocates a packet, a buffer and a
// store key per acknowledgement (about a tenth of the hub's CPU at full
// rate). paho keeps no state for an inbound QoS 1 message here (NewStore),
// so it has nothing to clean up; its keepalive only sees fewer writes and
// pings the broker now and then.
func (m *Message) Ack() {
	if m.acked.Swap(true) {
		return
	}
	switch {
	case m.conn != nil:
		m.conn.puback(m.pm.MessageID())
	case m.pm != nil:
		m.pm.Ack()
	}
}

// Handler takes one message. It is called concurrently from at most
// Config.MaxInFlight goroutines and must call m.Ack exactly once, possibly
// later and from another goroutine, when the message is durably handled (or
// definitively rejected). While every handler is busy, up to MaxInFlight
// further messages wait in the client; past that the client stops reading
// from the broker, so the broker's queue — not the hub's memory — holds the
// backlog (TCP pushes back on the broker).
type Handler func(m *Message)

// arrivals numbers messages as paho's routers hand them over, in order.
var arrivals atomic.Uint64

// queued is a message waiting for a handler, with its arrival number.
type queued struct {
	pm      paho.Message
	conn    *batchConn // for a QoS 1 message, the connection it came on
	arrival uint64
}

// onMessage is paho's handler for every message. paho calls it on its one
// router goroutine (SetOrderMatters(true)), so blocking here on a full queue
// stops paho reading from the socket: that is the back-pressure.
func (c *Client) onMessage(_ paho.Client, pm paho.Message) {
	c.received.Add(1)
	if pm.Duplicate() {
		c.redelivered.Add(1)
	}
	if pm.Retained() {
		c.retained.Add(1)
	}
	// paho calls onMessage for a connection's messages before it dials the
	// next one (it waits for its router to finish first), so the
	// connection open now is the one pm came on.
	var conn *batchConn
	if pm.Qos() == 1 {
		conn = c.conn.Load()
	}
	c.queueMu.RLock()
	defer c.queueMu.RUnlock()
	if c.queueClosed {
		return // stopped: not acknowledged, the broker redelivers it
	}
	select {
	case c.queue <- queued{pm, conn, arrivals.Add(1)}:
	case <-c.quit: // not acknowledged: the broker redelivers it
	}
}

// work runs handler calls for queued messages until Stop closes the queue;
// what is still queued then is left unacknowledged (handle refuses it).
func (c *Client) work() {
	defer c.workers.Done()
	for q := range c.queue {
		c.handle(q)
	}
}

func (c *Client) handle(q queued) {
	pm := q.pm
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	c.running.Add(1)
	c.mu.Unlock()
	defer c.running.Done()
	defer func() {
		if r := recover(); r != nil {
			// Not acknowledged, so the broker will offer it again.
			c.log.Error("mqtt message handler panicked", "topic", pm.Topic(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.cfg.Handler(&Message{
		Topic: pm.Topic(), Payload: pm.Payload(),
		Retained: pm.Retained(), Duplicate: pm.Duplicate(),
		Arrival: q.arrival, pm: pm, conn: q.conn,
	})
}
