package hub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/hub/influx"
)

// vendorFake is fakeStore with the vendor path's state: each device's
// VendorState, saved in the transaction as the SQL store does.
type vendorFake struct {
	*fakeStore
	mu     sync.Mutex
	states map[string]devices.VendorState
}

type vendorFakeTx struct {
	fakeTx
	v *vendorFake
}

func (v *vendorFake) Tx(ctx context.Context, fn func(IngestTx) error) error {
	return v.fakeStore.Tx(ctx, func(tx IngestTx) error { return fn(vendorFakeTx{tx.(fakeTx), v}) })
}

func (t vendorFakeTx) VendorStates(_ context.Context, ids []string) (map[string]devices.VendorState, error) {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	out := map[string]devices.VendorState{}
	for _, id := range ids {
		if st, ok := t.v.states[id]; ok {
			st.Recent = append([]devices.Seen(nil), st.Recent...)
			out[id] = st
		}
	}
	return out, nil
}

func (t vendorFakeTx) SaveVendorStates(_ context.Context, states map[string]devices.VendorState, _ time.Time) error {
	t.v.mu.Lock()
	defer t.v.mu.Unlock()
	if t.v.states == nil {
		t.v.states = map[string]devices.VendorState{}
	}
	maps.Copy(t.v.states, states)
	return nil
}

func (v *vendorFake) SaveDiscovered(context.Context, string, []devices.Discovered, time.Time) error {
	return nil
}

func (v *vendorFake) RecordRefusal(context.Context, string, devices.Refusal) error { return nil }

type vendorAlertStore struct {
	*alertstest.Store
	v *vendorFake
}

func (s vendorAlertStore) Tx(ctx context.Context, fn func(IngestTx) error) error {
	return s.v.Tx(ctx, fn)
}

// smokeEvents counts the smoke onsets the fake store holds for a device.
func (v *vendorFake) smokeEvents(id string) int {
	n := 0
	for _, a := range v.alerts.Alerts() {
		if a.DeviceID == id && a.Kind == alerts.KindSmoke {
			n += a.Occurrences
		}
	}
	return n
}

