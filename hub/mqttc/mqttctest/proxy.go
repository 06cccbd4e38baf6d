// Package mqttctest helps test MQTT clients against a real broker: Proxy
// stands between the clients and the broker and damages the broker's
// stream on demand. It is for tests only.
package mqttctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// MalformedPublish is a QoS 1 PUBLISH whose topic (10 bytes) runs past its
// 6-byte body: a packet no broker sends and every client must refuse.
var MalformedPublish = []byte{0x32, 6, 0, 10, 'a', 'b', 0, 1}

// MQTT packet types the proxy looks into.
const (
	typeConnect = 1
	typePublish = 3
	typePuback  = 4
	maxHeader   = 5 // a byte and four of remaining length
)

// Proxy passes whole MQTT packets between clients and a broker. It knows
// each connection's client ID (from its CONNECT), notes which QoS 1
// messages the clients acknowledged (by payload), and injects packets into
// the broker's stream to a client, between two of the broker's packets.
type Proxy struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu    sync.Mutex
	all   []*proxied
	acks  map[string]int // payload → PUBACKs clients sent for it
	conns map[string]int // client ID → connections made
}

// proxied is one client connection and its connection to the broker.
type proxied struct {
	client, broker net.Conn
	wmu            sync.Mutex        // whole packets to the client
	id             string            // the client ID (Proxy.mu)
	inflight       map[uint16]string // QoS 1 messages sent to the client, by packet ID (Proxy.mu)
}

// NewProxy listens on a free loopback port and passes each connection to
// upstream (host:port); it stops when the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, upstream: upstream, acks: map[string]int{}, conns: map[string]int{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.all {
			c.client.Close()
			c.broker.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Addr is where clients connect (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		broker, err := net.Dial("tcp", p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxied{client: client, broker: broker, inflight: map[uint16]string{}}
		p.mu.Lock()
		p.all = append(p.all, c)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.down(c)
		go p.up(c)
	}
}

// down passes the broker's packets to the client, noting its QoS 1
// messages before the client can acknowledge them.
func (p *Proxy) down(c *proxied) {
	defer p.wg.Done()
	defer c.client.Close()
	defer c.broker.Close()
	r := bufio.NewReader(c.broker)
	for {
		pkt, hlen, err := readPacket(r)
		if err != nil {
			return
		}
		if pkt[0]>>4 == typePublish && (pkt[0]>>1)&3 == 1 {
			if id, payload, ok := publishOf(pkt[hlen:]); ok {
				p.mu.Lock()
				c.inflight[id] = payload
				p.mu.Unlock()
			}
		}
		c.wmu.Lock()
		_, err = c.client.Write(pkt)
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// up passes the client's packets to the broker, noting its client ID and
// its PUBACKs.
func (p *Proxy) up(c *proxied) {
	defer p.wg.Done()
	defer c.broker.Close()
	defer c.client.Close()
	r := bufio.NewReader(c.client)
	for {
		pkt, hlen, err := readPacket(r)
		if err != nil {
			return
		}
		switch pkt[0] >> 4 {
		case typeConnect:
			if id, ok := clientIDOf(pkt[hlen:]); ok {
				p.mu.Lock()
				c.id = id
				p.conns[id]++
				p.mu.Unlock()
			}
		case typePuback:
			if len(pkt) == 4 {
				id := uint16(pkt[2])<<8 | uint16(pkt[3])
				p.mu.Lock()
				if payload, ok := c.inflight[id]; ok {
					p.acks[payload]++
					delete(c.inflight, id)
				}
				p.mu.Unlock()
			}
		}
		if _, err := c.broker.Write(pkt); err != nil {
			return
		}
	}
}

// Inject writes pkt to the newest connection of clientID, between two of
// the broker's packets.
func (p *Proxy) Inject(clientID string, pkt []byte) error {
	var c *proxied
	p.mu.Lock()
	for _, x := range p.all {
		if x.id == clientID {
			c = x
		}
	}
	p.mu.Unlock()
	if c == nil {
		return fmt.Errorf("mqttctest: no connection of client %q", clientID)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.client.Write(pkt)
	return err
}

// Connections returns how many connections clientID made (CONNECTs).
func (p *Proxy) Connections(clientID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[clientID]
}

// Acked returns how many times a client acknowledged a QoS 1 message
// with payload.
func (p *Proxy) Acked(payload string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acks[payload]
}

// publishOf reads a QoS 1 PUBLISH's body: its packet ID and payload.
func publishOf(body []byte) (id uint16, payload string, ok bool) {
	if len(body) < 2 {
		return 0, "", false
	}
	tl := int(body[0])<<8 | int(body[1])
	if len(body) < 4+tl {
		return 0, "", false
	}
	return uint16(body[2+tl])<<8 | uint16(body[3+tl]), string(body[4+tl:]), true
}

// clientIDOf reads the client ID from a CONNECT's body: after the
// protocol name, level, flags and keepalive.
func clientIDOf(body []byte) (string, bool) {
	if len(body) < 2 {
		return "", false
	}
	off := 2 + (int(body[0])<<8 | int(body[1])) + 4
	if len(body) < off+2 {
		return "", false
	}
	n := int(body[off])<<8 | int(body[off+1])
	if len(body) < off+2+n {
		return "", false
	}
	return string(body[off+2 : off+2+n]), true
}

// readPacket reads one MQTT packet and returns it with the length of its
// fixed header.
func readPacket(r *bufio.Reader) (pkt []byte, hlen int, err error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, 0, err
	}
	pkt = []byte{first}
	rl, mul := 0, 1
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, 0, err
		}
		pkt = append(pkt, b)
		rl += int(b&0x7f) * mul
		mul <<= 7
		if b&0x80 == 0 {
			break
		}
		if len(pkt) == maxHeader {
			return nil, 0, errors.New("mqttctest: remaining length longer than 4 bytes")
		}
	}
	hlen = len(pkt)
	pkt = append(pkt, make([]byte, rl)...)
	if _, err := io.ReadFull(r, pkt[hlen:]); err != nil {
		return nil, 0, err
	}
	return pkt, hlen, nil
}
