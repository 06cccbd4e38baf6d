package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestUpgradeFromOneSession starts the hub on a mosquitto that still holds
// the single session of a hub from before lanes — subscribed to every
// channel, with events and telemetry queued for it. Everything queued
// arrives once; events published after the start arrive on the alarm lane
// only, and the telemetry lane (which keeps the old session's ID) no longer
// gets them.
func TestUpgradeFromOneSession(t *testing.T) {
	influx := testenv.Influx(t)
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true})
	data := t.TempDir()
	const id = "upgraded-hub"

	boot := startHub(t, hubOptions{MQTTURL: mq.URL(), Influx: influx, DataDir: data, Args: []string{"-mqtt-client-id", "boot"}})
	specs := register(t, "http://"+boot.HTTPAddr(), gasDevices("upg", 10))
	if err := boot.Close(); err != nil {
		t.Fatal(err)
	}

	// The old layout: one persistent session under the hub's ID with every
	// filter, away while the devices publish.
	var oldFilters []string
	for _, sub := range devices.NewPolicy().Subscriptions(nil) {
		oldFilters = append(oldFilters, sub.Filter)
	}
	old, err := mqttc.New(mqttc.Config{URL: mq.URL(), ClientID: id, Subscriptions: oldFilters,
		Handler: func(*mqttc.Message) {}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := old.Start(ctx); err != nil {
		t.Fatal(err)
	}
	old.Stop()

	s := connectDevices(t, mq.URL(), specs)
	all := ids(specs)
	publishStream(t, s, all, 1, 10, nil)
	event := func(seq int) []byte {
		return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"type":"test"}`, seq, baseTS+int64(seq))
	}
	for _, d := range all {
		if err := publishRetry(s, d, devices.ChannelEvent, event(1001)); err != nil {
			t.Fatal(err)
		}
	}

	m := startHub(t, hubOptions{MQTTURL: mq.URL(), Influx: influx, DataDir: data, Args: []string{"-mqtt-client-id", id}})
	base := "http://" + m.HTTPAddr()
	stored := func(ch devices.Channel) float64 {
		return metric(t, base, "shouwang_ingest_stored_total", `channel="`+string(ch)+`"`)
	}
	eventually(t, time.Minute, "the old session's queue stored", func() (bool, string) {
		tel, ev := stored(devices.ChannelTelemetry), stored(devices.ChannelEvent)
		return tel == 100 && ev == 10, fmt.Sprintf("telemetry %v, events %v", tel, ev)
	})
	telemetryLane := func() float64 { return metric(t, base, "shouwang_mqtt_received_total", `lane="telemetry"`) }
	before := telemetryLane()
	if before < 110 {
		t.Errorf("the telemetry lane (the old session) took %v messages; want its queue of 100 readings and 10 events", before)
	}

	for _, d := range all {
		if err := publishRetry(s, d, devices.ChannelEvent, event(1002)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, time.Minute, "the new events stored", func() (bool, string) {
		ev := stored(devices.ChannelEvent)
		return ev == 20, fmt.Sprintf("events %v", ev)
	})
	if after := telemetryLane(); after != before {
		t.Errorf("the telemetry lane took %v messages after the upgrade; want none (events go to the alarm lane)", after-before)
	}
	if n := metric(t, base, "shouwang_ingest_duplicates_total", `channel="event"`); n > 10 {
		t.Errorf("%v duplicate events; at most the 10 queued ones may arrive twice", n)
	}
	eventually(t, time.Minute, "100 points in InfluxDB", func() (bool, string) {
		n := influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == 100, fmt.Sprint(n)
	})
}

// TestBrokerBacklogIsWatched: the hub reads mosquitto's count of stored
// messages ($SYS) and shows it on /metrics and /readyz. A second persistent
// session that never comes back (a dead subscriber) makes mosquitto hold
// every reading for it.
func TestBrokerBacklogIsWatched(t *testing.T) {
	influx := testenv.Influx(t)
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true})
	m := startHub(t, hubOptions{MQTTURL: mq.URL(), Influx: influx})
	base := "http://" + m.HTTPAddr()
	specs := register(t, base, gasDevices("bkl", 10))

	dead, err := mqttc.New(mqttc.Config{URL: mq.URL(), ClientID: "dead-subscriber", Subscriptions: []string{"shouwang/v1/+/telemetry"},
		Handler: func(*mqttc.Message) {}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dead.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dead.Stop()

	s := connectDevices(t, mq.URL(), specs)
	publishStream(t, s, ids(specs), 1, 50, nil) // 500 readings, each kept for the dead subscriber
	eventually(t, time.Minute, "the broker's count on /metrics", func() (bool, string) {
		n := metric(t, base, "shouwang_broker_stored_messages", "")
		return n >= 500, fmt.Sprint(n)
	})
	_, checks := readiness(t, base)
	if c := checks["broker_backlog"]; !strings.HasPrefix(c, "ok; the broker holds ") {
		t.Errorf("readyz broker_backlog %q, want the broker's count", c)
	}
	if n := metric(t, base, "shouwang_broker_behind", ""); n != 0 {
		t.Errorf("behind = %v with a small, steady store", n)
	}
}
