package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// testFeedConcurrentCommitters: writers commit alert changes at once while
// a reader tails the feed by sequence number, as the hub's feed does. The
// reader must see every change exactly once, numbered without gaps, each
// alert's versions in order: a store whose numbers did not follow commit
// order (PostgreSQL with a plain sequence: a transaction that took 7 may
// commit after one that took 8) would let the reader pass 7 for ever.
func testFeedConcurrentCommitters(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	const writers, perWriter = 6, 25
	var (
		wg   sync.WaitGroup
		errs = make(chan error, writers)
		done = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev *alerts.Alert
			for i := range perWriter {
				// Each transaction appends two changes (it opens an alert and
				// accepts the one its writer opened before) with work between
				// and after them, so commits of different writers interleave.
				err := s.InTx(ctx(t), func(tx alerts.Tx) error {
					a := newAlert(fmt.Sprintf("w%d-%d", w, i), "c", alerts.KindSOS, alerts.SeverityCritical, t0)
					if err := tx.CreateAlert(ctx(t), a); err != nil {
						return err
					}
					if err := tx.AddTimeline(ctx(t), a.ID, alerts.TimelineEntry{At: t0, Actor: alerts.System, Action: alerts.TimelineOpened}); err != nil {
						return err
					}
					if prev != nil {
						prev.Version++
						prev.State, prev.Assignee, prev.AcceptedAt = alerts.StateAccepted, "op", t0.Add(time.Second)
						if err := tx.UpdateAlert(ctx(t), prev); err != nil {
							return err
						}
					}
					prev = a
					return tx.SetTimer(ctx(t), alerts.Timer{AlertID: a.ID, Kind: alerts.TimerReminder, Due: t0.Add(time.Minute)})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	var (
		last     int64
		seen     = map[int64]int64{} // alert → last version seen
		finished bool
	)
	for {
		select {
		case <-done:
			finished = true
		default:
		}
		changes, _, err := s.ChangesSince(ctx(t), last, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Seq != last+1 {
				t.Fatalf("after change %d the reader got %d: a change was skipped or reordered", last, c.Seq)
			}
			last = c.Seq
			if v := seen[c.Alert.ID]; c.Alert.Version != v+1 {
				t.Fatalf("change %d: alert %d version %d after version %d", c.Seq, c.Alert.ID, c.Alert.Version, v)
			}
			seen[c.Alert.ID] = c.Alert.Version
		}
		// Once the writers are done, one more read found nothing new.
		if finished && len(changes) == 0 {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if want := int64(writers * (perWriter*2 - 1)); last != want {
		t.Errorf("the reader saw %d changes, want %d", last, want)
	}
	if len(seen) != writers*perWriter {
		t.Errorf("changes of %d alerts, want %d", len(seen), writers*perWriter)
	}
}
