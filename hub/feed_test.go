package hub

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/alerts/alertstest"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/influx"
)

// heldSpool is a spool whose appends wait until released, as the real
// one's do while telemetry holds its one writer.
type heldSpool struct {
	fakeSpool
	entered chan struct{} // an append is waiting
	release chan struct{} // closed: appends go through
}

func (s *heldSpool) Append(ctx context.Context, lines [][]byte, w map[string]devices.SeqWindow) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.fakeSpool.Append(ctx, lines, w)
}

func openSOS(t *testing.T, s *alertstest.Store, dev string) {
	t.Helper()
	now := time.Now()
	err := s.InTx(context.Background(), func(tx alerts.Tx) error {
		return tx.CreateAlert(context.Background(), &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical,
			State: alerts.StateNew, DeviceID: dev, Device: devices.Device{ID: dev},
			OpenedAt: now, LastOccurrence: now, Occurrences: 1, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func nextChange(t *testing.T, sub *Subscription) alerts.Change {
	t.Helper()
	select {
	case c, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change published in 10 s")
	}
	panic("unreachable")
}

// TestFeedPublishesWhileTheSpoolIsBusy: the copy of changes to the spool
// never holds up publishing — with the spool's writer held, later changes
// still reach subscribers — and every published change is copied, in
// order, once the spool frees, including those published just before the
// feed stops.
//
// The published changes are handed to the copy in memory; with more
// waiting than it keeps (maxHanded 2 here: three wait behind the first),
// it reads them back from the store instead, and the result is the same.
func TestFeedPublishesWhileTheSpoolIsBusy(t *testing.T) {
	for _, keep := range []int{maxHanded, 2} {
		t.Run(fmt.Sprintf("handed %d", keep), func(t *testing.T) { testFeedSpoolBusy(t, keep) })
	}
}

func testFeedSpoolBusy(t *testing.T, keep int) {
	mem := alertstest.New()
	spool := &heldSpool{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFeed(mem, 0, spool, influx.Format{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.maxHanded = keep
	sub, _ := f.Subscribe(16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.run(ctx) }()
	var release sync.Once
	free := func() { release.Do(func() { close(spool.release) }) }
	defer func() { free(); cancel(); <-done }() // a failed test stops the feed too

	openSOS(t, mem, "sos-1")
	f.wake()
	if c := nextChange(t, sub); c.Alert.DeviceID != "sos-1" {
		t.Fatalf("first change of %s", c.Alert.DeviceID)
	}
	select {
	case <-spool.entered: // the copy of sos-1's change waits for the spool
	case <-time.After(10 * time.Second):
		t.Fatal("the first change was not copied to the spool")
	}
	for i := 2; i <= 4; i++ {
		dev := fmt.Sprintf("sos-%d", i)
		openSOS(t, mem, dev)
		f.wake()
		if c := nextChange(t, sub); c.Alert.DeviceID != dev {
			t.Fatalf("change of %s published, want %s's", c.Alert.DeviceID, dev)
		}
	}
	if n := spool.count(); n != 0 {
		t.Fatalf("%d lines in the held spool", n)
	}

	cancel() // the feed stops with changes published and not yet copied
	free()
	<-done
	if n := spool.count(); n != 4 {
		t.Fatalf("%d changes copied to the spool, want 4", n)
	}
	for i, l := range spool.lines {
		if want := fmt.Sprintf("%s=sos-%d,", influx.TagDevice, i+1); !strings.Contains(l, want) {
			t.Errorf("spool line %d = %q, want one with %s", i, l, want)
		}
	}
}
