package hub

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Repeated readings of an open alert are folded (alerts/fold.go): the
// telemetry path adds each to a fold in memory once its batch is in the
// spool, and runFolds writes each alert's fold through the door at most
// once per FoldEvery — one store transaction, one timeline entry and one
// change to the consoles for all of them, instead of one per reading.
// Before any other change to a device's alerts the door writes its pending
// folds first, in the same transaction, so the timeline keeps its order.
//
// The readings themselves are in the spool before they are acknowledged,
// as every reading is; what a crash can lose is the count of the last
// FoldEvery's readings on the alert (the alert, its state and every earlier
// count are in the store). Close writes what is pending.

// DefaultFoldEvery is how often an alert's folded readings are written.
const DefaultFoldEvery = 5 * time.Second

// foldBatch bounds the folds written in one transaction, and
// foldsPerTick how many alerts' folds runFolds writes each tick (a tenth of
// FoldEvery): the oldest first, so an estate of alerts in alarm is written
// round by round — at most foldsPerTick×10 changes per FoldEvery reach the
// consoles from folding, however many alerts are open.
const (
	foldBatch    = 64
	foldsPerTick = 100
)

// folder holds the folds waiting to be written, by alert.
type folder struct {
	mu     sync.Mutex
	folds  map[int64]*alerts.Fold
	device map[string][]int64 // a device's alerts with folds
}

func newFolder() *folder {
	return &folder{folds: map[int64]*alerts.Fold{}, device: map[string][]int64{}}
}

// add folds readings of committed telemetry in.
func (f *folder) add(deviceID string, rs []alerts.FoldedReading) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range rs {
		fd := f.folds[r.AlertID]
		if fd == nil {
			fd = &alerts.Fold{}
			f.folds[r.AlertID] = fd
			f.device[deviceID] = append(f.device[deviceID], r.AlertID)
		}
		fd.Add(deviceID, r)
	}
}

// giveBack returns folds whose write failed, merged with what was folded
// meanwhile.
func (f *folder) giveBack(folds []alerts.Fold) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range folds {
		fd := f.folds[g.AlertID]
		if fd == nil {
			fd = &alerts.Fold{}
			f.folds[g.AlertID] = fd
			f.device[g.DeviceID] = append(f.device[g.DeviceID], g.AlertID)
		}
		fd.Merge(g)
	}
}

// takeDevice removes and returns a device's folds.
func (f *folder) takeDevice(deviceID string) []alerts.Fold {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.device[deviceID]
	if len(ids) == 0 {
		return nil
	}
	out := make([]alerts.Fold, 0, len(ids))
	for _, id := range ids {
		out = append(out, *f.folds[id])
		delete(f.folds, id)
	}
	delete(f.device, deviceID)
	return out
}

// takeAlert removes and returns the fold of one alert, if any.
func (f *folder) takeAlert(alertID int64) []alerts.Fold {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd := f.folds[alertID]
	if fd == nil {
		return nil
	}
	delete(f.folds, alertID)
	ids := slices.DeleteFunc(f.device[fd.DeviceID], func(id int64) bool { return id == alertID })
	if len(ids) == 0 {
		delete(f.device, fd.DeviceID)
	} else {
		f.device[fd.DeviceID] = ids
	}
	return []alerts.Fold{*fd}
}

// takeDue removes and returns up to limit (0: all) of the folds whose
// first reading is at least every old, oldest first.
func (f *folder) takeDue(now time.Time, every time.Duration, limit int) []alerts.Fold {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []alerts.Fold
	for _, fd := range f.folds {
		if now.Sub(fd.First) >= every {
			out = append(out, *fd)
		}
	}
	slices.SortFunc(out, func(a, b alerts.Fold) int { return a.First.Compare(b.First) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for _, fd := range out {
		delete(f.folds, fd.AlertID)
		ids := slices.DeleteFunc(f.device[fd.DeviceID], func(x int64) bool { return x == fd.AlertID })
		if len(ids) == 0 {
			delete(f.device, fd.DeviceID)
		} else {
			f.device[fd.DeviceID] = ids
		}
	}
	return out
}

// pending is how many alerts have folds waiting.
func (f *folder) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.folds)
}

