package broker

import (
	"bytes"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// policy is the mochi hook that decides who may connect, publish and
// subscribe, and that makes a QoS 1 PUBACK mean "stored for every
// subscriber" (see OnPublish).
type policy struct {
	mqtt.HookBase
	cfg     Config
	log     *slog.Logger
	limited *limitlog.Logger // for what a client can repeat at will
	stats   *counters
	cache   *authCache
	store   *store

	srv     atomic.Pointer[mqtt.Server]
	inline  [6]*mqtt.Client // per protocol version, for re-injecting publishes
	shadows sync.Map        // *mqtt.Client -> packets.Packet, see OnPacketRead
	// principals holds the compiled rules of each device or gateway, by
	// client ID (= username), set when it authenticates; service those of
	// the hub's own client (setRoots).
	principals sync.Map
	service    atomic.Pointer[devices.ACL]
}

// counters are the broker's own statistics, next to mochi's system.Info.
type counters struct {
	connectsRefused   atomic.Int64
	publishesRefused  atomic.Int64
	subscribesRefused atomic.Int64
	backlogRefused    atomic.Int64
	dropped           atomic.Int64
}

func newPolicy(cfg Config, log *slog.Logger, st *store, stats *counters) *policy {
	p := &policy{cfg: cfg, log: log, store: st, stats: stats, cache: newAuthCache(time.Now),
		limited: limitlog.New(log, refusalLogEvery, time.Now)}
	p.setRoots(nil)
	return p
}

// attach gives the policy the server it guards and builds the inline
// clients it re-injects publishes through. Inline clients skip ACL checks
// and are not in the client list, so no device ID can collide with them.
func (p *policy) attach(s *mqtt.Server) {
	for _, v := range []byte{3, 4, 5} {
		cl := s.NewClient(nil, mqtt.LocalListener, "shouwang-broker-relay", true)
		cl.Properties.ProtocolVersion = v
		p.inline[v] = cl
	}
	p.srv.Store(s)
}

func (p *policy) server() *mqtt.Server { return p.srv.Load() }

// ID names the hook in mochi's logs.
func (p *policy) ID() string { return "shouwang-policy" }

// Provides lists the hook methods mochi should call.
func (p *policy) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSubscribe,
		mqtt.OnPublish,
		mqtt.OnPublishDropped,
		mqtt.OnPacketRead,
		mqtt.OnPacketProcessed,
		mqtt.OnDisconnect,
	}, []byte{b})
}

func (p *policy) isService(cl *mqtt.Client) bool {
	return string(cl.Properties.Username) == p.cfg.ServiceUser
}

// reject reports a refusal through Config.OnReject and logs it at a
// bounded rate (one line per reason per refusalLogEvery).
func (p *policy) reject(reason devices.Reason, who, detail string) {
	if p.cfg.OnReject != nil {
		p.cfg.OnReject(reason, who, detail)
	}
	p.limited.Warn(string(reason), "refused", "reason", reason, "who", clip(who), "detail", detail)
}

// OnACLCheck enforces the topic rules of acl.go. mochi calls it with
// write=true for every publish by a network client, and with write=false
// both for each SUBSCRIBE filter and for each delivery; refused publishes
// are reported here, refused subscriptions in OnSubscribe.
func (p *policy) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if !write {
		ok, _ := p.mayRead(cl, topic)
		return ok
	}
	ok, reason := p.mayPublish(cl, topic)
	if !ok {
		// mochi drops a refused QoS 0 publish, and disconnects an MQTT
		// 3.1.1 client (or sends a negative PUBACK to an MQTT 5 one) for a
		// refused QoS 1 or 2 publish; no subscriber ever sees it.
		p.stats.publishesRefused.Add(1)
		p.refuse(reason, cl, "publish on "+clip(topic)+" refused")
	}
	return ok
}

// OnSubscribe reports the filters OnACLCheck is about to refuse; mochi then
// answers them with a failure return code in the SUBACK.
func (p *policy) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	for _, f := range pk.Filters {
		if ok, reason := p.mayRead(cl, f.Filter); !ok {
			p.stats.subscribesRefused.Add(1)
			p.refuse(reason, cl, "subscribe to "+clip(f.Filter)+" refused")
		}
	}
	return pk
}

