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

// A packet the connection cannot read (a remaining length of more than
// four bytes, a PUBLISH whose topic runs past its end, one with both QoS
// bits set) is refused: Read returns an error wrapping errMalformed, paho
// drops the connection and reconnects, and the broker redelivers what was
// not acknowledged — nothing is lost, but a lane that keeps getting them
// keeps reconnecting. The refusal is reported to hooks.malformed (the
// Client counts it, Stats.Malformed, and logs it at a bounded rate) on the
// error path only: a valid packet does no more work than before.

// errMalformed is wrapped by the errors of packets the connection refuses.
var errMalformed = errors.New("mqttc: malformed packet")

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
			return 0, b.refused(err)
		}
		if first>>4 != packets.Publish || (first>>1)&3 != 1 {
			if first>>4 == packets.Publish && first&0x06 == 0x06 {
				// MQTT 3.1.1 [MQTT-3.3.1-4]: close the connection. (paho would
				// hand it on as a message whose Ack does nothing.)
				return 0, b.refused(fmt.Errorf("%w: PUBLISH with QoS 3", errMalformed))
			}
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
			return 0, b.refused(err) // paho drops the connection; the broker redelivers
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
	return 0, 0, 0, fmt.Errorf("%w: remaining length longer than 4 bytes", errMalformed)
}

// refused reports err to hooks.malformed when it refuses a malformed
// packet (not when the connection failed), and returns it for paho.
func (b *batchConn) refused(err error) error {
	if b.hooks.malformed != nil && errors.Is(err, errMalformed) {
		b.hooks.malformed(b, err)
	}
	return err
}

// parsePublish reads a QoS 1 PUBLISH's variable header and payload: the
// topic (a two-byte length and UTF-8 bytes), the packet ID, and the rest.
// The payload shares body.
func parsePublish(first byte, body []byte) (inboundPublish, error) {
	if len(body) < 2 {
		return inboundPublish{}, fmt.Errorf("%w: PUBLISH of %d bytes, too short for a topic length", errMalformed, len(body))
	}
	tl := int(body[0])<<8 | int(body[1])
	if len(body) < 2+tl+2 {
		return inboundPublish{}, fmt.Errorf("%w: PUBLISH of %d bytes with a topic of %d and a packet ID past its end", errMalformed, len(body), tl)
	}
	return inboundPublish{
		topic:    string(body[2 : 2+tl]),
		id:       uint16(body[2+tl])<<8 | uint16(body[3+tl]),
		payload:  body[4+tl:],
		dup:      first&0x08 != 0,
		retained: first&0x01 != 0,
	}, nil
}
