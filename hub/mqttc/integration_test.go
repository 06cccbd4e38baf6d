package mqttc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/broker"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// The same tests run against the embedded broker and a real mosquitto.

// env is a running broker: where the hub connects, how a device connects,
// and how to restart the broker.
type env struct {
	url              string
	hubUser, hubPass string
	devUser, devPass string // device "d1"
	restart          func(t *testing.T)
}

var hubFilters = []string{
	"shouwang/v1/+/event", "shouwang/v1/+/telemetry", "shouwang/v1/+/status", "shouwang/v1/+/call/#",
}

type deviceAuth struct{}

func (deviceAuth) CheckDevice(_ context.Context, id, password string) (bool, bool, error) {
	return id == "d1" && password == "pw1", id == "d1", nil
}

func embedded(t *testing.T) *env {
	dir := t.TempDir()
	start := func(listen string) *broker.Broker {
		b, err := broker.New(broker.Config{
			Listen: listen, DataDir: dir, ServiceUser: "svc", ServicePassword: "svc-pw", Auth: deviceAuth{},
		}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	b := start("127.0.0.1:0")
	addr := b.Addr()
	return &env{
		url: "tcp://" + addr, hubUser: "svc", hubPass: "svc-pw", devUser: "d1", devPass: "pw1",
		restart: func(t *testing.T) {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = start(addr) // same port, so the client's reconnect finds it
		},
	}
}

func mosquitto(t *testing.T, extra string) *env {
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true, Extra: extra})
	return &env{url: m.URL(), restart: func(*testing.T) { m.Stop(); m.Start() }}
}

// brokers runs fn against each broker.
func brokers(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("embedded", func(t *testing.T) { fn(t, embedded(t)) })
	t.Run("mosquitto", func(t *testing.T) { fn(t, mosquitto(t, "")) })
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// clientLogger is for the Client: paho's loggers are process globals that
// outlive a test (paho logs from goroutines that end after Disconnect
// returns), so they cannot write to t.Output.
func clientLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startHub starts a Client with the hub's settings and stops it at the end.
func startHub(t *testing.T, e *env, maxInFlight int, h Handler, onConn func(bool)) *Client {
	t.Helper()
	return startSession(t, e, Config{ClientID: "shouwang-hub", Subscriptions: hubFilters,
		MaxInFlight: maxInFlight, Handler: h, OnConnectionChange: onConn})
}

// startSession starts a Client on e with cfg's session, filters and
// handler, and stops it at the end.
func startSession(t *testing.T, e *env, cfg Config) *Client {
	t.Helper()
	cfg.URL, cfg.Username, cfg.Password = e.url, e.hubUser, e.hubPass
	cfg.KeepAlive, cfg.ConnectTimeout = 10*time.Second, 5*time.Second
	c, err := New(cfg, clientLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// publishEvents connects as device d1 and publishes n QoS 1 events with
// payloads prefix0..prefix(n-1), waiting for every PUBACK.
func publishEvents(t *testing.T, e *env, prefix string, n int) {
	t.Helper()
	publishOn(t, e, devices.ChannelEvent, prefix, n)
}

// publishOn is publishEvents on another of d1's channels.
func publishOn(t *testing.T, e *env, ch devices.Channel, prefix string, n int) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(e.url).SetClientID("d1").SetUsername(e.devUser).
		SetPassword(e.devPass).SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	d := paho.NewClient(o)
	if tok := d.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	defer d.Disconnect(250)
	toks := make([]paho.Token, n)
	for i := range n {
		toks[i] = d.Publish(devices.Topic("d1", ch), 1, false, fmt.Sprint(prefix, i))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
}

// collector records distinct payloads it handled.
type collector struct {
	mu   sync.Mutex
	seen map[string]int
}

func newCollector() *collector { return &collector{seen: map[string]int{}} }

func (c *collector) add(m *Message) {
	c.mu.Lock()
	c.seen[string(m.Payload)]++
	c.mu.Unlock()
}

// none fails t (with what) for each payload seen that begins with prefix.
func (c *collector) none(t *testing.T, prefix, what string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range c.seen {
		if strings.HasPrefix(p, prefix) {
			t.Errorf("%s: %q", what, p)
		}
	}
}

// has reports whether every payload prefix0..prefix(n-1) was seen.
func (c *collector) has(prefix string, n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range n {
		if c.seen[fmt.Sprint(prefix, i)] == 0 {
			return false
		}
	}
	return true
}

func TestThousandMessagesAllHandled(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		col := newCollector()
		startHub(t, e, 0, func(m *Message) { col.add(m); m.Ack() }, nil)
		publishEvents(t, e, "m", 1000)
		waitFor(t, "1000 messages", 60*time.Second, func() bool { return col.has("m", 1000) })
	})
}

func TestUnackedMessagesAreRedeliveredAfterRestart(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		first := newCollector()
		c := startHub(t, e, 0, first.add, nil) // never acknowledges
		publishEvents(t, e, "u", 20)
		waitFor(t, "20 unacknowledged messages", 20*time.Second, func() bool { return first.has("u", 20) })
		c.Stop()

		second := newCollector()
		startHub(t, e, 0, func(m *Message) { second.add(m); m.Ack() }, nil)
		waitFor(t, "redelivery of the 20", 20*time.Second, func() bool { return second.has("u", 20) })
	})
}

