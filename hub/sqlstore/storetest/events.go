package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

func event(id string, seq uint64, ts time.Time, typ devices.EventType) *devices.Message {
	return &devices.Message{
		DeviceID: id, Kind: devices.KindSOSButton, Channel: devices.ChannelEvent,
		Seq: seq, TS: ts, Received: ts.Add(50 * time.Millisecond),
		Event: &devices.Event{Type: typ},
	}
}

func testRecordEventsDeduplicates(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

	gas := event("gas-1", 7, t0.Add(time.Second), devices.EventGas)
	gas.Kind, gas.Event.LEL, gas.TSFlag = devices.KindGas, ptr(23.5), devices.TSFuture
	test := event("sos-1", 2, t0.Add(2*time.Second), devices.EventTest)
	test.Event.Test = true

	first := []*devices.Message{
		event("sos-1", 1, t0, devices.EventSOS),
		gas,
		test,
		event("sos-1", 1, t0, devices.EventSOS), // repeat inside one batch
	}
	inserted, err := s.RecordEvents(ctx(t), first)
	if err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	if want := []bool{true, true, true, false}; !slices.Equal(inserted, want) {
		t.Errorf("inserted = %v, want %v", inserted, want)
	}

	second := []*devices.Message{
		event("sos-1", 1, t0, devices.EventSOS),                // redelivery: same (device, seq, ts)
		event("sos-1", 1, t0.Add(time.Hour), devices.EventSOS), // counter restarted: same seq, new ts
		event("sos-2", 1, t0, devices.EventSOS),                // another device, same seq and ts
	}
	inserted, err = s.RecordEvents(ctx(t), second)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true}; !slices.Equal(inserted, want) {
		t.Errorf("inserted = %v, want %v", inserted, want)
	}

	list, err := s.ListEvents(ctx(t), "sos-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || !list[0].TS.Equal(t0.Add(time.Hour)) || list[1].Type != devices.EventTest || !list[1].Test || list[2].Seq != 1 {
		t.Fatalf("ListEvents(sos-1) = %+v", list)
	}
	if !list[2].Received.Equal(t0.Add(50*time.Millisecond)) || list[2].TS.Location() != time.UTC {
		t.Errorf("received = %v", list[2].Received)
	}

	g, err := s.ListEvents(ctx(t), "gas-1", 10)
	if err != nil || len(g) != 1 {
		t.Fatalf("ListEvents(gas-1) = %+v, %v", g, err)
	}
	if e := g[0]; e.LEL == nil || *e.LEL != 23.5 || e.TSFlag != devices.TSFuture || e.Type != devices.EventGas ||
		!e.Time().Equal(e.Received) {
		t.Errorf("gas event = %+v", e)
	}
	if all, err := s.ListEvents(ctx(t), "", 2); err != nil || len(all) != 2 {
		t.Errorf("ListEvents(all, 2) = %d, %v", len(all), err)
	}

	// Not an event: rejected, nothing stored.
	tel := event("sos-1", 99, t0, devices.EventSOS)
	tel.Channel, tel.Event = devices.ChannelTelemetry, nil
	_, err = s.RecordEvents(ctx(t), []*devices.Message{event("sos-1", 98, t0, devices.EventSOS), tel})
	wantCode(t, err, shouwang.EINVALID)
	if list, _ := s.ListEvents(ctx(t), "sos-1", 0); len(list) != 3 {
		t.Errorf("a rejected batch stored events: %d", len(list))
	}
}
