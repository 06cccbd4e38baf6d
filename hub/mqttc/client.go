// Package mqttc is the hub's MQTT client, the same code for the embedded
// broker and an external one (mosquitto, EMQX). It keeps one persistent
// session (stable client ID, clean session off), subscribes at QoS 1 on every
// (re)connect, hands each message to a handler on a bounded number of
// goroutines, and acknowledges a message to the broker only when the
// handler says it is durably handled. Anything not acknowledged is
// redelivered by the broker, after a reconnect or a restart of either side.
//
// Intake is bounded: when the handlers fall behind, the client stops
// reading from the socket instead of buffering, because brokers do not
// reliably bound the messages in flight to a subscriber that keeps
// acknowledging (mosquitto 2.0 sent the hub tens of thousands).
package mqttc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// Config configures a Client.
type Config struct {
	URL           string      // tcp://host:port, or tls://host:port for MQTT over TLS
	TLS           *tls.Config // for tls:// (also ssl://, mqtts://); nil verifies the broker with the system's CAs
	ClientID      string      // stable, e.g. "shouwang-hub": it names the persistent session
	Username      string      // optional
	Password      string      // optional
	Subscriptions []string    // topic filters, all subscribed at QoS 1; none makes a publisher-only client
	// Unsubscribe are filters this session must no longer hold. The broker
	// keeps a persistent session's subscriptions across the hub's
	// restarts, so a filter moved to another session is removed from this
	// one explicitly: at every connect, before Subscriptions are made.
	// Messages the broker had already queued under them are still
	// delivered (and handled) here.
	Unsubscribe []string
	// Optional are filters subscribed at QoS 0 after Subscriptions, best
	// effort: a broker may refuse them (an ACL that does not grant $SYS,
	// say). A refusal is logged and not retried until the next connect,
	// and Start does not wait for them.
	Optional    []string
	MaxInFlight int // bound on concurrent handler calls, and on messages waiting for one; default 64
	Handler     Handler
	// OrderKey, if set, names the messages whose order matters: those it
	// gives the same non-empty key are handled one at a time, in the order
	// they came off the connection, on one of a few goroutines of their
	// own (orderedQueues, besides the MaxInFlight handlers, each with
	// MaxInFlight/orderedQueues places to wait). A vendor device reports
	// state, not numbered events, so a state handled after the next one
	// would be taken as older and its alarm lost. Messages with the key
	// "" are handled concurrently, as all are without OrderKey. It is
	// called on the connection's reader goroutine and must be quick.
	OrderKey func(topic string) string
	// OnConnectionChange, if set, is called with true after each
	// (re)connect once the subscriptions are made, and with false after
	// each loss of the connection. It runs on paho's goroutines.
	OnConnectionChange func(connected bool)
	// CleanSession asks for a session that ends with the connection
	// (EMQX then re-dispatches a shared subscription's unacknowledged
	// messages to the other members); the default is a persistent one.
	CleanSession   bool
	KeepAlive      time.Duration // default 30s
	ConnectTimeout time.Duration // default 10s
}

// Defaults and fixed settings.
const (
	defaultMaxInFlight    = 64
	defaultKeepAlive      = 30 * time.Second
	defaultConnectTimeout = 10 * time.Second
	orderedQueues         = 4                // see Config.OrderKey
	connectRetryInterval  = 2 * time.Second  // first connect, while Start waits
	maxReconnectInterval  = 10 * time.Second // paho backs off up to this after a loss
	drainTimeout          = 10 * time.Second // Stop waits this long for running handlers
	disconnectQuiesce     = 1000             // ms paho may take to send DISCONNECT
	malformedLogEvery     = time.Minute      // at most one warning per Client about malformed packets
)

// Client is the hub's MQTT client.
type Client struct {
	cfg Config
	log *slog.Logger

	paho pahoClient // a fake in unit tests
	// keepalive is paho's own client (nil with a fake): the connection
	// tells it what it reads and writes past paho (Client.sent, publish).
	keepalive interface {
		UpdateLastSent()
		UpdateLastReceived()
	}
	queue chan *Message // read off the connection, waiting for a handler
	// ordered are the queues of messages with an OrderKey, each read by
	// one goroutine; a key's messages all go to the same one.
	ordered []chan *Message
	seed    maphash.Seed
	workers sync.WaitGroup

	// queueMu guards the queue's closing against sends: enqueue sends
	// under the read lock, Stop closes under the write lock.
	queueMu     sync.RWMutex
	queueClosed bool
	subscribed  chan struct{} // closed after the first successful subscribe
	subsMu      sync.Mutex    // guards cfg.Subscriptions, which AddSubscriptions extends
	subOnce     sync.Once
	quit        chan struct{} // closed by Stop
	received    atomic.Int64  // messages taken from paho
	redelivered atomic.Int64  // of which the broker flagged as resent (DUP)
	retained    atomic.Int64  // of which were retained messages (sent on subscribe)
	malformed   atomic.Int64  // packets the connections refused (inbound.go)
	refusedLog  *limitlog.Logger

	mu       sync.Mutex // guards stopping and the Add side of running
	stopping bool
	running  sync.WaitGroup // handler calls in progress

	started  atomic.Bool
	stopOnce sync.Once
	lastErr  atomic.Pointer[error]
}