// Acknowledgements written by Message.Ack reach the broker on the
// connection the messages came on: after a restart of the client, the
// broker sends only what was published since, not the acknowledged ones.
func TestAckedMessagesAreNotRedelivered(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		first := newCollector()
		c := startHub(t, e, 0, func(m *Message) { first.add(m); m.Ack() }, nil)
		publishEvents(t, e, "a", 200)
		waitFor(t, "200 messages", 20*time.Second, func() bool { return first.has("a", 200) })
		c.Stop()
		publishEvents(t, e, "later", 1) // queued for the session, behind any redelivery

		second := newCollector()
		startHub(t, e, 0, func(m *Message) { second.add(m); m.Ack() }, nil)
		waitFor(t, "the message published while away", 20*time.Second, func() bool { return second.has("later", 1) })
		second.none(t, "a", "an acknowledged message was delivered again")
	})
}

// TestMaxInFlightBoundsHandlerCalls checks both bounds: at most MaxInFlight
// handlers run, and while they are all busy the client takes at most
// MaxInFlight more messages from the broker (and one paho is handing over),
// leaving the rest with the broker rather than in the hub's memory.
func TestMaxInFlightBoundsHandlerCalls(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		const maxInFlight, total = 4, 40
		var active, peak atomic.Int64
		release := make(chan struct{})
		col := newCollector()
		c := startHub(t, e, maxInFlight, func(m *Message) {
			n := active.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			active.Add(-1)
			col.add(m)
			m.Ack()
		}, nil)
		publishEvents(t, e, "c", total) // returns once the broker has every one
		const bound = 2*maxInFlight + 1
		waitFor(t, "the client to fill its queue", 20*time.Second, func() bool { return c.received.Load() >= bound })
		if n := c.received.Load(); n > bound {
			t.Fatalf("the client took %d of %d messages with its %d handlers blocked; want at most %d", n, total, maxInFlight, bound)
		}
		if n := active.Load(); n != maxInFlight {
			t.Fatalf("%d handlers running with %d messages waiting and MaxInFlight %d", n, total, maxInFlight)
		}
		close(release)
		waitFor(t, "all 40 handled", 20*time.Second, func() bool { return col.has("c", total) })
		if p := peak.Load(); p != maxInFlight {
			t.Errorf("peak concurrency %d, want %d", p, maxInFlight)
		}
	})
}

// TestFiltersMoveToAnotherSession is the hub's upgrade from one session to
// one per lane: the old session keeps its ID and its queue, gives up the
// event filter at connect, and a new session takes events. What the old
// session had queued still arrives there; new events arrive only on the
// new session.
func TestFiltersMoveToAnotherSession(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		events, telemetry := "shouwang/v1/+/event", "shouwang/v1/+/telemetry"
		old := startSession(t, e, Config{ClientID: "hub", Subscriptions: []string{events, telemetry},
			Handler: func(*Message) {}}) // takes nothing for good
		old.Stop()
		publishEvents(t, e, "queued", 5) // queued for the old session while it is away
		publishOn(t, e, devices.ChannelTelemetry, "tq", 5)

		alarm, tele := newCollector(), newCollector()
		startSession(t, e, Config{ClientID: "hub-alarm", Subscriptions: []string{events},
			Handler: func(m *Message) { alarm.add(m); m.Ack() }})
		startSession(t, e, Config{ClientID: "hub", Subscriptions: []string{telemetry}, Unsubscribe: []string{events},
			Handler: func(m *Message) { tele.add(m); m.Ack() }})
		waitFor(t, "the old session's queue", 20*time.Second, func() bool { return tele.has("queued", 5) && tele.has("tq", 5) })

		publishEvents(t, e, "new", 5)
		publishOn(t, e, devices.ChannelTelemetry, "tn", 5)
		waitFor(t, "new events on the alarm session", 20*time.Second, func() bool { return alarm.has("new", 5) })
		waitFor(t, "new telemetry on the old session", 20*time.Second, func() bool { return tele.has("tn", 5) })
		tele.none(t, "new", "an event published after the move reached the old session")
	})
}

