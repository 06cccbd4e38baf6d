package hub

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Routing: every message from the broker comes in through Deliver, which
// finds its device, decodes and validates it, and queues it on the commit
// path of its channel — or refuses it, counted and logged at a bounded rate.

// Handle takes one MQTT message. It is safe for concurrent use. ack is
// called once the message is durably stored or definitively rejected;
// during shutdown new messages are left unacknowledged for redelivery.
func (in *Ingest) Handle(topic string, payload []byte, ack func()) {
	in.Deliver(Delivery{Topic: topic, Payload: payload}, ack)
}

// Delivery is one message as a broker delivered it.
type Delivery struct {
	Topic   string
	Payload []byte
	// Retained marks an old state (a vendor press in it is not a new
	// press); Duplicate a message delivered again (a vendor message the hub
	// committed already is not applied twice).
	Retained, Duplicate bool
	// Arrival orders deliveries as they came off the connections (see
	// mqttc.Message.Arrival); 0 when unknown. A vendor device's states are
	// applied in this order.
	Arrival uint64
}

// Deliver is Handle with what the broker says of the message.
func (in *Ingest) Deliver(dv Delivery, ack func()) {
	topic, payload := dv.Topic, dv.Payload
	in.closeMu.RLock()
	if in.closing.Load() {
		in.closeMu.RUnlock()
		return
	}
	in.inflight.Add(1)
	in.closeMu.RUnlock()
	defer in.inflight.Done()
	now := in.cfg.Now()
	if !strings.HasPrefix(topic, devices.TopicPrefix) {
		in.handleVendor(dv, ack, now)
		return
	}
	id, ch, rest, err := devices.ParseTopic(topic)
	if err != nil {
		in.rejectMsg(devices.ReasonBadTopic, "", topic, err)
		ack()
		return
	}
	slot, d, ok := in.cfg.Index.lookup(id)
	if !ok && in.recheck != nil {
		slot, d, ok = in.recheck.lookup(in.cfg.Index, id, now)
	}
	if !ok {
		in.rejectMsg(devices.ReasonUnregistered, id, topic, errors.New("no registered device with this id"))
		in.NoteUnregistered(id, "published on "+string(ch), now)
		ack()
		return
	}
	if ch == devices.ChannelCall && in.cfg.Calls != nil {
		// Signalling is not stored: a redelivered offer is recognised by
		// its call id.
		in.cfg.Calls.handle(d, rest, payload)
		ack()
		return
	}
	if ch != devices.ChannelEvent && ch != devices.ChannelTelemetry && ch != devices.ChannelStatus {
		// Downlink echoes are not ingested.
		in.cfg.Metrics.countIgnored()
		ack()
		return
	}
	m, err := devices.Decode(in.cfg.Limits, d.Kind, ch, payload, now)
	if err != nil {
		in.rejectMsg(devices.RejectionReason(err), id, topic, err)
		in.NoteRefusal(id, devices.RejectionReason(err), clipTopic(topic)+": "+err.Error()+" — "+clipPayload(payload), now)
		ack()
		return
	}
	m.DeviceID = id
	if ch != devices.ChannelStatus || m.Status.Online {
		in.cfg.Alerting.seenAt(slot, d, now, dv.Arrival)
	} else {
		// A last will, or a retained one replayed at the hub's start: the
		// device has its grace time to come back (supervision.go).
		in.cfg.Alerting.willAt(slot, d, now, dv.Arrival, dv.Retained)
	}
	if m.TSFlag != devices.TSOK {
		in.cfg.Metrics.countTSFlag(m.TSFlag)
	}
	in.cfg.Metrics.countReceived(ch)
	if ch == devices.ChannelTelemetry {
		in.telemetry.put(telemetryItem{m, slot}, ack, in.quit)
		return
	}
	in.store.put(m, ack, in.quit)
}

func (in *Ingest) rejectMsg(reason devices.Reason, id, topic string, err error) {
	in.cfg.Metrics.countRejected(reason)
	in.limited.Warn(string(reason), "message rejected", "reason", reason, "device", id, "topic", clipTopic(topic), "err", err)
}

// NoteUnregistered records an unregistered device for installers, at most
// once a minute per ID so a chatty stranger cannot load the database. The
// broker calls it for refused connections too.
func (in *Ingest) NoteUnregistered(id, detail string, now time.Time) {
	if id == "" || !in.limited.Allow("unreg:"+id, time.Minute) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.cfg.Store.RecordUnregistered(ctx, id, detail, now); err != nil {
		in.logger.Warn("record unregistered device", "device", id, "err", err)
	}
}

func clipTopic(t string) string {
	if len(t) > 120 {
		return t[:120] + "…"
	}
	return t
}
