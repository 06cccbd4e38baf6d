package main

import (
	"context"
	"fmt"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// syncVendor follows registrations of bridges and Shelly devices while the
// hub runs: the routes are read again and the lanes subscribe to the
// topics of any new root (a root no longer registered stays subscribed
// until the next start; its messages are refused as under no root).
func (m *Main) syncVendor(ctx context.Context) {
	if m.routes == nil {
		return
	}
	if err := m.routes.Load(ctx, m.store); err != nil {
		m.Logger.Error("reload vendor routes", "err", err)
		return
	}
	if m.broker != nil {
		m.broker.SetRoots(m.routes.Roots())
	}
	subs := vendors.Policy.Subscriptions(m.routes.Roots())
	for _, l := range m.lanes {
		var filters []string
		for _, s := range subs {
			if s.Lane == l.name {
				filters = append(filters, s.Filter)
			}
		}
		if err := l.client.AddSubscriptions(ctx, filters); err != nil {
			// The next reconnect subscribes them.
			m.Logger.Warn("subscribe to new vendor topics", "lane", string(l.name), "err", err)
		}
	}
}

// vendorConsole is what the console asks of the hub about vendor devices.
type vendorConsole struct{ m *Main }

// ListDiscovered lists what the bridges report, with the kind the hub
// would register each as.
func (v vendorConsole) ListDiscovered(ctx context.Context, gateway string) ([]devices.Discovered, error) {
	ds, err := v.m.store.ListDiscovered(ctx, gateway)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		ds[i].Kind = vendors.KindOf(devices.SourceZigbee2MQTT, ds[i].Model)
	}
	return ds, nil
}

// ListRefusals returns a device's last refusals.
func (v vendorConsole) ListRefusals(ctx context.Context, id string) ([]devices.Refusal, error) {
	return v.m.store.ListRefusals(ctx, id)
}

// SelfTest sends a vendor device the command that starts its self-test.
func (v vendorConsole) SelfTest(ctx context.Context, id string) error {
	topic, payload, err := v.m.routes.SelfTestCommand(id)
	if err != nil {
		return err
	}
	if err := v.m.pubClient.Publish(ctx, topic, 1, false, payload); err != nil {
		return fmt.Errorf("send self-test to %s: %w", id, err)
	}
	return nil
}
