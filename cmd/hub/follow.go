package main

// What the hub does with what reaches it while it runs: messages from the
// MQTT lanes, refusals from the embedded broker, changes to the device
// registry, and the pruning of its bounded tables.

import (
	"context"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/broker"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// onMessage takes a message from any lane. A retained copy of a message
// that may not be retained (an event, a reading, call signalling: see
// broker.RetainRefused) is a replay: a broker sends it to every new
// subscription, so it would raise an old SOS again at every hub start. The
// message itself reached the hub, without the retain flag, when it was
// published; the replay is acknowledged, counted as "retained" and not
// stored. (The embedded broker keeps no such copies; mosquitto does.)
func (m *Main) onMessage(msg *mqttc.Message) {
	if msg.Retained && broker.RetainRefused(msg.Topic) {
		m.metrics.Reject(broker.ReasonRetained)
		m.refusals.Warn("retained", "a retained copy of a message that may not be retained was replayed by the broker; not stored again (clear it on the broker: publish an empty retained message to the topic)",
			"topic", msg.Topic)
		msg.Ack()
		return
	}
	m.ingest.Deliver(hub.Delivery{Topic: msg.Topic, Payload: msg.Payload,
		Retained: msg.Retained, Duplicate: msg.Duplicate, Arrival: msg.Arrival}, msg.Ack)
}

func (m *Main) goRun(f func()) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f() }()
}

func (m *Main) onBrokerReject(reason devices.Reason, clientID, detail string) {
	m.metrics.Reject(reason)
	if reason == devices.ReasonUnregistered && devices.ValidID(clientID) {
		m.ingest.NoteUnregistered(clientID, detail, time.Now())
	} else if devices.ValidID(clientID) {
		// Wrong password, another client ID, a foreign topic: kept for the
		// installer on the device's page.
		m.ingest.NoteRefusal(clientID, reason, detail, time.Now())
	}
}

// onDeviceChange follows a registry change made through this instance's
// console, and rings the others.
func (m *Main) onDeviceChange(id string) {
	m.refreshDevices(id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.store.Notify(ctx, sqlstore.ChannelDevices, id); err != nil {
		m.Logger.Warn("tell the other instances of a device change", "device", id, "err", err)
	}
}

// refreshDevices re-reads a changed device (id; "" for all) into the
// device index, supervision, vendor routes and broker accounts.
func (m *Main) refreshDevices(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if id == "" {
		err = m.index.Reload(ctx, m.store)
	} else {
		err = m.index.Refresh(ctx, m.store, id)
	}
	if err != nil {
		m.Logger.Error("refresh device index", "device", id, "err", err)
	}
	if id != "" {
		m.alerting.DeviceChanged(id)
	}
	if m.checkins != nil {
		m.checkins.DevicesChanged()
	}
	m.syncVendor(ctx)
	m.brokerAccountsChanged(ctx, id)
}

// pruneEvery keeps the alert change feed, the trigger records and the call
// claims bounded. It runs under the prune lease: on one instance.
func (m *Main) pruneEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.store.PruneAlertFeed(ctx, 0, time.Time{}); err != nil && ctx.Err() == nil {
				m.Logger.Warn("prune the alert feed", "err", err)
			}
			// Which instance took each call: kept as long as a call can last.
			if err := m.store.PruneCalls(ctx, time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
				m.Logger.Warn("prune call claims", "err", err)
			}
		}
	}
}
