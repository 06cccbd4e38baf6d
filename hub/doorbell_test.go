package hub

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// nextTimerSpy tells when the timer runner has read its next due time.
type nextTimerSpy struct {
	alertStore
	read chan struct{}
}

func (s nextTimerSpy) NextTimer(ctx context.Context) (time.Time, bool, error) {
	due, ok, err := s.alertStore.NextTimer(ctx)
	select {
	case s.read <- struct{}{}:
	default:
	}
	return due, ok, err
}

// TestFeedDoorbellWakesTheTimerRunner: with several instances, a timer
// armed by another instance's commit is this instance's to fire if the
// other dies. The runner sleeps until the next due time it knows (at most
// a minute); the doorbell of another instance's commit (FeedRang) makes it
// look again, so the timer fires when due, not up to a minute later (the
// failover bench measured 54 s before).
func TestFeedDoorbellWakesTheTimerRunner(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	rules, err := alerts.LoadRules(strings.NewReader(`{"escalation": {"critical": {"t1": "5m", "t2": "10m"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerts.NewService(alerts.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := LoadIndex(context.Background(), newMemSource())
	if err != nil {
		t.Fatal(err)
	}
	mem := alertstest.New()
	mem.SetClock(clock.Now)
	spy := nextTimerSpy{alertStore{mem, &fakeStore{alerts: mem}}, make(chan struct{}, 1)}
	a, err := NewAlerting(context.Background(), AlertingConfig{
		Service: svc, Rules: rules, Store: spy, Index: idx, Metrics: NewMetrics(), Now: clock.Now,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.runTimers(ctx) }()
	defer func() { cancel(); <-done }()
	<-spy.read // asleep, or about to be, until a minute from now: nothing is due

	// Another instance's commit: a press, its escalation due in 5 min;
	// this instance's runner is not told by a commit of its own.
	r := &failingRunner{a: a, mem: mem, clock: clock}
	if err := mem.InTx(context.Background(), func(tx alerts.Tx) error { _, err := r.press(tx); return err }); err != nil {
		t.Fatal(err)
	}
	due, ok, _ := mem.NextTimer(context.Background())
	if !ok {
		t.Fatal("the press set no timer")
	}
	// That instance dies; the escalation falls due; the doorbell of the
	// commit had rung here.
	clock.Set(due.Add(time.Second))
	a.FeedRang()
	testenv.Eventually(t, 20*time.Second, "the escalation fired by this instance", func() bool {
		for _, al := range mem.Alerts() {
			if al.EscalationLevel >= 1 {
				return true
			}
		}
		return false
	})
}
