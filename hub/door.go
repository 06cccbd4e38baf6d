package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/voice"
)

// Update is the one door into alerting: every change to alerts — a device
// message, an operator's action, a timer, a webhook's answer, a call, a
// supervision verdict — goes through it. It runs fn in one transaction of
// the main store; fn applies its changes through the AlertTx (and may write
// events, health and vendor state in the same transaction through
// AlertTx.Store). Once the transaction has committed, and only then,
// Update passes on what fn applied: device acknowledgements are queued,
// the in-memory view of open alerts and the metrics are updated, and the
// timer runner, the notifier and the change feed are woken. If fn or the
// commit fails nothing is passed on, and fn's error is returned as is.
//
// fn may be called again by a caller that retries; each call gets a fresh
// AlertTx.
func (a *Alerting) Update(ctx context.Context, fn func(tx *AlertTx) error) error {
	var t *AlertTx
	err := a.cfg.Store.Tx(ctx, func(tx IngestTx) error {
		if t != nil {
			t.giveBack() // an earlier attempt's
		}
		t = &AlertTx{tx: tx, svc: a.svc, homes: a.homes, folds: a.folds, metrics: a.cfg.Metrics, now: a.cfg.Now, openSet: a.openSet,
			instances: a.cfg.Instances}
		return fn(t)
	})
	if err != nil {
		if t != nil {
			t.giveBack()
		}
		return err
	}
	t.passOn(a)
	return nil
}

// AlertTx is one store transaction inside Update, with the alert service.
// Each method applies one thing to alerts and keeps what it changed for
// Update to pass on after the commit.
type AlertTx struct {
	tx      IngestTx
	svc     *alerts.Service
	homes   *households
	folds   *folder
	metrics *Metrics
	now     func() time.Time
	openSet func(deviceID string) alerts.OpenSet // the committed view
	results []alerts.Result
	observe []func()          // metrics to record once the transaction holds
	taken   []alerts.Fold     // folds written here, given back if it fails
	read    []*devices.Device // full records read, held if their device has an open alert
	// instances is set when several instances share the store.
	instances *Instances
}

// EventOwner is a transaction that says which instance stored an event
// (the SQL store's): "" for a hub alone.
type EventOwner interface {
	EventInstance(ctx context.Context, deviceID string, seq uint64, tsMillis int64) (string, error)
}

// full reads a device's full record: an alert carries the household.
func (t *AlertTx) full(ctx context.Context, id string) (*devices.Device, error) {
	d, err := t.homes.full(ctx, id)
	if d != nil {
		t.read = append(t.read, d)
	}
	return d, err
}

// Store is the transaction itself, for what is written beside the alerts
// (events, device health, vendor state).
func (t *AlertTx) Store() IngestTx { return t.tx }

// giveBack returns the folds this transaction took, when it did not
// commit.
func (t *AlertTx) giveBack() {
	t.folds.giveBack(t.taken)
	t.taken = nil
}

// passOn hands what the committed transaction changed to a.
func (t *AlertTx) passOn(a *Alerting) {
	a.committed(t.results...)
	a.holdHouseholds(t.read)
	for _, f := range t.observe {
		f()
	}
}

func (t *AlertTx) changed(al *alerts.Alert) {
	if al != nil {
		t.results = append(t.results, alerts.Result{Changed: []*alerts.Alert{al}})
	}
}

// HandleMessage applies a newly stored device message (event, status, or
// a vendor device's reading) to its device's alerts; the device's full
// record is read, since an alert carries the household. A device deleted
// since the message came is skipped.
func (t *AlertTx) HandleMessage(ctx context.Context, m *devices.Message) error {
	return t.handle(ctx, m, false)
}

func (t *AlertTx) handle(ctx context.Context, m *devices.Message, trigger bool) error {
	d, err := t.full(ctx, m.DeviceID)
	if err != nil || d == nil {
		return err
	}
	if err := t.writePendingFolds(ctx, t.folds.takeDevice(d.ID)); err != nil {
		return err
	}
	if trigger {
		fresh, err := t.tx.RecordTrigger(ctx, m.DeviceID, m.Seq, m.TS.UnixMilli())
		if err != nil || !fresh {
			return err
		}
	}
	res, err := t.svc.HandleMessage(ctx, t.tx, d, m)
	if err != nil {
		return fmt.Errorf("alerts for %s %s %d: %w", m.DeviceID, m.Channel, m.Seq, err)
	}
	t.results = append(t.results, res)
	return nil
}

// HandleReadings applies a batch's telemetry readings that may matter
// (Alerting.classify), in order, each recorded as a trigger first so a
// batch retried after a failed spool append does not apply it twice —
// except a reading that, after the
// ones before it here, would only add an occurrence to an open alert: that
// one is returned to be folded once the batch is in the spool (Alerting's
// foldReadings). So the first reading of a leak opens its alert and the
// rest of its batch folds into it, instead of each being a change.
func (t *AlertTx) HandleReadings(ctx context.Context, ms []*devices.Message) (folded []*devices.Message, readings []alerts.FoldedReading, err error) {
	local := map[string]alerts.OpenSet{}
	for _, m := range ms {
		set, ok := local[m.DeviceID]
		if !ok {
			set = t.openSet(m.DeviceID)
		}
		if r, ok := t.svc.FoldReading(&devices.Device{ID: m.DeviceID, Kind: m.Kind}, m, set); ok {
			folded, readings = append(folded, m), append(readings, r)
			continue
		}
		n := len(t.results)
		if err := t.handle(ctx, m, true); err != nil {
			return nil, nil, err
		}
		for _, r := range t.results[n:] {
			for _, al := range r.Changed {
				set = set.Fold(al)
			}
		}
		local[m.DeviceID] = set
	}
	return folded, readings, nil
}

