package mqttc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// malformedPublish is a QoS 1 PUBLISH whose topic (10 bytes) runs past its
// 6-byte body.
var malformedPublish = []byte{0x32, 6, 0, 10, 'a', 'b', 0, 1}

// lockedBuffer is a log's output, written from paho's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines that contain s.
func (b *lockedBuffer) lines(s string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

const refusedLine = "refused a malformed packet"

// The Client's connections report a malformed packet to it: it counts
// every one and warns of the first, naming the reason and the connection,
// and of the next only after malformedLogEvery. The valid message before
// it is taken as usual.
func TestClientCountsAndWarnsOfMalformedPackets(t *testing.T) {
	var logged lockedBuffer
	f := &fakePaho{}
	cfg := Config{URL: "tcp://127.0.0.1:1883", ClientID: "hub", Subscriptions: []string{"a/+"},
		Handler: func(*Message) {}, MaxInFlight: 4, KeepAlive: time.Minute, ConnectTimeout: 5 * time.Second}
	c := newClient(cfg, slog.New(slog.NewTextHandler(&logged, nil)), func(o *paho.ClientOptions) pahoClient { f.opts = o; return f })
	t.Cleanup(c.Stop)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stream := append(publishBytes(t, "a/b", 1, 7, false, false, "ok"), malformedPublish...)
	go func() { // the "broker": one valid message, then a malformed one, on each connection
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Write(stream)
			defer conn.Close()
		}
	}()
	u := &url.URL{Scheme: "tcp", Host: ln.Addr().String()}
	var locals []string
	for i := range 2 {
		conn, err := f.opts.CustomOpenConnectionFn(u, *f.opts) // the Client's own dialer and hooks
		if err != nil {
			t.Fatal(err)
		}
		locals = append(locals, conn.LocalAddr().String())
		if _, err := packets.ReadPacket(conn); !errors.Is(err, errMalformed) {
			t.Fatalf("connection %d: paho's reader got %v, want the malformed packet's error", i, err)
		}
		conn.Close()
	}

	if st := c.Stats(); st.Received != 2 || st.Malformed != 2 {
		t.Errorf("Stats %+v: want 2 received and 2 malformed", st)
	}
	lines := logged.lines(refusedLine)
	if len(lines) != 1 {
		t.Fatalf("%d warnings of a malformed packet within %s, want 1:\n%s", len(lines), malformedLogEvery, strings.Join(lines, "\n"))
	}
	for _, want := range []string{"level=WARN", "topic of 10", "client_id=hub", "broker=tcp://127.0.0.1:1883", "local_addr=" + locals[0]} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the warning does not say %q: %s", want, lines[0])
		}
	}
}

