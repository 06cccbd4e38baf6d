package storetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

func testChangeFeed(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	if seq, err := s.LastChangeSeq(ctx(t)); err != nil || seq != 0 {
		t.Fatalf("empty feed: LastChangeSeq = %d, %v", seq, err)
	}
	if cs, oldest, err := s.ChangesSince(ctx(t), 0, 0); err != nil || len(cs) != 0 || oldest != 0 {
		t.Fatalf("empty feed: ChangesSince = %v, %d, %v", cs, oldest, err)
	}

	// Writers from several goroutines; each transaction creates an alert and
	// accepts the one its writer created before, so it appends two changes
	// (but a writer's first).
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			var prev *alerts.Alert
			for i := range each {
				err := s.InTx(ctx(t), func(tx alerts.Tx) error {
					a := newAlert("d", "c", alerts.KindSOS, alerts.SeverityCritical, t0.Add(time.Duration(w*each+i)*time.Second))
					if err := tx.CreateAlert(ctx(t), a); err != nil {
						return err
					}
					if prev != nil {
						accept(prev, "op")
						prev.UpdatedAt = prev.AcceptedAt
						if err := tx.UpdateAlert(ctx(t), prev); err != nil {
							return err
						}
					}
					prev = a
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	// A transaction that fails appends nothing.
	boom := errors.New("boom")
	err := s.InTx(ctx(t), func(tx alerts.Tx) error {
		if err := tx.CreateAlert(ctx(t), newAlert("x", "c", alerts.KindSOS, alerts.SeverityCritical, t0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	wg.Wait()

	last, err := s.LastChangeSeq(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	// Page through with a small limit.
	var all []alerts.Change
	for seq := int64(0); ; {
		page, oldest, err := s.ChangesSince(ctx(t), seq, 7)
		if err != nil {
			t.Fatal(err)
		}
		if oldest != 1 {
			t.Errorf("oldest = %d, want 1", oldest)
		}
		if len(page) > 7 {
			t.Fatalf("page of %d, limit 7", len(page))
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		seq = page[len(page)-1].Seq
	}
	if want := writers * (2*each - 1); len(all) != want || all[len(all)-1].Seq != last {
		t.Fatalf("paged %d changes ending at %d; want %d ending at LastChangeSeq %d", len(all), all[len(all)-1].Seq, want, last)
	}
	versions := map[int64]int64{}
	for i, c := range all {
		if i > 0 && c.Seq <= all[i-1].Seq {
			t.Fatalf("seq %d after %d", c.Seq, all[i-1].Seq)
		}
		// Each alert's own changes come in version order: created, then
		// accepted.
		if c.Alert == nil || c.Alert.Version != versions[c.Alert.ID]+1 || c.Alert.Timeline != nil {
			t.Fatalf("change %d: %+v after version %d", c.Seq, c.Alert, versions[c.Alert.ID])
		}
		versions[c.Alert.ID] = c.Alert.Version
		if want := map[int64]alerts.State{1: alerts.StateNew, 2: alerts.StateAccepted}[c.Alert.Version]; c.Alert.State != want {
			t.Errorf("change %d: state %s at version %d", c.Seq, c.Alert.State, c.Alert.Version)
		}
		if !c.At.Equal(c.Alert.UpdatedAt) {
			t.Errorf("change %d at %v, want the alert's UpdatedAt %v", c.Seq, c.At, c.Alert.UpdatedAt)
		}
	}
	// The feed's snapshot is what FindAlert reads back, less the timeline.
	got, err := s.FindAlert(ctx(t), all[len(all)-1].Alert.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, all[len(all)-1].Alert) {
		t.Errorf("feed snapshot:\n got %+v\nwant %+v", all[len(all)-1].Alert, got)
	}
	if rest, _, err := s.ChangesSince(ctx(t), last, 0); err != nil || len(rest) != 0 {
		t.Errorf("ChangesSince(last) = %d changes, %v", len(rest), err)
	}
	if _, _, err := s.ChangesSince(ctx(t), 0, -1); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("negative limit: %v", err)
	}
}

func testRecordTrigger(t *testing.T, open func(*testing.T) AlertStore) {
	s := open(t)
	try := func(id string, seq uint64, ts int64, fail bool) (bool, error) {
		var ok bool
		err := s.InTx(ctx(t), func(tx alerts.Tx) error {
			var err error
			if ok, err = tx.RecordTrigger(ctx(t), id, seq, ts); err != nil {
				return err
			}
			if fail {
				return errors.New("rolled back")
			}
			return nil
		})
		if fail && err != nil && err.Error() == "rolled back" {
			err = nil
		}
		return ok, err
	}
	ms := t0.UnixMilli()
	for _, c := range []struct {
		name string
		id   string
		seq  uint64
		ts   int64
		fail bool
		want bool
	}{
		{"first, rolled back", "gas-1", 9, ms, true, true},
		{"first after rollback", "gas-1", 9, ms, false, true},
		{"redelivered", "gas-1", 9, ms, false, false},
		{"redelivered again", "gas-1", 9, ms, false, false},
		{"counter restarted", "gas-1", 9, ms + 1000, false, true},
		{"another device", "gas-2", 9, ms, false, true},
		{"next seq", "gas-1", 10, ms, false, true},
	} {
		got, err := try(c.id, c.seq, c.ts, c.fail)
		if err != nil || got != c.want {
			t.Errorf("%s: RecordTrigger = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := try("gas-1", 1<<63, ms, false); shouwang.ErrorCode(err) != shouwang.EINVALID {
		t.Errorf("seq out of range: %v", err)
	}
}
