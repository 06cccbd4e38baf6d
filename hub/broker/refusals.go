package broker

import (
	"errors"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/devices"
)

// Refusal reasons of the embedded broker, beside devices.Reasons: they are
// about the MQTT packet, not the payload.
const (
	// ReasonPacketTooLarge: a packet over the broker's limit (256 KiB).
	// mochi closes the connection before reading it.
	ReasonPacketTooLarge devices.Reason = "packet_too_large"
	// ReasonWildcardTopic: a PUBLISH whose topic holds '+' or '#', which
	// MQTT forbids; mochi closes the connection.
	ReasonWildcardTopic devices.Reason = "wildcard_topic"
	// ReasonRetained: a native event, telemetry or call message published
	// retained. The message is delivered and stored once; the retained copy
	// is not kept (see RetainRefused).
	ReasonRetained devices.Reason = "retained"
)

// Reasons lists the broker's own refusal reasons, so counters can start
// at zero.
var Reasons = []devices.Reason{ReasonPacketTooLarge, ReasonWildcardTopic, ReasonRetained}

// refusalLogEvery bounds the log of refusals: one line per reason per
// interval, with the count of those left out.
const refusalLogEvery = 10 * time.Second

// RetainRefused reports whether a message on topic may not be kept as a
// retained message: in native protocol v1 only a device's status is
// retained (docs/protocol.md). A retained event would be replayed to every
// new subscription — an SOS raised again at every hub start. Vendor topics
// keep their own conventions.
func RetainRefused(topic string) bool {
	_, ch, _, err := devices.ParseTopic(topic)
	return err == nil && ch != devices.ChannelStatus
}

// who names a client in a refusal: its username (a device's ID), else its
// client ID.
func who(cl *mqtt.Client) string {
	if u := string(cl.Properties.Username); u != "" {
		return u
	}
	return cl.ID
}

// refuse is reject for a connected client, naming its client ID and
// address.
func (p *policy) refuse(reason devices.Reason, cl *mqtt.Client, detail string) {
	p.reject(reason, who(cl), detail+" (client id "+clip(cl.ID)+", from "+cl.Net.Remote+")")
}

// checkPublish looks at a PUBLISH as it is read, before mochi validates it:
// mochi drops the connection of a publish to a wildcard topic, and
// silently ignores one to a $-topic (without PUBACK), and neither reaches
// a hook later.
func (p *policy) checkPublish(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return
	}
	switch t := pk.TopicName; {
	case strings.ContainsAny(t, "+#"):
		p.stats.publishesRefused.Add(1)
		p.refuse(ReasonWildcardTopic, cl, "publish to "+clip(t)+": wildcards are not allowed in a topic name; connection closed")
	case strings.HasPrefix(t, "$"):
		p.stats.publishesRefused.Add(1)
		p.refuse(devices.ReasonBadTopic, cl, "publish to "+clip(t)+": $-topics belong to the broker; ignored")
	}
}

// checkDisconnect counts a connection mochi closed because a packet was
// over the size limit: mochi reads only the packet's header, so no other
// hook sees it.
func (p *policy) checkDisconnect(cl *mqtt.Client, err error) {
	if errors.Is(err, packets.ErrPacketTooLarge) {
		p.stats.publishesRefused.Add(1)
		p.refuse(ReasonPacketTooLarge, cl, "a packet over the broker's limit of 256 KiB; connection closed")
	}
}

// dropRetain clears the retain flag of a device's publish on a topic that
// may not be retained (RetainRefused): the message is delivered as an
// ordinary one and no retained copy is kept.
func (p *policy) dropRetain(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if cl.Net.Inline || !pk.FixedHeader.Retain || p.isService(cl) || !RetainRefused(pk.TopicName) {
		return pk
	}
	pk.FixedHeader.Retain = false
	p.refuse(ReasonRetained, cl, "retained publish to "+clip(pk.TopicName)+": delivered, but not kept as a retained message")
	return pk
}
