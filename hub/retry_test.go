package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// countingHandler counts the log records at or above a level.
type countingHandler struct {
	min slog.Level
	n   atomic.Int64
}

func (h *countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }
func (h *countingHandler) Handle(context.Context, slog.Record) error    { h.n.Add(1); return nil }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *countingHandler) WithGroup(string) slog.Handler                { return h }

var errDiskFull = errors.New("database or disk is full")

// TestCommitterReportsAFailureWhileRetrying: while a batch cannot be
// committed the committer says so (readiness reads it), logs at a bounded
// rate, acknowledges nothing, and clears the failure once a commit goes
// through.
func TestCommitterReportsAFailureWhileRetrying(t *testing.T) {
	var fail atomic.Bool
	var attempts atomic.Int64
	fail.Store(true)
	logs := &countingHandler{min: slog.LevelWarn}
	c := newCommitter("event", 10, 10, func(context.Context, []int) error {
		attempts.Add(1)
		if fail.Load() {
			return errDiskFull
		}
		return nil
	}, func(int, time.Duration, error) {}, slog.New(logs))
	go c.run(context.Background())
	defer func() { close(c.in); <-c.done }()
	var acked atomic.Bool
	c.in <- pending[int]{1, func() { acked.Store(true) }}

	testenv.Eventually(t, 10*time.Second, "a few failed attempts", func() bool { return attempts.Load() >= 4 })
	f, failing := c.failure()
	if !failing || f.Path != "event" || f.Err != errDiskFull.Error() || f.Attempts < 3 || f.Since.IsZero() {
		t.Fatalf("failure() = %+v, %v; want the event path failing with the disk error", f, failing)
	}
	if acked.Load() {
		t.Fatal("a message was acknowledged while its commit failed")
	}
	if n := logs.n.Load(); n != 1 {
		t.Errorf("%d log lines for %d failed attempts; want 1 (one per %s)", n, attempts.Load(), commitLogEvery)
	}
	fail.Store(false)
	testenv.Eventually(t, 10*time.Second, "the acknowledgement", acked.Load)
	if _, failing := c.failure(); failing {
		t.Error("still failing after a commit went through")
	}
}

