package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/influx"
)

// fakeSpool and fakeStore keep what ingest commits in memory. They can be
// told to fail, to show that nothing is acknowledged before a commit holds.
type fakeSpool struct {
	mu      sync.Mutex
	lines   []string
	windows map[string]devices.SeqWindow
	fail    atomic.Int32 // fail this many more appends
}

func (s *fakeSpool) Append(ctx context.Context, lines [][]byte, w map[string]devices.SeqWindow) error {
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		return errors.New("disk full")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lines {
		s.lines = append(s.lines, string(l))
	}
	if s.windows == nil {
		s.windows = map[string]devices.SeqWindow{}
	}
	for id, win := range w {
		s.windows[id] = win
	}
	return nil
}

func (s *fakeSpool) SeqWindows(context.Context) (map[string]devices.SeqWindow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]devices.SeqWindow{}
	for k, v := range s.windows {
		out[k] = v
	}
	return out, nil
}

func (s *fakeSpool) has(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func (s *fakeSpool) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

type fakeStore struct {
	alerts *alertstest.Store
	mu     sync.Mutex
	events map[string]bool
	stored []*devices.Message // the events recorded, in commit order
	health []devices.HealthUpdate
	unreg  []string
}

// fakeTx is the fake's transaction: alerts in the in-memory alert store,
// events and health in fakeStore.
type fakeTx struct {
	alerts.Tx
	s *fakeStore
}

func (t fakeTx) RecordEvents(ctx context.Context, msgs []*devices.Message) ([]bool, error) {
	return t.s.RecordEvents(ctx, msgs)
}

func (t fakeTx) UpdateHealth(ctx context.Context, us []devices.HealthUpdate) error {
	return t.s.UpdateHealth(ctx, us)
}

func (s *fakeStore) Tx(ctx context.Context, fn func(IngestTx) error) error {
	if s.alerts == nil {
		s.alerts = alertstest.New()
	}
	return s.alerts.InTx(ctx, func(tx alerts.Tx) error { return fn(fakeTx{tx, s}) })
}

func (s *fakeStore) RecordEvents(ctx context.Context, msgs []*devices.Message) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.events = map[string]bool{}
	}
	out := make([]bool, len(msgs))
	for i, m := range msgs {
		k := fmt.Sprintf("%s/%d/%d", m.DeviceID, m.Seq, m.TS.UnixMilli())
		out[i] = !s.events[k]
		if out[i] {
			s.stored = append(s.stored, m)
		}
		s.events[k] = true
	}
	return out, nil
}

// NewerCondition is the SQL store's (ConditionOrder): the type of the
// device's newest stored event of types newer than (ts, seq).
func (t fakeTx) NewerCondition(ctx context.Context, deviceID string, types []string, ts int64, seq uint64) (string, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	var best *devices.Message
	for _, m := range t.s.stored {
		mts := m.TS.UnixMilli()
		if m.DeviceID != deviceID || !slices.Contains(types, string(m.Event.Type)) || mts < ts || mts == ts && m.Seq <= seq {
			continue
		}
		if best == nil || mts > best.TS.UnixMilli() || mts == best.TS.UnixMilli() && m.Seq > best.Seq {
			best = m
		}
	}
	if best == nil {
		return "", nil
	}
	return string(best.Event.Type), nil
}

func (s *fakeStore) UpdateHealth(ctx context.Context, us []devices.HealthUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health = append(s.health, us...)
	return nil
}

func (s *fakeStore) RecordUnregistered(ctx context.Context, id, detail string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unreg = append(s.unreg, id)
	return nil
}