// New validates cfg and fills in defaults. It does not connect.
func New(cfg Config, logger *slog.Logger) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("mqttc: URL is required")
	case err != nil || u.Host == "" || (u.Scheme != "tcp" && u.Scheme != "mqtt" && u.Scheme != "ssl" && u.Scheme != "tls" && u.Scheme != "mqtts"):
		return nil, fmt.Errorf("mqttc: URL %q: want tcp://host:port or tls://host:port", cfg.URL)
	case cfg.TLS != nil && (u.Scheme == "tcp" || u.Scheme == "mqtt"):
		return nil, fmt.Errorf("mqttc: TLS is set but URL %q is plain TCP: use tls://", cfg.URL)
	case cfg.ClientID == "":
		return nil, errors.New("mqttc: ClientID is required (a stable one names the persistent session)")
	case len(cfg.Subscriptions)+len(cfg.Optional) > 0 && cfg.Handler == nil:
		return nil, errors.New("mqttc: Handler is required with Subscriptions or Optional")
	case cfg.MaxInFlight < 0:
		return nil, fmt.Errorf("mqttc: MaxInFlight %d: must not be negative", cfg.MaxInFlight)
	case logger == nil:
		return nil, errors.New("mqttc: logger is required")
	}
	for _, f := range cfg.Subscriptions {
		if f == "" {
			return nil, errors.New("mqttc: Subscriptions: empty filter")
		}
	}
	for _, f := range cfg.Optional {
		if f == "" {
			return nil, errors.New("mqttc: Optional: empty filter")
		}
	}
	for _, f := range cfg.Unsubscribe {
		if f == "" || slices.Contains(cfg.Subscriptions, f) {
			return nil, fmt.Errorf("mqttc: Unsubscribe: %q is empty or also in Subscriptions", f)
		}
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = defaultKeepAlive
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	return newClient(cfg, logger, newPahoClient), nil
}

// newClient builds a Client on a validated cfg; unit tests pass a fake paho.
func newClient(cfg Config, logger *slog.Logger, newPaho func(*paho.ClientOptions) pahoClient) *Client {
	c := &Client{
		cfg: cfg, log: logger,
		queue:      make(chan *Message, cfg.MaxInFlight),
		subscribed: make(chan struct{}),
		quit:       make(chan struct{}),
		seed:       maphash.MakeSeed(),
		refusedLog: limitlog.New(logger, malformedLogEvery, time.Now),
	}
	if cfg.OrderKey != nil {
		for range orderedQueues {
			c.ordered = append(c.ordered, make(chan *Message, max(1, cfg.MaxInFlight/orderedQueues)))
		}
	}
	c.paho = newPaho(c.options())
	c.keepalive, _ = c.paho.(interface {
		UpdateLastSent()
		UpdateLastReceived()
	})
	return c
}

// options are the paho settings the hub's delivery guarantees rest on.
func (c *Client) options() *paho.ClientOptions {
	o := paho.NewClientOptions().
		AddBroker(c.cfg.URL).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetProtocolVersion(4). // MQTT 3.1.1; no silent fallback to 3.1
		// A persistent session: the broker keeps the subscriptions and
		// queues QoS 1 messages while the hub is away.
		SetCleanSession(c.cfg.CleanSession).
		// The connection takes QoS 1 messages itself (inbound.go); paho
		// hands the rest (QoS 0) to onMessage on one goroutine, which
		// queues them for the handlers; when the queue is full, paho's
		// reader waits and the socket fills. (With order off paho would
		// start a goroutine per message and read on regardless.)
		SetOrderMatters(true).
		SetDefaultPublishHandler(c.onMessage).
		// The PUBACK is sent only when the handler calls Message.Ack.
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxReconnectInterval).
		SetConnectRetry(true).
		SetConnectRetryInterval(connectRetryInterval).
		// Subscriptions are made in OnConnect, so every (re)connect makes
		// them again, even if the broker lost the session. That is the
		// resume of subscriptions: paho's own ResumeSubs would resend a
		// stored SUBSCRIBE from its resume() while OnConnect runs, under
		// the same packet ID, taking over (and never completing) the
		// token OnConnect waits on.
		SetOnConnectHandler(c.onConnect).
		SetResumeSubs(false).
		// The hub's own QoS 1 publishes (commands) wait in a memory store
		// while reconnecting and are all resent at once: they are few. A
		// limit (SetMaxResumePubInFlight > 0) starts a goroutine in paho's
		// resume that reads c.stop unlocked and races with the next
		// reconnect (seen with -race in TestResubscribesAfterBrokerRestart).
		// NewStore, not paho's MemoryStore: resume would mark DUP in a
		// packet being written (store.go).
		SetStore(NewStore()).
		SetMaxResumePubInFlight(0).
		SetConnectionLostHandler(c.onConnectionLost).
		SetConnectionNotificationHandler(c.onNotification).
		SetKeepAlive(c.cfg.KeepAlive).
		SetPingTimeout(c.cfg.ConnectTimeout).
		SetConnectTimeout(c.cfg.ConnectTimeout).
		SetWriteTimeout(c.cfg.ConnectTimeout).
		// The connections read the hub's QoS 1 messages themselves and
		// write their PUBACKs (inbound.go).
		SetCustomOpenConnectionFn(dialer(c.cfg.ConnectTimeout, connHooks{sent: c.sent, publish: c.publish, malformed: c.refused}))
	if c.cfg.TLS != nil {
		o.SetTLSConfig(c.cfg.TLS) // Dialer takes it from the options
	}
	return o
}