// TestStoreGateLetsEventsGoFirst: a telemetry write to the store waits
// while an event commit waits or runs, and goes once it is done.
func TestStoreGateLetsEventsGoFirst(t *testing.T) {
	g := newStoreGate()
	ran := make(chan struct{})
	if err := g.background(context.Background(), func() error { return nil }); err != nil {
		t.Fatalf("background with no event commit: %v", err)
	}
	g.urgentStart()
	g.urgentStart() // two event commits at once
	go g.background(context.Background(), func() error { close(ran); return nil })
	g.urgentDone()
	select {
	case <-ran:
		t.Fatal("a telemetry write ran while an event commit was in progress")
	case <-time.After(50 * time.Millisecond): // a window for what must not happen
	}
	g.urgentDone()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the telemetry write did not run after the event commits")
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.urgentStart()
	cancel()
	if err := g.background(ctx, func() error { t.Error("ran with ctx done"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("background with ctx done: %v", err)
	}
	g.urgentDone()
}

// healthStore records the health flushes' transactions, failing while told.
type healthStore struct {
	fakeStore
	fail   atomic.Bool
	mu     sync.Mutex
	chunks []int
	calls  atomic.Int64
}

func (s *healthStore) UpdateHealth(_ context.Context, us []devices.HealthUpdate) error {
	s.calls.Add(1)
	if s.fail.Load() {
		return errDiskFull
	}
	s.mu.Lock()
	s.chunks = append(s.chunks, len(us))
	s.mu.Unlock()
	return nil
}

// TestHealthFlushIsChunkedAndBacksOff: the flush writes healthFlushChunk
// devices to a transaction (so an event commit waits for one chunk at
// most), keeps what failed for the next flush, waits longer after each
// failure, and logs at a bounded rate.
func TestHealthFlushIsChunkedAndBacksOff(t *testing.T) {
	st := &healthStore{}
	logs := &countingHandler{min: slog.LevelWarn}
	in := &Ingest{cfg: IngestConfig{Store: st, HealthFlushEvery: 20 * time.Millisecond}, health: newHealthTracker(),
		gate: newStoreGate(), logger: slog.New(logs), limited: newLimitedLogger(slog.New(logs), 10*time.Second, time.Now)}
	note := func(n int) {
		for i := range n {
			in.health.seen(&devices.Message{DeviceID: fmt.Sprintf("d%d-%03d", n, i), Received: time.Now()})
		}
	}
	note(300)
	if !in.flushHealth(context.Background()) {
		t.Fatal("flush failed")
	}
	st.mu.Lock()
	chunks := st.chunks
	st.mu.Unlock()
	if len(chunks) != 3 || chunks[0] != healthFlushChunk || chunks[0]+chunks[1]+chunks[2] != 300 {
		t.Errorf("chunks %v; want 300 devices in chunks of at most %d", chunks, healthFlushChunk)
	}

	st.fail.Store(true)
	note(10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.flushHealthEvery(ctx) }()
	time.Sleep(700 * time.Millisecond) // the window the rate is measured over, not a wait for an event
	cancel()
	<-done
	// Every 20 ms without back-off would be ~35 attempts; doubling from
	// 20 ms gives 20+40+80+160+320 ms: 5 in 700 ms.
	if n := st.calls.Load() - 3; n < 2 || n > 6 {
		t.Errorf("%d failed flushes in 700 ms; want the back-off's 4–5", n)
	}
	if n := logs.n.Load(); n != 1 {
		t.Errorf("%d log lines; want 1", n)
	}
	if n := len(in.health.take()); n != 10 {
		t.Errorf("%d updates kept after the failed flushes; want 10", n)
	}
}

// failingRunner is an alerting runner over a store whose every
// transaction fails, once something is due.
type failingRunner struct {
	a     *Alerting
	mem   *alertstest.Store
	clock *testClock
	logs  *countingHandler
}

func newFailingRunner(t *testing.T) *failingRunner {
	clock := &testClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	a, mem := newTestAlerting(t, newMemSource(), "{}", clock)
	logs := &countingHandler{min: slog.LevelWarn}
	a.logger = slog.New(logs)
	return &failingRunner{a: a, mem: mem, clock: clock, logs: logs}
}

// press opens a critical alert, with its escalation timers, in tx.
func (r *failingRunner) press(tx alerts.Tx) (*alerts.Alert, error) {
	now := r.clock.Now()
	m := &devices.Message{DeviceID: "sos-1", Kind: devices.KindSOSButton, Channel: devices.ChannelEvent,
		Seq: 1, TS: now, Received: now, Event: &devices.Event{Type: devices.EventSOS}}
	res, err := r.a.svc.HandleMessage(context.Background(), tx, &devices.Device{ID: "sos-1", Kind: devices.KindSOSButton}, m)
	if err == nil && len(res.Changed) == 0 {
		err = errors.New("the press opened no alert")
	}
	if err != nil {
		return nil, err
	}
	return res.Changed[0], nil
}

// backsOff runs run with every transaction failing for 1.5 s and checks
// that it made two rounds of attempts on the due items (at once, then
// after retryFirst, 1 s), not a loop, and logged one line.
func (r *failingRunner) backsOff(t *testing.T, what string, due int, run func(context.Context)) {
	t.Helper()
	var attempts atomic.Int64
	r.mem.SetFail(func(string) error { attempts.Add(1); return errDiskFull })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run(ctx) }()
	time.Sleep(1500 * time.Millisecond) // the window the rate is measured over, not a wait for an event
	cancel()
	<-done
	if rounds := float64(attempts.Load()) / float64(due); rounds < 1 || rounds > 3 {
		t.Errorf("%.1f rounds of attempts on the %d due %s in 1.5 s; want 2 (back-off from %s)", rounds, due, what, retryFirst)
	}
	if n := r.logs.n.Load(); n != 1 {
		t.Errorf("%d log lines; want 1", n)
	}
}

// TestTimerRunnerBacksOffWhenTheStoreFails: a due timer the store cannot
// fire (a full disk) is tried again after a growing pause, not at once in
// a loop (which logged 2,000 lines a second), and the log stays short.
func TestTimerRunnerBacksOffWhenTheStoreFails(t *testing.T) {
	r := newFailingRunner(t)
	if err := r.mem.InTx(context.Background(), func(tx alerts.Tx) error { _, err := r.press(tx); return err }); err != nil {
		t.Fatal(err)
	}
	// An hour later its timers are due.
	if due, ok, _ := r.mem.NextTimer(context.Background()); !ok {
		t.Fatal("the press set no timer")
	} else {
		r.clock.Set(due.Add(time.Hour))
	}
	due, err := r.mem.DueTimers(context.Background(), r.clock.Now(), 100)
	if err != nil || len(due) == 0 {
		t.Fatalf("due timers: %v, %v", due, err)
	}
	r.backsOff(t, "timers", len(due), r.a.runTimers)
}

// TestNotifierBacksOffWhenTheStoreFails: a due notification whose attempt
// the store cannot record (a full disk) is tried again after a growing
// pause, not at once in a loop, and the log stays short.
func TestNotifierBacksOffWhenTheStoreFails(t *testing.T) {
	r := newFailingRunner(t)
	err := r.mem.InTx(context.Background(), func(tx alerts.Tx) error {
		a, err := r.press(tx)
		if err != nil {
			return err
		}
		return tx.EnqueueNotification(context.Background(), &alerts.Notification{AlertID: a.ID, Level: 1,
			NextAttempt: r.clock.Now(), Party: "duty", Channel: "sms"})
	})
	if err != nil {
		t.Fatal(err)
	}
	due, err := r.mem.DueNotifications(context.Background(), r.clock.Now(), 100)
	if err != nil || len(due) == 0 {
		t.Fatalf("due notifications: %v, %v", due, err)
	}
	r.backsOff(t, "notifications", len(due), func(ctx context.Context) { r.a.runNotifier(ctx, Lease{}) })
}