func newTestIngest(t *testing.T, spool *fakeSpool, store *fakeStore, opts ...func(*IngestConfig)) (*Ingest, *Metrics) {
	t.Helper()
	idx, err := LoadIndex(context.Background(), newMemSource(
		&devices.Device{ID: "gas-1", Kind: devices.KindGas, Location: devices.Location{Community: "阳光社区"}},
		&devices.Device{ID: "sos-1", Kind: devices.KindSOSButton, Location: devices.Location{Community: "阳光社区"}},
	))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	now := func() time.Time { return time.UnixMilli(1_763_800_000_000) }
	svc, err := alerts.NewService(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if store.alerts == nil {
		store.alerts = alertstest.New()
	}
	al, err := NewAlerting(context.Background(), AlertingConfig{
		Service: svc, Rules: svc.Rules(), Store: alertStore{store.alerts, store}, Index: idx, Metrics: m, Now: now,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := IngestConfig{
		Index: idx, Store: store, Spool: spool, Format: influx.Format{}, Metrics: m, Alerting: al, Now: now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	in, err := NewIngest(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	in.Run()
	t.Cleanup(func() { in.Close(context.Background()) })
	return in, m
}

// acker counts acknowledgements and lets a test wait for them.
type acker struct {
	n  atomic.Int64
	ch chan struct{}
}

func newAcker() *acker { return &acker{ch: make(chan struct{}, 100000)} }
func (a *acker) ack()  { a.n.Add(1); a.ch <- struct{}{} }
func (a *acker) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-a.ch:
		case <-timeout:
			t.Fatalf("got %d of %d acknowledgements", i, n)
		}
	}
}

func telemetry(seq int) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"ts":%d,"lel":%d}`, seq, 1_763_800_000_000+seq, seq%50)
}

func TestIngestStoresOnceAndAcksAll(t *testing.T) {
	spool, store := &fakeSpool{}, &fakeStore{alerts: alertstest.New()}
	in, m := newTestIngest(t, spool, store)
	a := newAcker()
	deliver := func(from, to int) {
		var wg sync.WaitGroup
		for seq := from; seq <= to; seq++ {
			wg.Add(1)
			go func() { // all at once: arrival order is anybody's guess
				defer wg.Done()
				in.Handle("shouwang/v1/gas-1/telemetry", telemetry(seq), a.ack)
			}()
		}
		wg.Wait()
	}
	deliver(1, 500)
	a.wait(t, 500)
	if got := spool.count(); got != 500 {
		t.Fatalf("spool has %d lines after 500 distinct messages, want 500", got)
	}
	for seq := 1; seq <= 500; seq++ {
		if !spool.has(fmt.Sprintf("seq=%di", seq)) {
			t.Fatalf("seq %d lost", seq)
		}
	}
	// A crash before acknowledging makes the broker redeliver the recent
	// messages: none of them may be stored again.
	deliver(301, 500)
	in.Handle("shouwang/v1/sos-1/event", []byte(`{"seq":1,"ts":1763800000000,"type":"sos"}`), a.ack)
	in.Handle("shouwang/v1/sos-1/event", []byte(`{"seq":1,"ts":1763800000000,"type":"sos"}`), a.ack)
	a.wait(t, 202)
	if got := spool.count(); got != 500 {
		t.Fatalf("spool has %d lines after the redelivery, want 500", got)
	}
	if got := testutil.ToFloat64(m.duplicates.WithLabelValues("telemetry")); got != 200 {
		t.Errorf("telemetry duplicates = %v, want 200", got)
	}
	if got := testutil.ToFloat64(m.stored.WithLabelValues("event")); got != 1 {
		t.Errorf("events stored = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.duplicates.WithLabelValues("event")); got != 1 {
		t.Errorf("event duplicates = %v, want 1", got)
	}
	if w := spool.windows["gas-1"]; w.Max != 500 {
		t.Errorf("committed window max = %d, want 500", w.Max)
	}
}

func TestIngestRejectsAndCounts(t *testing.T) {
	spool, store := &fakeSpool{}, &fakeStore{alerts: alertstest.New()}
	in, m := newTestIngest(t, spool, store)
	a := newAcker()
	bad := []struct {
		topic, payload string
		reason         devices.Reason
	}{
		{"shouwang/v1/gas-1/telemetry", `{"seq":1,`, devices.ReasonMalformed},
		{"shouwang/v1/gas-1/telemetry", `{"seq":1,"ts":1,"lel":1e999}`, devices.ReasonOutOfRange},
		{"shouwang/v1/gas-1/telemetry", `{"seq":1,"ts":1,"lel":"x"}`, devices.ReasonBadType},
		{"shouwang/v1/gas-1/telemetry", `{"seq":1,"ts":1,"pad":"` + strings.Repeat("x", 5000) + `"}`, devices.ReasonOversized},
		{"shouwang/v1/stranger-9/telemetry", `{"seq":1,"ts":1}`, devices.ReasonUnregistered},
		{"shouwang/v2/gas-1/telemetry", `{}`, devices.ReasonBadTopic},
	}
	for _, b := range bad {
		in.Handle(b.topic, []byte(b.payload), a.ack)
	}
	in.Handle("shouwang/v1/gas-1/telemetry", telemetry(1), a.ack)
	a.wait(t, len(bad)+1)
	for _, b := range bad {
		if got := testutil.ToFloat64(m.rejected.WithLabelValues(string(b.reason))); got != 1 {
			t.Errorf("rejected{%s} = %v, want 1", b.reason, got)
		}
	}
	if spool.count() != 1 {
		t.Errorf("spool has %d lines, want only the good one", spool.count())
	}
	if len(store.unreg) != 1 || store.unreg[0] != "stranger-9" {
		t.Errorf("unregistered recorded = %v", store.unreg)
	}
}

func TestIngestRetriesFailedCommitBeforeAck(t *testing.T) {
	spool, store := &fakeSpool{}, &fakeStore{alerts: alertstest.New()}
	spool.fail.Store(2)
	in, m := newTestIngest(t, spool, store)
	a := newAcker()
	in.Handle("shouwang/v1/gas-1/telemetry", telemetry(1), a.ack)
	a.wait(t, 1)
	if spool.count() != 1 {
		t.Fatalf("acknowledged with %d lines in the spool", spool.count())
	}
	if got := testutil.ToFloat64(m.commitErrs.WithLabelValues("telemetry")); got != 2 {
		t.Errorf("commit errors = %v, want 2", got)
	}
}

func TestIngestCloseDrainsAndRefusesNew(t *testing.T) {
	spool, store := &fakeSpool{}, &fakeStore{alerts: alertstest.New()}
	in, _ := newTestIngest(t, spool, store)
	a := newAcker()
	for seq := 1; seq <= 100; seq++ {
		in.Handle("shouwang/v1/gas-1/telemetry", telemetry(seq), a.ack)
	}
	in.Close(context.Background())
	if got := a.n.Load(); got != 100 {
		t.Fatalf("acks after Close = %d, want 100 (queued work drained)", got)
	}
	if spool.count() != 100 {
		t.Fatalf("spool has %d, want 100", spool.count())
	}
	in.Handle("shouwang/v1/gas-1/telemetry", telemetry(101), a.ack)
	if got := a.n.Load(); got != 100 {
		t.Fatal("a message after Close was acknowledged; it must be left for redelivery")
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.health) == 0 || store.health[0].ID != "gas-1" {
		t.Errorf("health not flushed at close: %+v", store.health)
	}
}

// TestIngestLateConditionDoesNotUndoNewer: with several instances a
// device's alarm and its clear may be committed in either order (each
// instance receives both; the one whose insert wins acts). An alarm
// committed after its newer clear still opens its alert, cleared at once;
// a clear committed after a newer alarm leaves that alarm's alert
// uncleared. Both are acknowledged.
func TestIngestLateConditionDoesNotUndoNewer(t *testing.T) {
	store := &fakeStore{alerts: alertstest.New()}
	in, _ := newTestIngest(t, &fakeSpool{}, store, func(c *IngestConfig) { c.Shared = true })
	a := newAcker()
	event := func(seq int, typ string) {
		in.Handle("shouwang/v1/gas-1/event", fmt.Appendf(nil, `{"seq":%d,"ts":%d,"type":%q,"lel":40}`, seq, 1_763_800_000_000+seq, typ), a.ack)
		a.wait(t, 1)
	}
	gasAlert := func() *alerts.Alert {
		t.Helper()
		as, _, err := store.alerts.ListAlerts(context.Background(), alerts.Filter{DeviceID: "gas-1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 {
			t.Fatalf("%d alerts for gas-1, want one: %+v", len(as), as)
		}
		return as[0]
	}

	event(2, "gas_clear") // the clear, committed first by this instance
	event(1, "gas")       // the alarm before it, committed late
	if al := gasAlert(); !al.Cleared || al.Occurrences != 1 {
		t.Errorf("after a late alarm older than its clear: cleared %v, occurrences %d; want cleared, 1", al.Cleared, al.Occurrences)
	}

	event(4, "gas")       // a new alarm
	event(3, "gas_clear") // a clear older than it, committed late
	if al := gasAlert(); al.Cleared {
		t.Errorf("a late clear older than the alarm cleared its alert: %+v", al)
	}
}
