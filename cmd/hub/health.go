package main

// What the hub says of itself: /readyz and the Prometheus metrics.

import (
	"context"
	"fmt"
	"strings"
)

// ready is /readyz: MQTT connected, durable commits going through and the
// store answering; InfluxDB may be down as long as the spool takes the
// telemetry.
func (m *Main) ready(ctx context.Context) (bool, map[string]string) {
	checks := map[string]string{}
	ok := true
	connected, state := lanesConnected(m.lanes)
	ok = ok && connected
	checks["mqtt"] = state
	if m.sessions.own != "" {
		// With takeover, this instance's telemetry session runs once its
		// lease is back from whoever drained it meanwhile.
		own, borrowed := m.sessions.ownConnected()
		ok = ok && own
		checks["mqtt_shared"] = fmt.Sprintf("own session connected: %t; drained for stopped instances: %d", own, len(borrowed))
	}
	// Durable commits failing (a full or failing disk) means nothing is
	// being acknowledged: not ready until a commit goes through again.
	if fails := m.ingest.CommitFailures(); len(fails) > 0 {
		ok = false
		checks["commits"] = strings.Join(fails, "; ")
	} else {
		checks["commits"] = "ok"
	}
	if m.broker != nil {
		if f := m.broker.StoreFailure(); f != "" {
			ok = false
			checks["broker"] = f
		} else {
			checks["broker"] = "ok"
		}
	}
	if err := m.store.Ping(ctx); err != nil {
		ok = false
		checks["store"] = "error: " + err.Error()
	} else {
		checks["store"] = "ok"
	}
	// A warning only: the hub keeps up; the broker does not (see
	// hub.BacklogWatch).
	checks["broker_backlog"] = m.backlog.Check()
	if st := m.writer.Stats(); st.Reachable {
		checks["influxdb"] = "reachable"
	} else {
		checks["influxdb"] = fmt.Sprintf("unreachable; spooling %d lines", m.spool.Depth())
	}
	if w := m.watch.Warning(); w != "" {
		checks["spool"] = w
	} else {
		checks["spool"] = fmt.Sprintf("%d lines waiting", m.spool.Depth())
	}
	return ok, checks
}

func (m *Main) registerMetrics() {
	mt := m.metrics
	mt.GaugeFunc("shouwang_spool_depth", "Telemetry lines waiting in the durable spool for InfluxDB.", func() float64 { return float64(m.spool.Depth()) })
	mt.GaugeFunc("shouwang_spool_bytes", "Approximate bytes waiting in the spool.", func() float64 { return float64(m.spool.Bytes()) })
	mt.GaugeFunc("shouwang_spool_warn_depth", "Spool depth at which the hub warns.", func() float64 { return float64(m.Config.SpoolWarnDepth) })
	mt.GaugeFunc("shouwang_data_disk_free_bytes", "Free bytes on the data directory's file system.", func() float64 { return float64(m.watch.DiskFree()) })
	mt.CounterFunc("shouwang_influx_written_total", "Telemetry lines written to InfluxDB.", func() float64 { return float64(m.writer.Stats().Written) })
	mt.CounterFunc("shouwang_influx_write_failures_total", "Failed InfluxDB write attempts (retried).", func() float64 { return float64(m.writer.Stats().Failures) })
	mt.CounterFunc("shouwang_influx_dead_lettered_total", "Lines InfluxDB refused permanently, kept in the dead-letter file.", func() float64 { return float64(m.writer.Stats().DeadLettered) })
	mt.GaugeFunc("shouwang_influx_reachable", "1 when the last InfluxDB write or ping succeeded.", func() float64 { return b2f(m.writer.Stats().Reachable) })
	mt.GaugeFunc("shouwang_broker_stored_messages", "Messages the MQTT broker holds (mosquitto: $SYS/broker/store/messages/count; embedded: stored for a client, unacknowledged); -1 when the broker does not say.", func() float64 { return float64(m.backlog.Stored()) })
	mt.GaugeFunc("shouwang_broker_behind", "1 when the MQTT broker is falling behind: its store growing past 10,000 messages, or many resends.", func() float64 { return b2f(m.backlog.Behind()) })
	mt.GaugeFunc("shouwang_mqtt_connected", "1 when every MQTT session of the hub that takes device traffic is connected.", func() float64 {
		ok, _ := lanesConnected(m.lanes)
		return b2f(ok)
	})
	for _, l := range m.lanes {
		lbl := map[string]string{"lane": string(l.name)}
		mt.LabeledGaugeFunc("shouwang_mqtt_lane_connected", "1 when the lane's MQTT session is connected.", lbl, func() float64 { return b2f(l.client.Connected()) })
		mt.LabeledCounterFunc("shouwang_mqtt_received_total", "Messages taken from the broker, by lane.", lbl, func() float64 { return float64(l.client.Stats().Received) })
		mt.LabeledCounterFunc("shouwang_mqtt_retained_total", "Retained messages the broker sent because the lane subscribed, by lane.", lbl, func() float64 { return float64(l.client.Stats().Retained) })
		mt.LabeledCounterFunc("shouwang_mqtt_redelivered_total", "Messages the broker resent (DUP flag: sent before and not acknowledged), by lane.", lbl, func() float64 { return float64(l.client.Stats().Redelivered) })
		mt.LabeledCounterFunc("shouwang_mqtt_malformed_packets_total", "Packets from the broker the MQTT intake refused as malformed, by lane: each dropped the connection, which was made again (the broker redelivers).", lbl, func() float64 { return float64(l.client.Stats().Malformed) })
	}
	mt.GaugeFunc("shouwang_devices_registered", "Registered devices.", func() float64 { return float64(m.index.Len()) })
	mt.GaugeFunc("shouwang_calls_active", "Voice calls being relayed.", func() float64 { return float64(len(m.calls.Manager().Calls())) })
	if m.broker != nil {
		mt.GaugeFunc("shouwang_broker_clients_connected", "Clients connected to the embedded broker.", func() float64 { return float64(m.broker.Stats().ClientsConnected) })
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
