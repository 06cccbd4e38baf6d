package hub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
)

// alertStore is the in-memory alert store as alerting uses it.
type alertStore struct {
	*alertstest.Store
	fake *fakeStore
}

func (s alertStore) Tx(ctx context.Context, fn func(IngestTx) error) error { return s.fake.Tx(ctx, fn) }

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func newTestAlerting(t *testing.T, src *memSource, rulesJSON string, clock *testClock) (*Alerting, *alertstest.Store) {
	t.Helper()
	rules, err := alerts.LoadRules(strings.NewReader(rulesJSON))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerts.NewService(alerts.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := LoadIndex(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	mem := alertstest.New()
	mem.SetClock(clock.Now)
	a, err := NewAlerting(context.Background(), AlertingConfig{
		Service: svc, Rules: rules, Store: alertStore{mem, &fakeStore{alerts: mem}}, Index: idx,
		Metrics: NewMetrics(), Now: clock.Now,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return a, mem
}

func offlineAlerts(mem *alertstest.Store) map[string]*alerts.Alert {
	out := map[string]*alerts.Alert{}
	for _, a := range mem.Alerts() {
		if a.Kind == alerts.KindOffline {
			out[a.DeviceID] = a
		}
	}
	return out
}

// TestSupervisionByIndexSlot: devices heard from before the start are
// watched from it, others from their first message; a silent device's
// offline alert carries its full household record, read from the store;
// a removed device is forgotten and one registered again is watched again.
func TestSupervisionByIndexSlot(t *testing.T) {
	heard := household("sos-1", devices.KindSOSButton, "阳光社区", "3号楼")
	heard.Health.LastSeen = indexT0.Add(-time.Hour)
	src := newMemSource(heard,
		household("gas-1", devices.KindGas, "阳光社区", "3号楼"),
		household("air-1", devices.KindAir, "阳光社区", "3号楼"))
	clock := &testClock{t: indexT0}
	a, mem := newTestAlerting(t, src, `{"supervision": {"sos_button": {"heartbeat": "30s", "reporting": "60s"}, "gas": {"heartbeat": "10s", "reporting": "20s"}}}`, clock)
	s := a.super
	if n := s.sv.Len(); n != 1 {
		t.Fatalf("watching %d devices at start, want 1 (only sos-1 was heard from)", n)
	}
	s.seen("gas-1", indexT0.Add(5*time.Second))
	s.seen("air-1", indexT0.Add(5*time.Second))
	s.seen("stranger", indexT0.Add(5*time.Second))
	if n := s.sv.Len(); n != 2 {
		t.Fatalf("watching %d devices, want 2 (air is not supervised)", n)
	}
	select {
	case <-s.kick:
	default:
		t.Error("a device newly watched did not wake the supervision loop")
	}

	ctx := context.Background()
	s.sweep(ctx, indexT0.Add(24*time.Second))
	if got := offlineAlerts(mem); len(got) != 0 {
		t.Fatalf("offline before the reporting time: %v", got)
	}
	clock.Set(indexT0.Add(25 * time.Second))
	s.sweep(ctx, clock.Now())
	got := offlineAlerts(mem)
	gas, ok := got["gas-1"]
	if len(got) != 1 || !ok {
		t.Fatalf("offline alerts = %v, want gas-1's", got)
	}
	if gas.Device.Resident.Name != "王秀英" || len(gas.Device.Contacts) != 1 || gas.Device.Location.Household != "301" {
		t.Errorf("the offline alert's snapshot lacks the household: %+v", gas.Device)
	}

	// gas-1 speaks again: its alert is marked cleared.
	s.seen("gas-1", indexT0.Add(30*time.Second))
	s.sweep(ctx, indexT0.Add(30*time.Second))
	if a := offlineAlerts(mem)["gas-1"]; a == nil || !a.Cleared {
		t.Fatalf("gas-1 came back but its alert is %+v", a)
	}

	// sos-1 is removed: forgotten, and never flagged.
	src.del("sos-1")
	if err := a.cfg.Index.Refresh(ctx, src, "sos-1"); err != nil {
		t.Fatal(err)
	}
	a.DeviceChanged("sos-1")
	if n := s.sv.Len(); n != 1 {
		t.Fatalf("watching %d after sos-1 was removed, want 1", n)
	}
	s.sweep(ctx, indexT0.Add(2*time.Minute))
	if _, ok := offlineAlerts(mem)["sos-1"]; ok {
		t.Fatal("a removed device was flagged offline")
	}
	// Registered again (heard from before): watched again from now.
	src.set(heard)
	if err := a.cfg.Index.Refresh(ctx, src, "sos-1"); err != nil {
		t.Fatal(err)
	}
	clock.Set(indexT0.Add(3 * time.Minute))
	a.DeviceChanged("sos-1")
	s.sweep(ctx, indexT0.Add(3*time.Minute+59*time.Second))
	if _, ok := offlineAlerts(mem)["sos-1"]; ok {
		t.Fatal("sos-1 flagged before its reporting time")
	}
	s.sweep(ctx, indexT0.Add(4*time.Minute))
	if _, ok := offlineAlerts(mem)["sos-1"]; !ok {
		t.Fatal("sos-1 registered again was not flagged when silent")
	}
}

// TestSupervisionBatchFails: devices falling silent together share a
// transaction; when it fails, each is tried alone, so every one still gets
// its alert.
func TestSupervisionBatchFails(t *testing.T) {
	src := newMemSource()
	for _, id := range []string{"gas-1", "gas-2", "gas-3"} {
		src.set(household(id, devices.KindGas, "阳光社区", "3号楼"))
	}
	clock := &testClock{t: indexT0}
	a, mem := newTestAlerting(t, src, `{"supervision": {"gas": {"heartbeat": "10s", "reporting": "20s"}}}`, clock)
	for _, id := range []string{"gas-1", "gas-2", "gas-3"} {
		a.Seen(id, indexT0)
	}
	creates := 0
	mem.SetFail(func(op string) error {
		if op == "CreateAlert" {
			if creates++; creates == 2 {
				return errors.New("disk hiccup")
			}
		}
		return nil
	})
	clock.Set(indexT0.Add(20 * time.Second))
	a.super.sweep(context.Background(), clock.Now())
	if got := offlineAlerts(mem); len(got) != 3 {
		t.Fatalf("%d offline alerts after a failed batch, want 3: %v", len(got), got)
	}
	if creates != 2+3 {
		t.Errorf("%d alerts created, want 2 in the failed batch and 3 one by one", creates)
	}
}
