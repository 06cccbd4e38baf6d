package mqttc

import (
	"runtime/debug"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message from the broker.
type Message struct {
	Topic               string
	Payload             []byte
	Retained, Duplicate bool

	ack  func()
	once sync.Once
}

// Ack acknowledges the message to the broker (PUBACK). Call it once the
// message is durably handled; it may be called from any goroutine, later
// than the handler returns. Calls after the first do nothing. An ack that
// comes after the connection it arrived on was lost is dropped by paho; the
// broker then redelivers the message on the next connection.
func (m *Message) Ack() { m.once.Do(m.ack) }

// Handler takes one message. It is called concurrently from at most
// Config.MaxInFlight goroutines and must call m.Ack exactly once, possibly
// later and from another goroutine, when the message is durably handled (or
// definitively rejected). While MaxInFlight calls are running, further
// messages wait for a free slot. paho keeps reading meanwhile, so how many
// messages wait is bounded by the broker's window of unacknowledged
// messages for the client (mosquitto's max_inflight_messages, 65535 in the
// embedded broker), not by this client.
type Handler func(m *Message)

// onMessage is paho's handler for every message. paho calls it on a new
// goroutine per message (order does not matter), so blocking here holds only
// this message.
func (c *Client) onMessage(_ paho.Client, pm paho.Message) {
	c.received.Add(1)
	select {
	case c.sem <- struct{}{}:
	case <-c.quit:
		return // not acknowledged: the broker redelivers it
	}
	defer func() { <-c.sem }()
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
		ack: pm.Ack,
	})
}
