package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
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

// vendorCopyWindow: with several instances, every instance receives every
// vendor message, and the one that commits first applies it; another
// finding the same message (its digest) committed less than this long
// before it received it takes it for its copy of that publish and applies
// nothing. A device repeating the very same payload within it (a second
// identical press in under two seconds) counts once.
const vendorCopyWindow = 2 * time.Second

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
		if dev == nil && d.Kind == zigbee2mqtt.TopicAvailability {
			// Availability needs no model, so Decode did not ask for one:
			// the device is found by its name here.
			dev, _ = routes.behind(vr.id, d.Name)
		}
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