// foldReadings adds the folded readings of a committed telemetry batch:
// rs[i] is a reading of ms[i].
func (a *Alerting) foldReadings(ms []*devices.Message, rs []alerts.FoldedReading) {
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].DeviceID == ms[i].DeviceID {
			j++
		}
		a.folds.add(ms[i].DeviceID, rs[i:j])
		i = j
	}
}

// runFolds writes folds as they fall due, until ctx ends; then Close
// writes what is left.
func (a *Alerting) runFolds(ctx context.Context) {
	t := time.NewTicker(max(a.cfg.FoldEvery/10, 10*time.Millisecond))
	defer t.Stop()
	log := newLimitedLogger(a.logger, retryLogEvery, time.Now)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.writeFolds(ctx, a.cfg.FoldEvery, foldsPerTick); err != nil && ctx.Err() == nil {
			log.Error("folds", "write folded readings; keeping them for the next try", "err", err)
		}
	}
}

// writeFolds writes up to limit of the folds due now (0: all), oldest
// first, at most foldBatch alerts to a transaction (fewer when an event
// commit starts waiting). What a failed transaction held is kept for the
// next try.
func (a *Alerting) writeFolds(ctx context.Context, every time.Duration, limit int) error {
	due := a.folds.takeDue(a.cfg.Now(), every, limit)
	for len(due) > 0 {
		// Behind any event commit, as telemetry's writes are (storeGate),
		// and committed early, after the fold in hand, when one starts
		// waiting.
		var n int
		err := a.gate.background(ctx, func() error {
			return a.Update(ctx, func(tx *AlertTx) error {
				n = 0 // a retried transaction starts again
				for n < min(len(due), foldBatch) {
					if err := tx.applyFold(ctx, due[n]); err != nil {
						return err
					}
					if n++; a.gate.urgentWaiting() {
						break
					}
				}
				return nil
			})
		})
		if err != nil {
			a.folds.giveBack(due)
			return err
		}
		due = due[n:]
	}
	return nil
}

// applyFold writes one fold inside the transaction.
func (t *AlertTx) applyFold(ctx context.Context, f alerts.Fold) error {
	d, err := t.full(ctx, f.DeviceID)
	if err != nil || d == nil {
		return err
	}
	al, err := t.svc.ApplyFold(ctx, t.tx, d, f, t.now())
	t.changed(al)
	return err
}

// writePendingFolds writes the folds waiting for a device (or one alert)
// before the transaction changes it, so its timeline keeps the order the
// readings came in. If the transaction fails they are given back.
func (t *AlertTx) writePendingFolds(ctx context.Context, folds []alerts.Fold) error {
	if len(folds) == 0 {
		return nil
	}
	t.taken = append(t.taken, folds...)
	for _, f := range folds {
		if err := t.applyFold(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// households keeps the full record of each device with an open alert, so a
// reading or event of a device already in alarm does not read its
// household from the store again. It is dropped when the device has no
// open alert left, or when the registry changes it.
type households struct {
	mu    sync.Mutex
	index *DeviceIndex
	held  map[string]*devices.Device
}

func newHouseholds(index *DeviceIndex) *households {
	return &households{index: index, held: map[string]*devices.Device{}}
}

// full returns a device's full record (nil if it is gone).
func (h *households) full(ctx context.Context, id string) (*devices.Device, error) {
	h.mu.Lock()
	d, ok := h.held[id]
	h.mu.Unlock()
	if ok {
		return d, nil
	}
	return h.index.Full(ctx, id)
}

// hold keeps d while its device has an open alert.
func (h *households) hold(d *devices.Device) {
	h.mu.Lock()
	h.held[d.ID] = d
	h.mu.Unlock()
}

func (h *households) forget(id string) {
	h.mu.Lock()
	delete(h.held, id)
	h.mu.Unlock()
}
