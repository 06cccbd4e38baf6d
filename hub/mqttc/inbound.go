package mqttc

import (
	"errors"
	"fmt"
	"io"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// The hub's messages are read off the connection here, not by paho. paho
// hands each inbound PUBLISH across four goroutines (reader, inbound logic,
// comms, router) before the Client's onMessage sees it, and allocates a
// packet, a message and an acknowledgement closure for it: at tens of
// thousands of messages a second that was the largest share of the hub's
// CPU left outside its own work. A Client's connection (Client.dial) takes
// every QoS 1 PUBLISH itself as paho's reader goroutine asks it for bytes,
// hands it to the Client's queue on that goroutine — blocking while the
// queue is full, which stops the reading as before — and gives paho only
// the other packets (CONNACK, SUBACK, PINGRESP, QoS 0 messages, the
// acknowledgements of the hub's own publishes). paho keeps no state for an
// inbound QoS 1 message here (NewStore leaves it out), and its
// acknowledgement is written by Message.Ack to this connection, so paho
// has nothing to miss.

// inboundPublish is a QoS 1 PUBLISH as read off the connection.
type inboundPublish struct {
	topic         string
	payload       []byte
	id            uint16
	dup, retained bool
}

// maxHeader is the longest fixed header: a byte and four of length.
const maxHeader = 5

// Read gives paho the connection's bytes, but for the QoS 1 PUBLISHes a
// Client takes itself (hooks.publish). Only paho's reader goroutine calls
// it.
func (b *batchConn) Read(p []byte) (int, error) {
	if b.hooks.publish == nil {
		return b.r.Read(p)
	}
	for b.fwd == 0 { // at the start of a packet
		first, hlen, rl, err := b.header()
		if err != nil {
			return 0, err
		}
		if first>>4 != packets.Publish || (first>>1)&3 != 1 {
			b.fwd = hlen + rl
			break
		}
		if _, err := b.r.Discard(hlen); err != nil {
			return 0, err
		}
		body := make([]byte, rl)
		if _, err := io.ReadFull(b.r, body); err != nil {
			return 0, err
		}
		pub, err := parsePublish(first, body)
		if err != nil {
			return 0, err // paho drops the connection; the broker redelivers
		}
		if err := b.hooks.publish(b, pub); err != nil {
			return 0, err
		}
	}
	if len(p) > b.fwd {
		p = p[:b.fwd]
	}
	n, err := b.r.Read(p)
	b.fwd -= n
	return n, err
}

// header peeks at the next packet's fixed header: its first byte, its
// length and the remaining length it gives.
func (b *batchConn) header() (first byte, hlen, rl int, err error) {
	for hlen = 2; hlen <= maxHeader; hlen++ {
		h, err := b.r.Peek(hlen)
		if err != nil {
			return 0, 0, 0, err
		}
		if h[hlen-1]&0x80 == 0 {
			mul := 1
			for _, c := range h[1:hlen] {
				rl += int(c&0x7f) * mul
				mul <<= 7
			}
			return h[0], hlen, rl, nil
		}
	}
	return 0, 0, 0, errors.New("mqttc: malformed remaining length")
}

// parsePublish reads a QoS 1 PUBLISH's variable header and payload: the
// topic (a two-byte length and UTF-8 bytes), the packet ID, and the rest.
// The payload shares body.
func parsePublish(first byte, body []byte) (inboundPublish, error) {
	if len(body) < 2 {
		return inboundPublish{}, fmt.Errorf("mqttc: PUBLISH of %d bytes", len(body))
	}
	tl := int(body[0])<<8 | int(body[1])
	if len(body) < 2+tl+2 {
		return inboundPublish{}, fmt.Errorf("mqttc: PUBLISH of %d bytes with a topic of %d", len(body), tl)
	}
	return inboundPublish{
		topic:    string(body[2 : 2+tl]),
		id:       uint16(body[2+tl])<<8 | uint16(body[3+tl]),
		payload:  body[4+tl:],
		dup:      first&0x08 != 0,
		retained: first&0x01 != 0,
	}, nil
}