// newVendorIngest is an ingest on v with a Zigbee2MQTT bridge zb-1 and a
// smoke detector behind it named "kitchen", and a Shelly Gas shg-1; each call is the hub started
// again on the same store.
func newVendorIngest(t *testing.T, v *vendorFake, now func() time.Time) *Ingest {
	t.Helper()
	ds := []*devices.Device{
		{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt",
			Location: devices.Location{Community: "阳光社区"}},
		{ID: "smoke-z1", Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: "zb-1",
			Address: "0x00158d0008a1b2c3", Model: "HS1SA-E", Location: devices.Location{Community: "阳光社区"}},
		{ID: "shg-1", Kind: devices.KindGas, Source: devices.SourceShelly, Address: "shellies/shellygas-1",
			Model: shelly.ModelGas, Location: devices.Location{Community: "阳光社区"}},
	}
	idx, err := LoadIndex(context.Background(), newMemSource(ds...))
	if err != nil {
		t.Fatal(err)
	}
	routes := NewVendorRoutes()
	if err := routes.Load(context.Background(), vendorSource{ds: ds, found: []devices.Discovered{
		{Gateway: "zb-1", IEEE: "0x00158d0008a1b2c3", FriendlyName: "kitchen"},
	}}); err != nil {
		t.Fatal(err)
	}
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := NewMetrics()
	al, err := NewAlerting(context.Background(), AlertingConfig{
		Service: svc, Rules: svc.Rules(), Store: vendorAlertStore{v.alerts, v}, Index: idx, Metrics: m, Now: now,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewIngest(context.Background(), IngestConfig{
		Index: idx, Store: v, Spool: &fakeSpool{}, Format: influx.Format{}, Metrics: m, Alerting: al, Now: now,
		Routes: routes, Vendor: v,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	in.Run()
	t.Cleanup(func() { in.Close(context.Background()) })
	return in
}

// TestVendorRedeliveryIsNotAppliedAgain holds what docs/protocol.md says
// of vendor messages, which carry no sequence number: a message the broker
// delivers again (DUP) after the hub committed it is not applied again —
// here an alarm redelivered after its clear, which taken again would be a
// second onset — in the same process and after a restart (the state and
// the digests of committed messages are in the store); the same bytes
// delivered without DUP are a new message.
func TestVendorRedeliveryIsNotAppliedAgain(t *testing.T) {
	clock := time.UnixMilli(1_763_800_000_000)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	step := func() { mu.Lock(); clock = clock.Add(time.Second); mu.Unlock() }
	v := &vendorFake{fakeStore: &fakeStore{alerts: alertstest.New()}}
	in := newVendorIngest(t, v, now)
	var arrival uint64
	a := newAcker()
	deliver := func(in *Ingest, payload string, dup bool) {
		t.Helper()
		step()
		arrival++
		in.Deliver(Delivery{Topic: "zigbee2mqtt/kitchen", Payload: []byte(payload), Duplicate: dup, Arrival: arrival}, a.ack)
		a.wait(t, 1)
	}
	alarm := `{"battery":90,"battery_low":false,"smoke":true,"test":false,"linkquality":96}`
	clear := `{"battery":90,"battery_low":false,"smoke":false,"test":false,"linkquality":97}`

	deliver(in, alarm, false)
	deliver(in, clear, false)
	if n := v.smokeEvents("smoke-z1"); n != 1 {
		t.Fatalf("%d smoke onsets after an alarm and its clear, want 1", n)
	}
	deliver(in, alarm, true) // the broker's redelivery of the committed alarm
	if n := v.smokeEvents("smoke-z1"); n != 1 {
		t.Fatalf("the redelivered alarm was taken again: %d smoke onsets", n)
	}

	// The hub restarts on the same store; the broker redelivers the alarm
	// again (its PUBACK never left).
	in.Close(context.Background())
	in = newVendorIngest(t, v, now)
	deliver(in, alarm, true)
	if n := v.smokeEvents("smoke-z1"); n != 1 {
		t.Fatalf("after a restart the redelivered alarm was taken again: %d smoke onsets", n)
	}
	if st := v.states["smoke-z1"]; st.Active != 0 {
		t.Errorf("the detector's stored state after the redeliveries: %+v, want clear", st)
	}
	// The same bytes, not marked as a redelivery: a new alarm.
	deliver(in, alarm, false)
	if n := v.smokeEvents("smoke-z1"); n != 2 {
		t.Fatalf("a new alarm with the bytes of an old one: %d smoke onsets, want 2", n)
	}
}

// TestVendorOlderStateKeepsTheLatestBattery: handlers run concurrently, so
// a device's message can reach the commit path after a later one was
// committed; it counts for its readings, but the battery on the device's
// page stays the later message's (it went back to the older value, and
// cmd/hub's TestZigbeeBridgeE2E waited in vain for its barrier reading).
func TestVendorOlderStateKeepsTheLatestBattery(t *testing.T) {
	clock := time.UnixMilli(1_763_800_000_000)
	v := &vendorFake{fakeStore: &fakeStore{alerts: alertstest.New()}}
	in := newVendorIngest(t, v, func() time.Time { return clock })
	a := newAcker()
	deliver := func(battery, lq int, arrival uint64, dup bool) {
		t.Helper()
		payload := fmt.Sprintf(`{"battery":%d,"battery_low":false,"smoke":true,"test":false,"linkquality":%d}`, battery, lq)
		in.Deliver(Delivery{Topic: "zigbee2mqtt/kitchen", Payload: []byte(payload), Duplicate: dup, Arrival: arrival}, a.ack)
		a.wait(t, 1)
	}
	lastBattery := func() float64 {
		v.mu.Lock()
		defer v.mu.Unlock()
		b := -1.0
		for _, h := range v.health {
			if h.ID == "smoke-z1" && h.Battery != nil {
				b = *h.Battery
			}
		}
		return b
	}
	deliver(90, 100, 1, false)
	deliver(61, 120, 3, false) // overtook the message that arrived before it
	deliver(90, 110, 2, false)
	if b := lastBattery(); b != 61 {
		t.Fatalf("battery %v after an older message came late, want 61", b)
	}
	deliver(90, 100, 4, true) // a redelivery of the first, committed message
	if b := lastBattery(); b != 61 {
		t.Fatalf("battery %v after a redelivered older message, want 61", b)
	}
	if n := v.smokeEvents("smoke-z1"); n != 1 {
		t.Errorf("%d smoke onsets, want 1", n)
	}
	if got := testutil.ToFloat64(in.cfg.Metrics.vendorLate); got != 1 {
		t.Errorf("shouwang_ingest_vendor_late_states_total = %v, want the one state that came late", got)
	}
}

// TestVendorReadingOnTheTelemetryLaneDoesNotHideAnAlarm: a Shelly Gas
// publishes its alarm (sensor/gas, on the alarm lane) and its reading
// (sensor/concentration, on the telemetry lane, another connection) at
// once. The lanes are handled apart, so the reading, numbered after the
// alarm, may be committed first; it states no condition, so the alarm is
// not an older state and is raised (it was dropped as one).
func TestVendorReadingOnTheTelemetryLaneDoesNotHideAnAlarm(t *testing.T) {
	clock := time.UnixMilli(1_763_800_000_000)
	v := &vendorFake{fakeStore: &fakeStore{alerts: alertstest.New()}}
	in := newVendorIngest(t, v, func() time.Time { return clock })
	a := newAcker()
	deliver := func(topic, payload string, arrival uint64) {
		t.Helper()
		in.Deliver(Delivery{Topic: "shellies/shellygas-1/" + topic, Payload: []byte(payload), Arrival: arrival}, a.ack)
		a.wait(t, 1)
	}
	deliver("sensor/gas", "none", 1)
	deliver("sensor/concentration", "1200", 3) // overtook the alarm on its own lane
	deliver("sensor/gas", "mild", 2)
	n := 0
	for _, al := range v.alerts.Alerts() {
		if al.DeviceID == "shg-1" && al.Kind.Family() == alerts.KindGasLow.Family() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d gas alerts after the Shelly's alarm, want 1", n)
	}
	if got := testutil.ToFloat64(in.cfg.Metrics.vendorLate); got != 0 {
		t.Errorf("shouwang_ingest_vendor_late_states_total = %v, want 0 (a reading states nothing)", got)
	}
}
