package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
)

// A lane is one of the hub's MQTT sessions for device traffic: the topic
// filters it subscribes — those the codecs assign to it (devices.Lane) —
// and the suffix that names its persistent session after -mqtt-client-id.
// Each lane is its own MQTT connection with its own bounded intake queue
// and handlers, and a broker delivers each session's queue on its own, so
// what waits on one lane never delays another.
//
// Life-safety traffic (events, status, call signalling) has the alarm lane
// to itself: a telemetry backlog of any size — after a hub outage or a
// broker restart the broker may hold hundreds of thousands of readings for
// the hub — never holds up an SOS (DIN VDE 0834: call functions take
// priority). Downlink (device acknowledgements, call signalling) has a
// publisher connection of its own, <id>-pub, which is not a lane.
//
// Upgrading from one session: before lanes, the hub's only session, <id>,
// subscribed every channel, and the broker may still queue messages of all
// kinds for it. The telemetry lane keeps that ID, so whatever was queued
// there is delivered and handled as before (every lane hands every channel
// to ingest); at every connect it unsubscribes the alarm lane's filters
// (retire), so from then on events reach only the alarm lane. The alarm
// lane connects first: until the telemetry lane has unsubscribed, an event
// may reach both, and ingest stores it once.
//
// Several hub instances (to come) will subscribe the alarm lane on every
// instance and the shared lanes through $share/…, with client IDs that name
// the instance: clientID and shared are where that goes.
type lane struct {
	name    devices.Lane
	suffix  string   // appended to -mqtt-client-id to name the lane's session
	filters []string // subscribed at QoS 1
	// retire are filters an earlier layout put on this lane's session,
	// unsubscribed at every connect (mqttc.Config.Unsubscribe).
	retire []string
	// shared lanes are split among several hub instances ($share/…);
	// the others go to every instance. Unused until -instance exists.
	shared bool
}

// hubLanes returns the hub's lanes in the order they connect, the alarm
// lane first (see lane), each with the filters subs assign to it.
func hubLanes(subs []devices.Subscription) ([]lane, error) {
	lanes := []lane{
		{name: devices.LaneAlarm, suffix: "-alarm"},
		{name: devices.LaneTelemetry, suffix: "", shared: true},
	}
	for _, s := range subs {
		i := slices.IndexFunc(lanes, func(l lane) bool { return l.name == s.Lane })
		if i < 0 {
			return nil, fmt.Errorf("subscription %q: no lane %q", s.Filter, s.Lane)
		}
		lanes[i].filters = append(lanes[i].filters, s.Filter)
	}
	// The telemetry lane's session is the single session of hubs before
	// lanes, which held the alarm filters too.
	lanes[1].retire = slices.Clone(lanes[0].filters)
	return lanes, nil
}

// clientID is the lane's MQTT client ID, derived from -mqtt-client-id.
func (l lane) clientID(base string) string { return base + l.suffix }

// laneClient is a lane with its running MQTT client.
type laneClient struct {
	lane
	client *mqttc.Client
}

// startLanes connects every lane in order, each handing its messages to
// handle and telling changed when its connection comes and goes, and
// returns once all are subscribed. On an error, the lanes
// already started are returned too, for Close to stop.
func startLanes(ctx context.Context, lanes []lane, base mqttc.Config, handle mqttc.Handler, changed func(devices.Lane, bool), log *slog.Logger) ([]*laneClient, error) {
	var out []*laneClient
	for _, l := range lanes {
		cfg := base
		cfg.ClientID = l.clientID(base.ClientID)
		cfg.Subscriptions, cfg.Unsubscribe, cfg.Handler = l.filters, l.retire, handle
		lg := log.With("lane", string(l.name))
		cfg.OnConnectionChange = func(up bool) {
			if up {
				lg.Info("MQTT connected", "broker", base.URL, "client_id", cfg.ClientID)
			} else {
				lg.Warn("MQTT connection lost; reconnecting", "broker", base.URL, "client_id", cfg.ClientID)
			}
			changed(l.name, up)
		}
		c, err := mqttc.New(cfg, lg)
		if err != nil {
			return out, fmt.Errorf("mqtt client for the %s lane: %w", l.name, err)
		}
		out = append(out, &laneClient{lane: l, client: c})
		if err := c.Start(ctx); err != nil {
			return out, fmt.Errorf("connect the %s lane (client id %s) to MQTT broker %s: %w", l.name, cfg.ClientID, base.URL, err)
		}
	}
	return out, nil
}

// lanesConnected reports whether every lane is connected, and a
// description for /readyz.
func lanesConnected(lanes []*laneClient) (bool, string) {
	ok, parts := true, make([]string, 0, len(lanes))
	for _, l := range lanes {
		state := "connected"
		if !l.client.Connected() {
			ok, state = false, "disconnected"
		}
		parts = append(parts, string(l.name)+" "+state)
	}
	if ok {
		return true, "connected"
	}
	return false, strings.Join(parts, ", ")
}
