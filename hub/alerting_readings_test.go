package hub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
)

// countingStore counts the transactions Tx runs.
type countingStore struct {
	alertStore
	txs atomic.Int64
}

func (s *countingStore) Tx(ctx context.Context, fn func(IngestTx) error) error {
	s.txs.Add(1)
	return s.alertStore.Tx(ctx, fn)
}

// TestApplyReadingsShortTransactions: a telemetry batch's readings that
// open alerts are applied in transactions of about readingsTxBudget, each
// device's readings together and in order — with a budget of nothing,
// one device a transaction — and the result is the same as in one: each
// device's first reading opens its alert, the rest are returned to fold.
// (In one transaction an alarm storm's batch held the store, and every SOS
// behind it, for up to a second: issue 15.)
func TestApplyReadingsShortTransactions(t *testing.T) {
	for _, budget := range []time.Duration{time.Hour, 0} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			old := readingsTxBudget
			readingsTxBudget = budget
			t.Cleanup(func() { readingsTxBudget = old })

			const n = 6
			var ds []*devices.Device
			for i := range n {
				ds = append(ds, &devices.Device{ID: fmt.Sprintf("gas-%d", i), Kind: devices.KindGas,
					Location: devices.Location{Community: "阳光社区", Building: fmt.Sprintf("%d", i)}})
			}
			now := time.UnixMilli(1_763_800_000_000)
			a, fake, store := newReadingsAlerting(t, now, ds...)
			// Three readings over the low level from each device, interleaved
			// as a batch brings them.
			var batch []*devices.Message
			for seq := 1; seq <= 3; seq++ {
				for _, d := range ds {
					batch = append(batch, &devices.Message{DeviceID: d.ID, Kind: d.Kind, Channel: devices.ChannelTelemetry,
						Seq: uint64(seq), TS: now.Add(time.Duration(seq) * time.Millisecond), Received: now,
						Telemetry: &devices.Telemetry{Fields: map[string]float64{"lel": float64(10 + seq)}}})
				}
			}
			before := store.txs.Load()
			folded, readings, err := a.ApplyReadings(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			txs := store.txs.Load() - before
			if want := map[time.Duration]int64{time.Hour: 1, 0: n}[budget]; txs != want {
				t.Errorf("%d transactions, want %d", txs, want)
			}
			list := fake.alerts.Alerts()
			if len(list) != n {
				t.Fatalf("%d alerts, want one per device (%d)", len(list), n)
			}
			for _, al := range list {
				if al.Kind != alerts.KindGasLow || al.Occurrences != 1 {
					t.Errorf("alert of %s: %s with %d occurrences; want gas_low opened by its first reading", al.DeviceID, al.Kind, al.Occurrences)
				}
			}
			if len(folded) != 2*n || len(readings) != 2*n {
				t.Fatalf("%d readings returned to fold (%d), want %d", len(folded), len(readings), 2*n)
			}
			last := map[string]uint64{}
			for _, m := range folded {
				if m.Seq <= last[m.DeviceID] || m.Seq == 1 {
					t.Errorf("folded %s seq %d after %d: each device's readings in order, its first applied", m.DeviceID, m.Seq, last[m.DeviceID])
				}
				last[m.DeviceID] = m.Seq
			}
		})
	}
}

// newReadingsAlerting is Alerting on the in-memory store, with ds
// registered.
func newReadingsAlerting(t *testing.T, now time.Time, ds ...*devices.Device) (*Alerting, *fakeStore, *countingStore) {
	t.Helper()
	idx, err := LoadIndex(context.Background(), newMemSource(ds...))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeStore{alerts: alertstest.New()}
	store := &countingStore{alertStore: alertStore{fake.alerts, fake}}
	a, err := NewAlerting(context.Background(), AlertingConfig{Service: svc, Rules: svc.Rules(), Store: store, Index: idx,
		Metrics: NewMetrics(), Now: func() time.Time { return now }}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return a, fake, store
}

// TestApplyReadingsByBuilding: a batch's devices are applied building by
// building, each building's in the order they came, so one transaction
// holds a building's alarms together (its incident one change).
func TestApplyReadingsByBuilding(t *testing.T) {
	var ds []*devices.Device
	for i, b := range []string{"2", "1", "2", "", "1", "2"} {
		ds = append(ds, &devices.Device{ID: fmt.Sprintf("gas-%d", i), Kind: devices.KindGas,
			Location: devices.Location{Community: "阳光社区", Building: b}})
	}
	a, _, _ := newReadingsAlerting(t, time.UnixMilli(1_763_800_000_000), ds...)
	var groups [][]*devices.Message
	for _, d := range ds {
		groups = append(groups, []*devices.Message{{DeviceID: d.ID}})
	}
	var got []string
	for _, g := range a.byBuilding(groups) {
		got = append(got, g[0].DeviceID)
	}
	if want := "gas-3 gas-1 gas-4 gas-0 gas-2 gas-5"; fmt.Sprint(got) != "["+want+"]" {
		t.Errorf("applied in the order %v, want [%s]: no building first, then building 1, then 2, each as they came", got, want)
	}
}
