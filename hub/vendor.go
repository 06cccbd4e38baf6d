package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
	"github.com/shouwang-hub/shouwang/hub/influx"
)

// Vendor messages (Zigbee2MQTT bridges, Shelly devices) carry state, not
// numbered events. Ingest routes them by root (VendorRoutes), decodes them
// with their codec, and commits them on a path of their own: one
// transaction per batch loads each device's VendorState, takes the edges
// (devices.VendorState.Apply), stores the events they make under the
// device's own counter (so (device, seq) de-duplication holds), applies the
// alert rules, and saves the new state — all before the broker is told the
// message is safe. A crash, a restart or a QoS 1 redelivery therefore finds
// the state as it was when the message was, or was not, committed: it
// neither invents a second alarm nor loses an onset. See docs/protocol.md,
// "De-duplication of vendor messages".

// VendorTx is what the vendor path needs from a store transaction besides
// IngestTx.
type VendorTx interface {
	VendorStates(ctx context.Context, ids []string) (map[string]devices.VendorState, error)
	SaveVendorStates(ctx context.Context, states map[string]devices.VendorState, at time.Time) error
}

// VendorStore is what the vendor path needs from the store outside its
// transactions.
type VendorStore interface {
	SaveDiscovered(ctx context.Context, gateway string, ds []devices.Discovered, at time.Time) error
	RecordRefusal(ctx context.Context, id string, r devices.Refusal) error
}

// redeliveryWindow bounds how long after its commit a message delivered
// again (MQTT DUP flag set) with the same topic and payload counts as that
// message.
const redeliveryWindow = 10 * time.Minute

// vendorMsg is one decoded vendor message waiting to be committed.
type vendorMsg struct {
	id       string // the registered device (or gateway)
	obs      devices.Observation
	retained bool
	dup      bool   // the broker delivers it again (DUP flag)
	arrival  uint64 // see Delivery.Arrival
	digest   uint64
	recv     time.Time
}

// handleVendor takes a message outside the native prefix. It acks what it
// refuses or ignores and queues the rest on the vendor path.
func (in *Ingest) handleVendor(dv Delivery, ack func(), now time.Time) {
	topic, payload := dv.Topic, dv.Payload
	routes := in.cfg.Routes
	if routes == nil {
		in.rejectMsg(devices.ReasonBadTopic, "", topic, errors.New("not a native topic and no vendor sources"))
		ack()
		return
	}
	vr, ok := routes.find(topic)
	if !ok {
		in.rejectMsg(devices.ReasonBadTopic, "", topic, errors.New("under no registered bridge or Shelly"))
		ack()
		return
	}
	m := &vendorMsg{id: vr.id, retained: dv.Retained, dup: dv.Duplicate, arrival: dv.Arrival, recv: now, digest: digest(topic, payload)}
	switch vr.source {
	case devices.SourceZigbee2MQTT:
		var dev *devices.Device
		d, err := zigbee2mqtt.Decode(vr.root, topic, payload, func(name string) *zigbee2mqtt.Model {
			dev, _ = routes.behind(vr.id, name)
			if dev == nil {
				return nil
			}
			mdl, _ := zigbee2mqtt.Lookup(dev.Model)
			return mdl
		})
		if dev != nil {
			m.id = dev.ID
		}
		switch {
		case err != nil:
			in.refuse(m.id, devices.RejectionReason(err), topic, payload, err)
			ack()
			return
		case d.Kind == zigbee2mqtt.TopicBridgeDevices:
			in.learnBridge(vr.id, d.Bridge, now, ack)
			return
		case d.Kind == zigbee2mqtt.TopicState || d.Kind == zigbee2mqtt.TopicAction || d.Kind == zigbee2mqtt.TopicAvailability:
			if dev == nil {
				in.cfg.Metrics.countIgnored()
				ack() // listed as discovered for an installer to bind
				return
			}
		}
		if d.Ignored != "" {
			in.cfg.Metrics.countIgnored()
			if len(d.Notes) > 0 {
				in.refuse(m.id, devices.ReasonBadValue, topic, payload, errors.New(d.Ignored))
			}
			ack()
			return
		}
		if len(d.Notes) > 0 {
			in.refuse(m.id, devices.ReasonBadValue, topic, payload, fmt.Errorf("ignored: %v", d.Notes))
		}
		m.obs = d.Obs
	case devices.SourceShelly:
		d, err := shelly.Decode(vr.root, topic, payload)
		if err != nil {
			in.refuse(m.id, devices.RejectionReason(err), topic, payload, err)
			ack()
			return
		}
		if d.Ignored != "" {
			in.cfg.Metrics.countIgnored()
			ack()
			return
		}
		m.obs = d.Obs
	default:
		in.cfg.Metrics.countIgnored()
		ack()
		return
	}
	in.cfg.Metrics.countReceivedVendor()
	in.vendor.put(m, ack, in.quit)
}

func digest(topic string, payload []byte) uint64 {
	h := fnv.New64a()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum64()
}

