// Package broker is the hub's embedded MQTT broker (mochi-mqtt), used when
// no external broker is configured. It admits the hub's own service client
// and registered devices only, keeps every device on its own topics, and
// stores sessions and unacknowledged messages in a bbolt file so that the
// hub's persistent session survives a restart.
//
// A device's QoS 1 publish is acknowledged only after it is stored for every
// subscriber (see policy.OnPublish for why mochi needs help with that).
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/shouwang-hub/shouwang/devices"
)

// Authenticator checks device credentials.
type Authenticator interface {
	// CheckDevice reports whether password is the MQTT password of the
	// registered device id. registered=false means no such device (so the
	// hub can list it as "seen but unregistered").
	CheckDevice(ctx context.Context, id, password string) (ok, registered bool, err error)
}

// PrincipalSource is implemented by an Authenticator that knows more of a
// device than its password: its source and topic root (a Zigbee2MQTT
// bridge's base topic, a Shelly's prefix). Without it every device is a
// native one.
type PrincipalSource interface {
	Principal(ctx context.Context, id string) (devices.Principal, error)
}

// Config configures the embedded broker.
type Config struct {
	// Listen is the plain TCP listen address, e.g. ":1883" or
	// "127.0.0.1:0"; empty for none (then TLSListen is required).
	Listen string
	// TLSListen is the MQTT-over-TLS listen address, e.g. ":8883"; empty
	// for none. TLSConfig gives its certificate (GetCertificate, so a
	// renewed one is served without a restart).
	TLSListen string
	TLSConfig *tls.Config
	DataDir   string // where the broker's store lives (e.g. <data>/broker)

	// ServiceUser and ServicePassword are the hub's own client credential.
	// A registered device whose ID equals ServiceUser cannot connect as a
	// device, so pick a name no installer would give a device.
	ServiceUser, ServicePassword string

	Auth Authenticator

	// Policy is the topic policy (the codecs in use); nil means native
	// devices only. The vendor roots the hub's own client reads are set
	// with SetRoots.
	Policy *devices.Policy

	// OnReject, if set, is called for every refused connect, publish and
	// subscribe, with devices.ReasonUnregistered, devices.ReasonSpoofed,
	// devices.ReasonBadTopic or ReasonBadCredentials. who is the claimed
	// device ID (the MQTT username), or the MQTT client ID when the client
	// gave no username. It is called on the broker's connection goroutines
	// and must not block.
	OnReject func(reason devices.Reason, who, detail string)
}

// BrokerStats are counters for metrics. Counts are since Start.
type BrokerStats struct {
	ClientsConnected  int64 // connections open now, the hub's own included
	ConnectsRefused   int64 // bad credentials, unregistered, spoofed client IDs or wills
	PublishesRefused  int64 // publishes outside the client's topics
	SubscribesRefused int64 // filters outside the client's topics
	BacklogRefused    int64 // device publishes refused because the hub's backlog was full
	MessagesReceived  int64 // PUBLISH packets received
	MessagesSent      int64 // PUBLISH packets sent
	MessagesDropped   int64 // messages mochi dropped: a client's queue was full
	Stored            int64 // messages stored on disk awaiting a client's acknowledgement
	Subscriptions     int64 // active subscriptions
}

// Broker is the embedded MQTT broker.
type Broker struct {
	cfg         Config
	log         *slog.Logger
	server      *mqtt.Server
	store       *store
	policy      *policy
	stats       *counters
	listener    *listeners.TCP // plain; nil without Config.Listen
	tlsListener *listeners.TCP // nil without Config.TLSListen

	closeOnce sync.Once
	closeErr  error
}

// Broker settings; see capabilities for why.
const (
	maxInflight      = 65535     // stored unacknowledged messages per client: the packet ID space
	maxWritesPending = 8192      // per-client outbound queue (a channel allocated per client)
	maxPacketSize    = 256 << 10 // bytes; payloads over devices.DefaultLimits still reach the hub to be counted
	sysInterval      = 10        // seconds between $SYS updates (each reads runtime.MemStats)
	storeFile        = "broker.db"
)

// New validates cfg and opens the broker's store in cfg.DataDir. The broker
// listens only after Start.
func New(cfg Config, logger *slog.Logger) (*Broker, error) {
	switch {
	case cfg.Listen == "" && cfg.TLSListen == "":
		return nil, errors.New("broker: Listen or TLSListen is required")
	case cfg.TLSListen != "" && (cfg.TLSConfig == nil || (cfg.TLSConfig.GetCertificate == nil && len(cfg.TLSConfig.Certificates) == 0)):
		return nil, errors.New("broker: TLSConfig with a certificate is required with TLSListen")
	case cfg.DataDir == "":
		return nil, errors.New("broker: DataDir is required")
	case cfg.ServiceUser == "":
		return nil, errors.New("broker: ServiceUser is required")
	case cfg.ServicePassword == "":
		return nil, errors.New("broker: ServicePassword is required")
	case cfg.Auth == nil:
		return nil, errors.New("broker: Auth is required")
	case logger == nil:
		return nil, errors.New("broker: logger is required")
	}
	if cfg.Policy == nil {
		cfg.Policy = devices.NewPolicy()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: DataDir: %w", err)
	}
	st, err := openStore(filepath.Join(cfg.DataDir, storeFile), logger)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	st.dropRetained = RetainRefused
	b := &Broker{cfg: cfg, log: logger, store: st, stats: &counters{}}
	b.server = mqtt.New(&mqtt.Options{
		Capabilities:           capabilities(),
		Logger:                 slog.New(newMochiHandler(logger.Handler())),
		SysTopicResendInterval: sysInterval,
	})
	b.policy = newPolicy(cfg, logger, st, b.stats)
	b.policy.attach(b.server)
	// The store first, so it is stopped last and sees every change.
	if err := b.server.AddHook(st, nil); err != nil {
		st.Stop()
		return nil, fmt.Errorf("broker: add store hook: %w", err)
	}
	if err := b.server.AddHook(b.policy, nil); err != nil {
		b.server.Close()
		return nil, fmt.Errorf("broker: add policy hook: %w", err)
	}
	return b, nil
}

