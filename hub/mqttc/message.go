package mqttc

import (
	"hash/maphash"
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

	conn  *batchConn   // a QoS 1 message's connection, which its PUBACK is written to
	id    uint16       // its packet ID
	pm    paho.Message // otherwise (QoS 0, a fake paho in tests), acknowledged through paho
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
// store key per acknowledgement.
func (m *Message) Ack() {
	if m.acked.Swap(true) {
		return
	}
	switch {
	case m.conn != nil:
		m.conn.puback(m.id)
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

// arrivals numbers messages as they come off the connections, in order.
var arrivals atomic.Uint64

// publish takes a QoS 1 message read off conn (batchConn.Read), on paho's
// reader goroutine for that connection: blocking here on a full queue
// stops the reading, which is the back-pressure.
func (c *Client) publish(conn *batchConn, p inboundPublish) error {
	if c.keepalive != nil {
		c.keepalive.UpdateLastReceived() // what paho's reader did for every packet
	}
	c.enqueue(&Message{
		Topic: p.topic, Payload: p.payload, Retained: p.retained, Duplicate: p.dup,
		conn: conn, id: p.id,
	})
	return nil
}

// refused counts a packet conn refused as malformed and warns, at most
// once per malformedLogEvery (with the count left out): paho then drops
// the connection and logs only its loss. Called on paho's reader
// goroutine, on the error path alone.
func (c *Client) refused(conn *batchConn, err error) {
	c.malformed.Add(1)
	c.refusedLog.Warn("malformed", "mqtt: refused a malformed packet from the broker; dropping the connection (the broker redelivers what was not acknowledged)",
		"reason", err, "broker", c.cfg.URL, "client_id", c.cfg.ClientID, "local_addr", conn.LocalAddr().String())
}

// onMessage is paho's handler for the messages it still reads (QoS 0: the
// optional $SYS subscriptions). paho calls it on its one router goroutine
// (SetOrderMatters(true)), so blocking here on a full queue stops paho
// reading from the socket.
func (c *Client) onMessage(_ paho.Client, pm paho.Message) {
	c.enqueue(&Message{
		Topic: pm.Topic(), Payload: pm.Payload(), Retained: pm.Retained(), Duplicate: pm.Duplicate(),
		pm: pm,
	})
}

// enqueue counts m and queues it for a handler, waiting while the queue is
// full. After Stop it is dropped, not acknowledged: the broker redelivers
// it.
func (c *Client) enqueue(m *Message) {
	c.received.Add(1)
	if m.Duplicate {
		c.redelivered.Add(1)
	}
	if m.Retained {
		c.retained.Add(1)
	}
	q := c.queue
	if c.ordered != nil {
		if k := c.cfg.OrderKey(m.Topic); k != "" {
			q = c.ordered[maphash.String(c.seed, k)%uint64(len(c.ordered))]
		}
	}
	c.queueMu.RLock()
	defer c.queueMu.RUnlock()
	if c.queueClosed {
		return
	}
	m.Arrival = arrivals.Add(1)
	select {
	case q <- m:
	case <-c.quit:
	}
}

// work runs handler calls for the messages queued on q until Stop closes
// it; what is still queued then is left unacknowledged (handle refuses it).
func (c *Client) work(q chan *Message) {
	defer c.workers.Done()
	for m := range q {
		c.handle(m)
	}
}

func (c *Client) handle(m *Message) {
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
			c.log.Error("mqtt message handler panicked", "topic", m.Topic, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	c.cfg.Handler(m)
}