// sent tells paho's keepalive that the connection wrote something:
// acknowledgements written by Message.Ack bypass paho, which would
// otherwise ping a broker it is busy acknowledging and, when the answer
// waits behind a backlog for longer than the ping timeout, drop the
// connection. (Before, paho noted each PUBACK it wrote itself.)
func (c *Client) sent() {
	if c.keepalive != nil {
		c.keepalive.UpdateLastSent()
	}
}

// Start connects, retrying until ctx is done, and returns once connected and
// subscribed — or, when the broker kept the session (its subscriptions
// with it), once connected. The client then stays connected, reconnecting (and
// resubscribing) by itself, until Stop. Start may be called once; call Stop
// afterwards even when it fails.
func (c *Client) Start(ctx context.Context) error {
	if c.started.Swap(true) {
		return errors.New("mqttc: Start called twice")
	}
	startPahoLog(c, c.log)
	if len(c.cfg.Subscriptions)+len(c.cfg.Optional) > 0 {
		c.workers.Add(c.cfg.MaxInFlight + len(c.ordered))
		for range c.cfg.MaxInFlight {
			go c.work(c.queue)
		}
		for _, q := range c.ordered {
			go c.work(q)
		}
	}
	tok := c.paho.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt connect to %s: %w", c.cfg.URL, err)
		}
	case <-ctx.Done():
		c.paho.Disconnect(0) // ends paho's retry loop
		return fmt.Errorf("mqtt connect to %s: %w%s", c.cfg.URL, ctx.Err(), c.lastErrText())
	case <-c.quit:
		return errors.New("mqtt connect: client stopped")
	}
	if sp, ok := tok.(interface{ SessionPresent() bool }); ok && sp.SessionPresent() {
		// The broker kept this session, subscriptions and all, and may be
		// sending it a backlog now: the answers to OnConnect's
		// (UN)SUBSCRIBE come only behind that backlog (mosquitto queues
		// them after every message already on its way), which could take
		// minutes to drain. Messages flow already; OnConnect makes the
		// subscriptions meanwhile.
		return nil
	}
	select {
	case <-c.subscribed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt subscribe on %s: %w%s", c.cfg.URL, ctx.Err(), c.lastErrText())
	case <-c.quit:
		return errors.New("mqtt subscribe: client stopped")
	}
}

// Publish publishes payload and waits until the broker has it (PUBACK for
// QoS 1) or ctx is done. Before Start it fails; while (re)connecting, a
// QoS 1 publish is stored and sent once connected.
func (c *Client) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	tok := c.paho.Publish(topic, qos, retained, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt publish %s: %w", topic, ctx.Err())
	}
}

// Connected reports whether the connection to the broker is up now.
func (c *Client) Connected() bool {
	return c.paho.IsConnectionOpen()
}

// Stop stops ingest: no new handler calls start (messages waiting for a
// handler stay unacknowledged, for the broker to redeliver), running handler calls
// get up to drainTimeout to return, then the client disconnects cleanly,
// sending any acks already given. Subscriptions are kept: they belong to the
// persistent session. Stop is idempotent.
func (c *Client) Stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopping = true
		close(c.quit) // unblocks onMessage waiting on a full queue
		c.mu.Unlock()
		c.queueMu.Lock()
		c.queueClosed = true
		close(c.queue) // the workers take what is left, refuse it and return
		for _, q := range c.ordered {
			close(q)
		}
		c.queueMu.Unlock()

		done := make(chan struct{})
		go func() { c.running.Wait(); close(done) }()
		select {
		case <-done:
			c.workers.Wait()
		case <-time.After(drainTimeout):
			c.log.Warn("stopping with handler calls still running; their messages will be redelivered", "waited", drainTimeout)
		}
		c.paho.Disconnect(disconnectQuiesce)
		stopPahoLog(c)
	})
}

// Stats are a client's message counts since Start.
type Stats struct {
	Received    int64 // messages taken from the broker
	Redelivered int64 // of which the broker flagged as sent before (DUP): it resends what was not acknowledged
	Retained    int64 // of which were retained messages, sent because a subscription was made
	// Malformed counts the packets from the broker the client refused as
	// malformed; each one dropped the connection, which was made again.
	Malformed int64
}

// Stats returns the client's message counts.
func (c *Client) Stats() Stats {
	return Stats{Received: c.received.Load(), Redelivered: c.redelivered.Load(), Retained: c.retained.Load(),
		Malformed: c.malformed.Load()}
}