// capabilities raises mochi's limits where its defaults would drop or
// expire messages a device was told are safe:
//   - MaximumInflight 65535 (default 8192): how many unacknowledged QoS 1
//     messages mochi holds for one client, i.e. how far the hub's session
//     may fall behind (while it restarts, or under a burst) before messages
//     are dropped. 65535 is the whole packet ID space. policy.OnPublish
//     refuses device publishes shortly before that, so nothing is dropped
//     after being acknowledged.
//   - MaximumMessageExpiryInterval 0 (default one day): mochi otherwise
//     deletes stored messages and retained statuses older than a day, even
//     from MQTT 3.1.1 clients that asked for no expiry.
//   - MaximumClientWritesPending stays 8192: it is a channel allocated for
//     every client, devices included; the hub's paho client reads without
//     waiting for its handlers, so its queue drains at socket speed.
//   - ReceiveMaximum stays 1024: mochi frees a QoS 1 slot as soon as it has
//     acknowledged the publish, so only QoS 2 flows hold slots.
//   - MaximumPacketSize 256 KiB (default unlimited): one device cannot make
//     the broker buffer an arbitrarily large packet.
func capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumInflight = maxInflight
	c.MaximumMessageExpiryInterval = 0
	c.MaximumClientWritesPending = maxWritesPending
	c.MaximumPacketSize = maxPacketSize
	return c
}

// Start binds the listeners, restores stored sessions and starts serving.
// It returns once the broker accepts connections.
func (b *Broker) Start() error {
	if b.cfg.Listen != "" {
		b.listener = listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.cfg.Listen})
		if err := b.server.AddListener(b.listener); err != nil {
			return fmt.Errorf("broker: listen on %s: %w", b.cfg.Listen, err)
		}
	}
	if b.cfg.TLSListen != "" {
		// Devices are slow to handshake on a bad link; a TLS 1.2 floor
		// keeps out what is no longer safe.
		tc := b.cfg.TLSConfig.Clone()
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12
		}
		b.tlsListener = listeners.NewTCP(listeners.Config{ID: "tls", Address: b.cfg.TLSListen, TLSConfig: tc})
		if err := b.server.AddListener(b.tlsListener); err != nil {
			return fmt.Errorf("broker: listen (TLS) on %s: %w", b.cfg.TLSListen, err)
		}
	}
	if err := b.server.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	return nil
}

// SetRoots sets the vendor roots (every registered bridge's base topic and
// Shelly prefix) whose topics the hub's own client may read and write, as
// the topic policy gives them. The hub calls it at start and whenever a
// bridge or a Shelly is registered.
func (b *Broker) SetRoots(roots []devices.Root) { b.policy.setRoots(roots) }

// Addr is the address the plain listener listens on, e.g.
// "127.0.0.1:41234"; before Start it is the configured one, and "" when
// there is none.
func (b *Broker) Addr() string {
	if b.listener == nil {
		return b.cfg.Listen
	}
	return b.listener.Address()
}

// TLSAddr is the address of the MQTT-over-TLS listener, as Addr.
func (b *Broker) TLSAddr() string {
	if b.tlsListener == nil {
		return b.cfg.TLSListen
	}
	return b.tlsListener.Address()
}

// Close disconnects every client, commits what the store has queued and
// closes it. It is idempotent and safe without Start.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.server.Close() })
	return b.closeErr
}

// StoreFailure describes the broker store's failing commits (a full or
// failing disk: device publishes are not acknowledged meanwhile), or is
// "" when the last commit went through.
func (b *Broker) StoreFailure() string { return b.store.failure() }

// Stats returns the broker's counters.
func (b *Broker) Stats() BrokerStats {
	info := b.server.Info.Clone()
	return BrokerStats{
		ClientsConnected:  info.ClientsConnected,
		ConnectsRefused:   b.stats.connectsRefused.Load(),
		PublishesRefused:  b.stats.publishesRefused.Load(),
		SubscribesRefused: b.stats.subscribesRefused.Load(),
		BacklogRefused:    b.stats.backlogRefused.Load(),
		MessagesReceived:  info.MessagesReceived,
		MessagesSent:      info.MessagesSent,
		MessagesDropped:   b.stats.dropped.Load() + info.InflightDropped,
		Stored:            int64(b.store.stored()),
		Subscriptions:     info.Subscriptions,
	}
}