// TestStartDoesNotWaitBehindABacklog: a session the broker kept, with
// messages queued for it, is started while its handlers are busy — the
// SUBACK of its resubscription lies behind the backlog, but Start returns
// at once, and the backlog then arrives in full.
func TestStartDoesNotWaitBehindABacklog(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		const n = 500
		c := startSession(t, e, Config{ClientID: "hub", Subscriptions: hubFilters, Handler: func(*Message) {}})
		c.Stop()
		publishEvents(t, e, "b", n)

		release := make(chan struct{})
		col := newCollector()
		cfg := Config{ClientID: "hub", Subscriptions: hubFilters, MaxInFlight: 2, Handler: func(m *Message) {
			<-release
			col.add(m)
			m.Ack()
		}}
		cfg.URL, cfg.Username, cfg.Password = e.url, e.hubUser, e.hubPass
		cfg.KeepAlive, cfg.ConnectTimeout = 10*time.Second, 2*time.Second
		c, err := New(cfg, clientLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Start(ctx); err != nil {
			t.Fatalf("Start with a backlog and busy handlers: %v", err)
		}
		close(release)
		waitFor(t, "the backlog", 60*time.Second, func() bool { return col.has("b", n) })
	})
}

func TestResubscribesAfterBrokerRestart(t *testing.T) {
	run := func(t *testing.T, e *env) {
		var ups, downs atomic.Int64
		col := newCollector()
		c := startHub(t, e, 0, func(m *Message) { col.add(m); m.Ack() }, func(up bool) {
			if up {
				ups.Add(1)
			} else {
				downs.Add(1)
			}
		})
		publishEvents(t, e, "before", 5)
		waitFor(t, "messages before the restart", 20*time.Second, func() bool { return col.has("before", 5) })
		e.restart(t)
		waitFor(t, "the connection loss", 20*time.Second, func() bool { return downs.Load() >= 1 })
		waitFor(t, "the reconnect", 30*time.Second, func() bool { return ups.Load() >= 2 && c.Connected() })
		publishEvents(t, e, "after", 5)
		waitFor(t, "messages after the restart", 20*time.Second, func() bool { return col.has("after", 5) })
	}
	t.Run("embedded", func(t *testing.T) { run(t, embedded(t)) })
	// Without persistence mosquitto forgets the session when it stops, so
	// only the client's own resubscription can bring the messages.
	t.Run("mosquitto without persistence", func(t *testing.T) { run(t, mosquitto(t, "persistence false")) })
	t.Run("mosquitto", func(t *testing.T) { run(t, mosquitto(t, "")) })
}

func TestPublishWaitsForTheBroker(t *testing.T) {
	brokers(t, func(t *testing.T, e *env) {
		c := startHub(t, e, 0, func(m *Message) { m.Ack() }, nil)
		got := make(chan string, 1)
		o := paho.NewClientOptions().AddBroker(e.url).SetClientID("d1").SetUsername(e.devUser).
			SetPassword(e.devPass).SetProtocolVersion(4).SetAutoReconnect(false)
		d := paho.NewClient(o)
		if tok := d.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("device connect: %v", tok.Error())
		}
		defer d.Disconnect(250)
		cmd := devices.Topic("d1", devices.ChannelCmd)
		if tok := d.Subscribe(cmd, 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("device subscribe: %v", tok.Error())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Publish(ctx, cmd, 1, false, []byte(`{"ack":1}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if !strings.Contains(p, `"ack"`) {
				t.Errorf("device got %q", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("device got no command")
		}
	})
}

func TestStartGivesUpWithTheReason(t *testing.T) {
	e := embedded(t)
	e.hubPass = "wrong"
	c, err := New(Config{
		URL: e.url, ClientID: "shouwang-hub", Username: e.hubUser, Password: e.hubPass,
		Subscriptions: hubFilters, Handler: func(m *Message) { m.Ack() },
	}, clientLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = c.Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not Authorized") {
		t.Errorf("Start = %v, want the deadline and the broker's refusal", err)
	}
	if c.Connected() {
		t.Error("Connected after a refused connect")
	}
}