// HandleDuplicate answers an event that was stored before (a redelivery):
// its acknowledgement is sent again; nothing changes.
//
// With several instances every instance receives every event: the one
// whose insert won acts, and the others find a duplicate. Such a duplicate
// is left alone while the instance that stored it is alive (it sends the
// acknowledgement); one whose storing instance is dead (it may have died
// between its commit and the acknowledgement, and the device tries again)
// is acknowledged here.
func (t *AlertTx) HandleDuplicate(ctx context.Context, m *devices.Message) error {
	if t.instances != nil {
		if o, ok := t.tx.(EventOwner); ok {
			owner, err := o.EventInstance(ctx, m.DeviceID, m.Seq, m.TS.UnixMilli())
			if err != nil {
				return err
			}
			if owner != "" && t.instances.Alive(owner) && owner != t.instances.Name() {
				return nil
			}
		}
	}
	d, err := t.full(ctx, m.DeviceID)
	if err != nil || d == nil {
		return err
	}
	acks, err := t.svc.HandleDuplicate(ctx, t.tx, d, m)
	if err != nil {
		return fmt.Errorf("acknowledge redelivered %s event %d: %w", m.DeviceID, m.Seq, err)
	}
	t.results = append(t.results, alerts.Result{Acks: acks})
	return nil
}

// Transition applies an operator's action now.
func (t *AlertTx) Transition(ctx context.Context, req alerts.TransitionRequest) (*alerts.Alert, error) {
	if err := t.writePendingFolds(ctx, t.folds.takeAlert(req.AlertID)); err != nil {
		return nil, err
	}
	// An incident's linked alerts follow it: they are changed too.
	res, err := t.svc.TransitionAll(ctx, t.tx, req, t.now())
	if err != nil {
		return nil, err
	}
	t.results = append(t.results, res)
	al := res.Changed[0]
	metrics := t.metrics
	t.observe = append(t.observe, func() { metrics.observeTransition(req.Action, al) })
	return al, nil
}

// FireTimer fires one due alert timer.
func (t *AlertTx) FireTimer(ctx context.Context, timer alerts.Timer, now time.Time) error {
	if err := t.writePendingFolds(ctx, t.folds.takeAlert(timer.AlertID)); err != nil {
		return err
	}
	al, err := t.svc.FireTimer(ctx, t.tx, timer, now)
	t.changed(al)
	if al != nil && err == nil {
		metrics := t.metrics
		t.observe = append(t.observe, func() { metrics.observeEscalation(timer.Kind, al) })
	}
	return err
}

// NotificationResult records a webhook attempt on the alert's timeline.
func (t *AlertTx) NotificationResult(ctx context.Context, n *alerts.Notification, status int, sendErr error, now time.Time) error {
	al, err := t.svc.NotificationResult(ctx, t.tx, n, status, sendErr, now)
	t.changed(al)
	return err
}

// CallEvent attaches a call's ringing, answer or end to the device's sos
// alert (opening one if the call rings without it). A device deleted since
// is skipped.
func (t *AlertTx) CallEvent(ctx context.Context, deviceID string, u alerts.CallUpdate) error {
	// The full record: a call may open an sos alert, which carries the
	// household.
	d, err := t.full(ctx, deviceID)
	if err != nil || d == nil {
		return err
	}
	if err := t.writePendingFolds(ctx, t.folds.takeDevice(deviceID)); err != nil {
		return err
	}
	res, err := t.svc.CallEvent(ctx, t.tx, d, u)
	if err != nil {
		return err
	}
	t.results = append(t.results, res)
	if u.State == string(voice.CallAnswered) {
		// Answering a new alert's call accepted it: that is an accept like
		// the console's, and its time to accept is measured the same way.
		for _, al := range res.Changed {
			if al.State == alerts.StateAccepted && al.AcceptedAt.Equal(u.At) {
				metrics := t.metrics
				t.observe = append(t.observe, func() { metrics.observeTransition(alerts.ActionAccept, al) })
			}
		}
	}
	return nil
}

// DeviceSilent applies supervision's verdict that d (its full record) has
// been silent past its reporting time.
func (t *AlertTx) DeviceSilent(ctx context.Context, d *devices.Device, now time.Time) error {
	if err := t.writePendingFolds(ctx, t.folds.takeDevice(d.ID)); err != nil {
		return err
	}
	al, err := t.svc.DeviceSilent(ctx, t.tx, d, d.Health.LastSeen, now)
	t.changed(al)
	return err
}

// DeviceReturned applies supervision's news that d, reported silent, was
// heard from again.
func (t *AlertTx) DeviceReturned(ctx context.Context, d *devices.Device, now time.Time) error {
	if err := t.writePendingFolds(ctx, t.folds.takeDevice(d.ID)); err != nil {
		return err
	}
	changed, err := t.svc.DeviceReturned(ctx, t.tx, d, now)
	t.results = append(t.results, alerts.Result{Changed: changed})
	return err
}
