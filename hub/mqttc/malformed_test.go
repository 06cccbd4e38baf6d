package mqttc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/shouwang-hub/shouwang/hub/mqttc/mqttctest"
)

var malformedPublish = mqttctest.MalformedPublish

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
	proxy := mqttctest.NewProxy(t, strings.TrimPrefix(broker.url, "tcp://"))

	col := newCollector()
	var logged lockedBuffer
	conns := make(chan bool, 16)
	c, err := New(Config{
		URL: "tcp://" + proxy.Addr(), ClientID: "shouwang-hub", Subscriptions: hubFilters,
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
		return col.has("before", 5) && acked(proxy, "before", 5)
	})

	if err := proxy.Inject("shouwang-hub", malformedPublish); err != nil {
		t.Fatal(err)
	}
	awaitConn(t, conns, false)
	if n := c.Stats().Malformed; n != 1 {
		t.Errorf("after the connection dropped, %d malformed packets counted, want 1", n)
	}
	awaitConn(t, conns, true)
	if n := proxy.Connections("shouwang-hub"); n < 2 {
		t.Errorf("%d connections through the proxy, want a second one (the reconnect)", n)
	}

	publishEvents(t, broker, "after", 5)
	waitFor(t, "the messages after and the held one, handled and acknowledged", 20*time.Second, func() bool {
		return col.has("after", 5) && acked(proxy, "after", 5) && acked(proxy, "held", 1)
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

// acked reports whether the client acknowledged every payload
// prefix0..prefix(n-1).
func acked(p *mqttctest.Proxy, prefix string, n int) bool {
	for i := range n {
		if p.Acked(fmt.Sprint(prefix, i)) == 0 {
			return false
		}
	}
	return true
}
