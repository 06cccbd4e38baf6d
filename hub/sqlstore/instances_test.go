package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// twoInstances opens one PostgreSQL database twice, as two hub instances.
func twoInstances(t *testing.T) (a, b *sqlstore.Store) {
	t.Helper()
	pg := testenv.Postgres(t)
	dsn := pg.Database(t, "")
	var err error
	if a, err = sqlstore.Open(dsn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if b, err = sqlstore.Open(dsn, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	a.SetInstance("a")
	b.SetInstance("b")
	return a, b
}

// TestLeases: one holder at a time; a renewal keeps the epoch; a lapsed
// lease passes to another holder with a higher epoch, and the old holder's
// fencing check then fails; a release hands it over at once; a clean stop
// gives up all of an instance's leases.
func TestLeases(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	la, ok, err := a.AcquireLease(ctx, "supervision", "a", 300*time.Millisecond)
	if err != nil || !ok || la.Epoch != 1 {
		t.Fatalf("a acquires: %+v %v %v", la, ok, err)
	}
	if _, ok, err := b.AcquireLease(ctx, "supervision", "b", time.Second); err != nil || ok {
		t.Fatalf("b acquired a held lease: %v %v", ok, err)
	}
	if again, ok, err := a.AcquireLease(ctx, "supervision", "a", 300*time.Millisecond); err != nil || !ok || again.Epoch != 1 {
		t.Fatalf("a renews: %+v %v %v", again, ok, err)
	}
	fenced := func(s *sqlstore.Store, l sqlstore.Lease) bool {
		var held bool
		if err := s.Tx(ctx, func(tx *sqlstore.Tx) error {
			var err error
			held, err = tx.HoldsLease(ctx, l)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return held
	}
	if !fenced(a, la) {
		t.Fatal("a's fencing check fails while it holds the lease")
	}
	var lb sqlstore.Lease
	testenv.Eventually(t, 5*time.Second, "b takes the lapsed lease", func() bool {
		lb, ok, err = b.AcquireLease(ctx, "supervision", "b", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if lb.Epoch != 2 {
		t.Errorf("b's epoch %d, want 2", lb.Epoch)
	}
	if fenced(a, la) {
		t.Error("a's fencing check passes after the lease passed to b")
	}
	if !fenced(b, lb) {
		t.Error("b's fencing check fails")
	}
	if err := b.ReleaseLease(ctx, lb); err != nil {
		t.Fatal(err)
	}
	if l, ok, err := a.AcquireLease(ctx, "supervision", "a", time.Minute); err != nil || !ok || l.Epoch != 3 {
		t.Fatalf("a after b's release: %+v %v %v", l, ok, err)
	}
	if _, ok, _ := a.AcquireLease(ctx, "prune", "a", time.Minute); !ok {
		t.Fatal("a cannot take a free lease")
	}
	if err := a.Heartbeat(ctx, "a", "http://127.0.0.1:1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, "b", "http://127.0.0.1:2", time.Now()); err != nil {
		t.Fatal(err)
	}
	list, now, err := b.Instances(ctx)
	if err != nil || len(list) != 2 || now.IsZero() {
		t.Fatalf("instances %+v %v %v", list, now, err)
	}
	if list[0].Name != "a" || len(list[0].Leases) != 2 || list[0].URL != "http://127.0.0.1:1" || len(list[1].Leases) != 0 {
		t.Errorf("instances %+v", list)
	}
	if err := a.StopInstance(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if l, ok, err := b.AcquireLease(ctx, "supervision", "b", time.Minute); err != nil || !ok || l.Epoch != 4 {
		t.Fatalf("b after a stopped: %+v %v %v", l, ok, err)
	}
	list, _, _ = b.Instances(ctx)
	if !list[0].Stopped || len(list[0].Leases) != 0 {
		t.Errorf("a after its stop: %+v", list[0])
	}
}

// TestClaimsOnce: two instances claiming due notifications and timers at
// the same time each get different ones, and every one is claimed once.
func TestClaimsOnce(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	now := time.Now()
	const n = 60
	err := a.InTx(ctx, func(tx alerts.Tx) error {
		for i := range n {
			al := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew,
				DeviceID: "d", OpenedAt: now, LastOccurrence: now, UpdatedAt: now, Occurrences: 1}
			if err := tx.CreateAlert(ctx, al); err != nil {
				return err
			}
			if err := tx.EnqueueNotification(ctx, &alerts.Notification{AlertID: al.ID, Level: 2, NextAttempt: now.Add(-time.Duration(i) * time.Millisecond), Payload: []byte("{}")}); err != nil {
				return err
			}
			if err := tx.SetTimer(ctx, alerts.Timer{AlertID: al.ID, Kind: alerts.TimerEscalate1, Due: now.Add(-time.Second)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		notes   = map[int64]int{}
		timers  = map[int64]int{}
		wg      sync.WaitGroup
		failure error
	)
	for _, s := range []*sqlstore.Store{a, b, a, b} {
		wg.Go(func() {
			for {
				ns, err := s.ClaimNotifications(ctx, now, time.Hour, 7, sqlstore.NotificationClaim{Holder: "x"})
				if err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				var fired []alerts.Timer
				err = s.Tx(ctx, func(tx *sqlstore.Tx) error {
					fired = fired[:0]
					for range 3 {
						tm, ok, err := tx.ClaimTimer(ctx, now)
						if err != nil || !ok {
							return err
						}
						fired = append(fired, tm)
						if err := tx.DeleteTimers(ctx, tm.AlertID, tm.Kind); err != nil {
							return err
						}
					}
					return nil
				})
				mu.Lock()
				if err != nil {
					failure = err
				}
				for _, x := range ns {
					notes[x.ID]++
				}
				for _, tm := range fired {
					timers[tm.AlertID]++
				}
				mu.Unlock()
				if len(ns) == 0 && len(fired) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if len(notes) != n || len(timers) != n {
		t.Errorf("claimed %d notifications and %d timers, want %d each", len(notes), len(timers), n)
	}
	for id, c := range notes {
		if c != 1 {
			t.Errorf("notification %d claimed %d times", id, c)
		}
	}
	for id, c := range timers {
		if c != 1 {
			t.Errorf("timer of alert %d claimed %d times", id, c)
		}
	}
	// Claimed notifications are out of sight for the hold.
	if ns, err := a.DueNotifications(ctx, now.Add(time.Minute), 0); err != nil || len(ns) != 0 {
		t.Errorf("due after the claim: %d, %v", len(ns), err)
	}
}

// TestDoorbell: a change committed by one instance rings the feed's
// doorbell of the other; a NOTIFY of a device change carries its ID.
func TestDoorbell(t *testing.T) {
	a, b := twoInstances(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rings := make(chan [2]string, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.Listen(ctx, []string{sqlstore.ChannelFeed, sqlstore.ChannelDevices}, func(ch, payload string) {
			rings <- [2]string{ch, payload}
		})
	}()
	// The first rings say "re-read": one per channel at connect.
	for range 2 {
		if r := <-rings; r[1] != "" {
			t.Fatalf("first ring %v", r)
		}
	}
	now := time.Now()
	if err := a.InTx(ctx, func(tx alerts.Tx) error {
		return tx.CreateAlert(ctx, &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew,
			DeviceID: "d", OpenedAt: now, LastOccurrence: now, UpdatedAt: now, Occurrences: 1})
	}); err != nil {
		t.Fatal(err)
	}
	if r := <-rings; r[0] != sqlstore.ChannelFeed {
		t.Errorf("after a commit: %v", r)
	}
	if err := a.Notify(ctx, sqlstore.ChannelDevices, "sos-001"); err != nil {
		t.Fatal(err)
	}
	if r := <-rings; r != [2]string{sqlstore.ChannelDevices, "sos-001"} {
		t.Errorf("after a device change: %v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestNewerCondition: on both stores, the newest stored alarm or clear of
// a family newer than an event — by the device's clock, then its counter —
// is what tells a late event from a current one (hub: applyLate); other
// devices and other families do not count.
func TestNewerCondition(t *testing.T) {
	for name, open := range map[string]func(*testing.T) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			s, ctx := open(t), t.Context()
			var ds []*devices.Device
			for _, id := range []string{"gas-1", "gas-2"} {
				ds = append(ds, &devices.Device{ID: id, Kind: devices.KindGas, Location: devices.Location{Community: "阳光社区"}})
			}
			must(t, s.ImportDevices(ctx, ds, []string{"$7$h1", "$7$h2"}))
			ev := func(id string, seq uint64, at time.Duration, typ devices.EventType) *devices.Message {
				return &devices.Message{DeviceID: id, Seq: seq, Channel: devices.ChannelEvent, TS: c0.Add(at), Received: c0.Add(at),
					Event: &devices.Event{Type: typ}}
			}
			_, err := s.RecordEvents(ctx, []*devices.Message{
				ev("gas-1", 1, 0, devices.EventGas), ev("gas-1", 2, time.Second, devices.EventGasClear),
				ev("gas-2", 9, time.Hour, devices.EventGas), ev("gas-1", 3, time.Hour, devices.EventFault),
			})
			must(t, err)
			gas := []string{string(devices.EventGas), string(devices.EventGasClear)}
			for _, c := range []struct {
				seq  uint64
				at   time.Duration
				want string
			}{
				{1, 0, "gas_clear"},           // the alarm, older than the clear
				{1, time.Second, "gas_clear"}, // the same time, a lower counter
				{2, time.Second, ""},          // the clear itself: nothing newer of gas-1's gas
				{5, time.Minute, ""},          // newer than all (gas-2's and the fault do not count)
			} {
				var got string
				must(t, s.Tx(ctx, func(tx *sqlstore.Tx) error {
					var err error
					got, err = tx.NewerCondition(ctx, "gas-1", gas, c0.Add(c.at).UnixMilli(), c.seq)
					return err
				}))
				if got != c.want {
					t.Errorf("newer than seq %d at +%v: %q, want %q", c.seq, c.at, got, c.want)
				}
			}
		})
	}
}