// OnPublish changes when a QoS 1 or 2 publish is acknowledged. mochi's own
// order in processPublish is: PUBACK to the publisher, then fan-out to the
// subscribers, whose copies are stored (OnQosPublish) only during the
// fan-out. A crash between the two loses a message the device was told is
// safe. Here the message is fanned out (and so stored, synchronously, for
// every subscriber, the hub's persistent session included) through an
// inline client first, and mochi is told to ignore the original, which it
// then acknowledges without delivering it a second time.
//
// A device publish is refused (no PUBACK; the device is disconnected so it
// resends) while the hub's backlog is full, instead of being acknowledged
// and then dropped by mochi's inflight quota. Any publish is refused the
// same way when the relay may have reached a subscriber's session through
// a connection that a new one is taking over (see store.OnQosPublish).
func (p *policy) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	pk = p.dropRetain(cl, pk)
	if cl.Net.Inline || pk.FixedHeader.Qos == 0 {
		return pk, nil
	}
	s := p.server()
	if !p.isService(cl) && p.hubBacklogFull(s, pk.TopicName) {
		p.stats.backlogRefused.Add(1)
		p.limited.Warn("backlog", "hub backlog full: device publish refused, device disconnected to resend later",
			"device", cl.ID, "topic", clip(pk.TopicName))
		// mochi treats a connection closed from a hook as a clean
		// disconnect, so the device's will is not sent; it reconnects.
		_ = s.DisconnectClient(cl, packets.ErrQuotaExceeded)
		return pk, packets.ErrRejectPacket
	}
	relay := p.inline[4]
	if v := cl.Properties.ProtocolVersion; v < byte(len(p.inline)) && p.inline[v] != nil {
		relay = p.inline[v]
	}
	out := pk.Copy(true)
	out.Properties.TopicAlias, out.Properties.TopicAliasFlag = 0, false // resolved already
	failures, strays := p.store.failures.Load(), p.store.strays.Load()
	if err := s.InjectPacket(relay, out); err != nil {
		p.limited.Error("relay", "relay publish failed; not acknowledging it", "client", cl.ID, "topic", clip(pk.TopicName), "err", err)
		return pk, packets.ErrRejectPacket
	}
	// InjectPacket counted the relayed copy as a second received message.
	atomic.AddInt64(&s.Info.MessagesReceived, -1)
	atomic.AddInt64(&s.Info.PacketsReceived, -1)
	if p.store.failures.Load() != failures {
		// The message may not be stored for every subscriber: no PUBACK,
		// and disconnect so the publisher sends it again.
		p.limited.Error("store", "broker store write failed; publish not acknowledged, publisher disconnected to resend", "client", cl.ID, "topic", clip(pk.TopicName))
		_ = s.DisconnectClient(cl, packets.ErrUnspecifiedError)
		return pk, packets.ErrRejectPacket
	}
	if p.store.strays.Load() != strays {
		// Perhaps offered to a subscriber's connection that is being taken
		// over (store.OnQosPublish), and so perhaps never delivered. The
		// count is shared, so a publish relayed at the same moment to
		// other subscribers is refused with it: it is sent again too.
		p.limited.Warn("takeover", "publish arrived while a subscriber's session was being taken over; not acknowledged, publisher disconnected to resend",
			"client", cl.ID, "topic", clip(pk.TopicName))
		_ = s.DisconnectClient(cl, packets.ErrServerBusy)
		return pk, packets.ErrRejectPacket
	}
	return pk, packets.CodeSuccessIgnore
}

// hubBacklogFull reports whether a service-user subscriber of topic holds so
// many unacknowledged messages that mochi would drop the next one.
func (p *policy) hubBacklogFull(s *mqtt.Server, topic string) bool {
	limit := int(s.Options.Capabilities.MaximumInflight) - backlogMargin
	for id := range s.Topics.Subscribers(topic).Subscriptions {
		if sub, ok := s.Clients.Get(id); ok && p.isService(sub) && sub.State.Inflight.Len() >= limit {
			return true
		}
	}
	return false
}

// backlogMargin leaves room under mochi's inflight limit for publishes that
// pass hubBacklogFull at the same moment, for wills and for retained
// messages sent on subscribe.
const backlogMargin = 1024

// OnPublishDropped counts messages mochi dropped because a client's
// outbound queue was full.
func (p *policy) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	p.stats.dropped.Add(1)
	p.limited.Warn("dropped", "message dropped: client's outbound queue is full", "client", cl.ID, "topic", clip(pk.TopicName))
}

// OnPacketRead and OnPacketProcessed work around mochi keeping one inflight
// map per client for both directions: when a client publishes with packet
// ID n, processPublish deletes whatever is inflight under n, which may be an
// unacknowledged message the broker sent to that client. The hub publishes
// commands while it receives events, so this would silently drop events
// from its session. The message is put back once the publish is processed;
// a client's packets are processed one at a time, so nothing interleaves.
//
// The same shared map makes mochi refuse an UNSUBSCRIBE whose packet ID
// names a message it is redelivering (0x91), which an MQTT 3.1.1 client
// cannot see in the UNSUBACK: the hub's session would silently keep a
// filter it gave up (see mqttc.Config.Unsubscribe). Such an UNSUBSCRIBE is
// carried out here; mochi then answers it and tells the store.
func (p *policy) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch {
	case pk.FixedHeader.Type == packets.Publish:
		p.checkPublish(cl, pk)
		if pk.FixedHeader.Qos == 0 {
			break
		}
		if prev, ok := cl.State.Inflight.Get(pk.PacketID); ok && prev.FixedHeader.Type == packets.Publish {
			p.shadows.Store(cl, prev)
		}
	case pk.FixedHeader.Type == packets.Unsubscribe:
		if _, ok := cl.State.Inflight.Get(pk.PacketID); ok {
			s := p.server()
			for _, f := range pk.Filters {
				if s.Topics.Unsubscribe(f.Filter, cl.ID) {
					atomic.AddInt64(&s.Info.Subscriptions, -1)
				}
				cl.State.Subscriptions.Delete(f.Filter)
			}
		}
	}
	return pk, nil
}

// OnPacketProcessed restores a message shadowed by OnPacketRead.
func (p *policy) OnPacketProcessed(cl *mqtt.Client, pk packets.Packet, _ error) {
	if pk.FixedHeader.Type != packets.Publish {
		return
	}
	if v, ok := p.shadows.LoadAndDelete(cl); ok {
		if cl.State.Inflight.Set(v.(packets.Packet)) {
			atomic.AddInt64(&p.server().Info.Inflight, 1)
		}
	}
}

// OnDisconnect forgets a shadow left by a publish that failed validation,
// and counts a connection closed for an oversized packet.
func (p *policy) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	p.shadows.Delete(cl)
	p.checkDisconnect(cl, err)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