// TestMalformedPacketFromTheBrokerIsCountedAndSurvived runs the whole loop
// on a real mosquitto: the hub's client connects through a proxy that
// injects one malformed PUBLISH into the broker's stream. The client
// refuses it, counts it and drops the connection, reconnects, and every
// message — acknowledged before, held unacknowledged across the cut
// (redelivered), published after — is handled and acknowledged: the proxy
// sees the client's PUBACK of each.
func TestMalformedPacketFromTheBrokerIsCountedAndSurvived(t *testing.T) {
	broker := mosquitto(t, "")
	proxy := newFaultProxy(t, strings.TrimPrefix(broker.url, "tcp://"))

	col := newCollector()
	var logged lockedBuffer
	conns := make(chan bool, 16)
	c, err := New(Config{
		URL: "tcp://" + proxy.addr(), ClientID: "shouwang-hub", Subscriptions: hubFilters,
		KeepAlive: 10 * time.Second, ConnectTimeout: 5 * time.Second,
		Handler: func(m *Message) {
			col.add(m)
			if string(m.Payload) == "held0" && col.count("held0") == 1 {
				return // not acknowledged on the first connection
			}
			m.Ack()
		},
		OnConnectionChange: func(up bool) {
			select {
			case conns <- up:
			default:
			}
		},
	}, slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	awaitConn(t, conns, true)

	publishEvents(t, broker, "held", 1)
	waitFor(t, "the held message", 20*time.Second, func() bool { return col.has("held", 1) })
	publishEvents(t, broker, "before", 5)
	waitFor(t, "the messages before, handled and acknowledged", 20*time.Second, func() bool {
		return col.has("before", 5) && proxy.acked("before", 5)
	})

	proxy.inject(malformedPublish)
	awaitConn(t, conns, false)
	if n := c.Stats().Malformed; n != 1 {
		t.Errorf("after the connection dropped, %d malformed packets counted, want 1", n)
	}
	awaitConn(t, conns, true)
	if n := proxy.connections(); n < 2 {
		t.Errorf("%d connections through the proxy, want a second one (the reconnect)", n)
	}

	publishEvents(t, broker, "after", 5)
	waitFor(t, "the messages after and the held one, handled and acknowledged", 20*time.Second, func() bool {
		return col.has("after", 5) && proxy.acked("after", 5) && proxy.acked("held", 1)
	})
	if n := col.count("held0"); n < 2 {
		t.Errorf("the held message was handled %d times, want it redelivered", n)
	}
	if n := c.Stats().Malformed; n != 1 {
		t.Errorf("%d malformed packets counted, want 1", n)
	}
	lines := logged.lines(refusedLine)
	if len(lines) != 1 || !strings.Contains(lines[0], "topic of 10") || !strings.Contains(lines[0], "client_id=shouwang-hub") {
		t.Errorf("want one warning naming the reason and the client, got:\n%s", strings.Join(lines, "\n"))
	}
}

// count returns how many times payload was handled.
func (c *collector) count(payload string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[payload]
}

// awaitConn waits for the client's next connection change, which must
// be to up.
func awaitConn(t *testing.T, conns <-chan bool, up bool) {
	t.Helper()
	select {
	case got := <-conns:
		if got != up {
			t.Fatalf("connection change %v, want %v", got, up)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no connection change to %v in 30 s", up)
	}
}

// faultProxy stands between a client and a broker, passing whole packets
// both ways. It notes which QoS 1 messages the client acknowledged (by
// payload), and injects packets into the broker's stream on demand,
// between two packets.
type faultProxy struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu      sync.Mutex
	all     []*proxied
	current *proxied
	acks    map[string]int // payload → PUBACKs the client sent for it
}

// proxied is one client connection and its connection to the broker.
type proxied struct {
	client, broker net.Conn
	wmu            sync.Mutex        // whole packets to the client
	inflight       map[uint16]string // QoS 1 messages sent to the client, by packet ID (faultProxy.mu)
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, upstream: upstream, acks: map[string]int{}}
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

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) accept() {
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
		p.current = c
		p.mu.Unlock()
		p.wg.Add(2)
		go p.down(c)
		go p.up(c)
	}
}

// down passes the broker's packets to the client, noting its QoS 1
// messages before the client can acknowledge them.
func (p *faultProxy) down(c *proxied) {
	defer p.wg.Done()
	defer c.client.Close()
	defer c.broker.Close()
	r := bufio.NewReader(c.broker)
	for {
		pkt, hlen, err := readWholePacket(r)
		if err != nil {
			return
		}
		if pkt[0]>>4 == packets.Publish && (pkt[0]>>1)&3 == 1 {
			body := pkt[hlen:]
			tl := int(body[0])<<8 | int(body[1])
			p.mu.Lock()
			c.inflight[uint16(body[2+tl])<<8|uint16(body[3+tl])] = string(body[4+tl:])
			p.mu.Unlock()
		}
		c.wmu.Lock()
		_, err = c.client.Write(pkt)
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// up passes the client's packets to the broker, noting its PUBACKs.
func (p *faultProxy) up(c *proxied) {
	defer p.wg.Done()
	defer c.broker.Close()
	defer c.client.Close()
	r := bufio.NewReader(c.client)
	for {
		pkt, _, err := readWholePacket(r)
		if err != nil {
			return
		}
		if pkt[0]>>4 == packets.Puback && len(pkt) == 4 {
			id := uint16(pkt[2])<<8 | uint16(pkt[3])
			p.mu.Lock()
			if payload, ok := c.inflight[id]; ok {
				p.acks[payload]++
				delete(c.inflight, id)
			}
			p.mu.Unlock()
		}
		if _, err := c.broker.Write(pkt); err != nil {
			return
		}
	}
}

// inject writes pkt to the current client connection, between two of the
// broker's packets.
func (p *faultProxy) inject(pkt []byte) {
	p.mu.Lock()
	c := p.current
	p.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.client.Write(pkt)
}

func (p *faultProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all)
}

// acked reports whether the client acknowledged every payload
// prefix0..prefix(n-1).
func (p *faultProxy) acked(prefix string, n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range n {
		if p.acks[fmt.Sprint(prefix, i)] == 0 {
			return false
		}
	}
	return true
}

// readWholePacket reads one MQTT packet and returns it with the length of
// its fixed header.
func readWholePacket(r *bufio.Reader) (pkt []byte, hlen int, err error) {
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
			return nil, 0, errors.New("remaining length longer than 4 bytes")
		}
	}
	hlen = len(pkt)
	pkt = append(pkt, make([]byte, rl)...)
	if _, err := io.ReadFull(r, pkt[hlen:]); err != nil {
		return nil, 0, err
	}
	return pkt, hlen, nil
}