// learnBridge takes a bridge's retained device list: routes by friendly
// name from now on, and the list is saved for installers (discovered
// devices) and for routing after a restart.
func (in *Ingest) learnBridge(gateway string, list []zigbee2mqtt.BridgeDevice, now time.Time, ack func()) {
	in.cfg.Routes.learn(gateway, list)
	if in.cfg.Vendor != nil {
		ds := make([]devices.Discovered, len(list))
		for i, bd := range list {
			ds[i] = devices.Discovered{Gateway: gateway, IEEE: bd.IEEE, FriendlyName: bd.FriendlyName,
				Model: bd.Model, Vendor: bd.Vendor, Description: bd.Description, Supported: bd.Supported}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.cfg.Vendor.SaveDiscovered(ctx, gateway, ds, now); err != nil {
			in.logger.Warn("save a bridge's device list; the broker will deliver it again", "gateway", gateway, "err", err)
			return // not acknowledged
		}
	}
	ack()
}

// commitVendor commits a batch of vendor messages in one transaction (see
// the top of this file), then appends their readings to the spool. The
// readings of a message are written at the time it was first committed, so
// writing them again after a redelivery or a retried batch overwrites the
// same InfluxDB points instead of adding new ones.
func (in *Ingest) commitVendor(ctx context.Context, batch []*vendorMsg) error {
	var (
		lines   [][]byte
		work    map[string]devices.VendorState
		arrived map[string]uint64
		events  int
	)
	// Handlers run concurrently, so messages of one device may reach the
	// queue out of order: apply them in the order they arrived.
	slices.SortStableFunc(batch, func(a, b *vendorMsg) int { return cmp.Compare(a.arrival, b.arrival) })
	err := in.cfg.Alerting.Update(ctx, func(atx *AlertTx) error {
		tx := atx.Store()
		vtx, ok := tx.(VendorTx)
		if !ok {
			return errors.New("vendor messages: the store has no vendor state")
		}
		lines, events = lines[:0], 0
		work = make(map[string]devices.VendorState, len(batch))
		arrived = make(map[string]uint64, len(batch))
		var missing []string
		for _, m := range batch {
			if st, ok := in.vstates[m.id]; ok {
				work[m.id] = st
			} else if !slices.Contains(missing, m.id) {
				missing = append(missing, m.id)
			}
		}
		loaded, err := vtx.VendorStates(ctx, missing)
		if err != nil {
			return err
		}
		for id, st := range loaded {
			work[id] = st
		}
		var evs, statuses, readings []*devices.Message
		var updates []devices.HealthUpdate
		for _, m := range batch {
			d, ok := in.cfg.Index.Get(m.id)
			if !ok {
				continue // deleted since it was routed
			}
			st := work[m.id]
			var out devices.Outcome
			at := m.recv
			if first, ok := st.Committed(m.digest); ok && m.dup && m.recv.Sub(time.UnixMilli(first)) < redeliveryWindow {
				// The broker delivers a committed message again (the
				// hub stopped before acknowledging it): its events are
				// stored; its readings are written again at the same
				// time, which overwrites the same points.
				at = time.UnixMilli(first)
				out.Readings = m.obs.Readings
			} else {
				obs := &m.obs
				if m.arrival != 0 && m.arrival < in.varrival[m.id] {
					// Older than a state already applied (it lost a race
					// between handlers into an earlier batch): its
					// readings and presses count, its conditions do not.
					obs = m.obs.Occurrences()
				}
				out = st.Apply(obs, m.recv, m.retained)
				st.Remember(m.digest, m.recv.UnixMilli())
				arrived[m.id] = max(arrived[m.id], m.arrival)
			}
			for i := range out.Events {
				st.Seq++
				evs = append(evs, &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelEvent,
					Seq: st.Seq, TS: at, Received: at, Event: &out.Events[i]})
			}
			h := devices.HealthUpdate{ID: m.id, LastSeen: m.recv}
			if out.Online != nil {
				online := *out.Online
				h.Online = &online
				statuses = append(statuses, &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelStatus,
					TS: at, Received: at, Status: &devices.Status{Online: online}})
			} else if d.Kind != devices.KindGateway {
				online := true // it is heard from
				h.Online = &online
			}
			if len(out.Readings) > 0 {
				// Readings carry no number of their own: their seq is
				// the time of the message's first commit (Unix ms).
				tm := &devices.Message{DeviceID: m.id, Kind: d.Kind, Channel: devices.ChannelTelemetry,
					Seq: uint64(at.UnixMilli()), TS: at, Received: at, Telemetry: &devices.Telemetry{Fields: out.Readings}}
				lines = append(lines, influx.Line(tm, d.Location))
				readings = append(readings, tm)
				if v, ok := out.Readings["battery"]; ok {
					h.Battery = &v
				}
			}
			work[m.id] = st
			updates = append(updates, h)
		}
		inserted, err := tx.RecordEvents(ctx, evs)
		if err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		for i, m := range evs {
			if !inserted[i] {
				continue
			}
			events++
			if err := atx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		if err := tx.UpdateHealth(ctx, updates); err != nil {
			return fmt.Errorf("update health: %w", err)
		}
		for _, m := range append(statuses, readings...) {
			if err := atx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		return vtx.SaveVendorStates(ctx, work, in.cfg.Now())
	})
	if err != nil {
		return err
	}
	for id, st := range work {
		in.vstates[id] = st
	}
	for id, a := range arrived {
		in.varrival[id] = max(in.varrival[id], a)
	}
	if len(lines) > 0 {
		if err := in.cfg.Spool.Append(ctx, lines, nil); err != nil {
			return fmt.Errorf("append vendor readings to spool: %w", err)
		}
	}
	in.cfg.Metrics.countStored(devices.ChannelEvent, events)
	in.cfg.Metrics.countStored(devices.ChannelTelemetry, len(lines))
	return nil
}
