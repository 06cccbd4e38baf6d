package alertstest

import (
	"context"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// Tx is one transaction of a Store. It is valid only inside the function
// given to InTx.
type Tx struct {
	s    *Store
	ctx  context.Context
	undo []func()
	done bool
	// changes are the feed's changes, one per alert, appended at commit
	// (alerts.PendingChanges).
	changes alerts.PendingChanges[*alerts.Alert]
}

// rollback undoes every write, newest first.
func (tx *Tx) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
	tx.undo = nil
}

// begin checks the transaction is live and runs the failure hook.
func (tx *Tx) begin(ctx context.Context, op string) error {
	if tx.done {
		return errTxDone
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx.s.fail != nil {
		return tx.s.fail(op)
	}
	return nil
}

// OpenAlerts implements alerts.Tx: the device's open alerts, oldest first.
func (tx *Tx) OpenAlerts(ctx context.Context, deviceID string) ([]*alerts.Alert, error) {
	if err := tx.begin(ctx, "OpenAlerts"); err != nil {
		return nil, err
	}
	return tx.s.selectAlerts(func(a *alerts.Alert) bool { return a.DeviceID == deviceID && a.State.Open() }), nil
}

// FindAlert implements alerts.Tx.
func (tx *Tx) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	if err := tx.begin(ctx, "FindAlert"); err != nil {
		return nil, err
	}
	return tx.s.findAlert(id)
}

// LatestAlert implements alerts.Tx: the device's most recently opened alert
// of kind (ID breaks ties).
func (tx *Tx) LatestAlert(ctx context.Context, deviceID string, kind alerts.Kind) (*alerts.Alert, error) {
	if err := tx.begin(ctx, "LatestAlert"); err != nil {
		return nil, err
	}
	var best *alerts.Alert
	for _, a := range tx.s.alerts {
		if a.DeviceID == deviceID && a.Kind == kind && (best == nil || later(a, best)) {
			best = a
		}
	}
	if best == nil {
		return nil, shouwang.Errorf(shouwang.ENOTFOUND, "device %q has no %s alert", deviceID, kind)
	}
	return cloneAlert(best), nil
}

// CreateAlert implements alerts.Tx: it stores a (without its timeline),
// sets a.ID and a.Version (1 if it was 0), and records a change.
func (tx *Tx) CreateAlert(ctx context.Context, a *alerts.Alert) error {
	if err := tx.begin(ctx, "CreateAlert"); err != nil {
		return err
	}
	if a == nil {
		return shouwang.Errorf(shouwang.EINVALID, "create alert: missing")
	}
	s := tx.s
	prev := s.lastAlert
	s.lastAlert++
	tx.undo = append(tx.undo, func() { s.lastAlert = prev })
	c := stored(a)
	c.ID = s.lastAlert
	if c.Version == 0 {
		c.Version = 1
	}
	tx.putAlert(c)
	tx.appendChange(c)
	a.ID, a.Version = c.ID, c.Version
	return nil
}

// UpdateAlert implements alerts.Tx: it writes every field of a but its ID
// and timeline if the stored version is a.Version-1 (ECONFLICT otherwise),
// and records a change.
func (tx *Tx) UpdateAlert(ctx context.Context, a *alerts.Alert) error {
	if err := tx.begin(ctx, "UpdateAlert"); err != nil {
		return err
	}
	if a == nil {
		return shouwang.Errorf(shouwang.EINVALID, "update alert: missing")
	}
	old, ok := tx.s.alerts[a.ID]
	switch {
	case !ok:
		return notFound(a.ID)
	case old.Version != a.Version-1:
		return shouwang.Errorf(shouwang.ECONFLICT, "alert %d changed meanwhile", a.ID)
	}
	a.Version = tx.changes.WriteVersion(a.ID, a.Version)
	c := stored(a)
	tx.putAlert(c)
	tx.appendChange(c)
	return nil
}

func (tx *Tx) putAlert(a *alerts.Alert) {
	s := tx.s
	old, had := s.alerts[a.ID]
	s.alerts[a.ID] = a
	tx.undo = append(tx.undo, func() {
		if had {
			s.alerts[a.ID] = old
		} else {
			delete(s.alerts, a.ID)
		}
	})
}

// appendChange keeps a's change for the commit: one per alert per
// transaction, the latest write.
func (tx *Tx) appendChange(a *alerts.Alert) {
	tx.changes.Put(a.ID, a.Version, cloneAlert(a))
}

// commit appends the transaction's changes to the feed, in the order
// their alerts were first written.
func (tx *Tx) commit() {
	s := tx.s
	for _, c := range tx.changes.List() {
		s.lastSeq++
		at := c.Change.UpdatedAt
		if at.IsZero() {
			at = norm(s.now())
		}
		s.changes = append(s.changes, alerts.Change{Seq: s.lastSeq, At: at, Alert: c.Change})
	}
}

// AddTimeline implements alerts.Tx. A zero e.At means now.
func (tx *Tx) AddTimeline(ctx context.Context, alertID int64, e alerts.TimelineEntry) error {
	if err := tx.begin(ctx, "AddTimeline"); err != nil {
		return err
	}
	s := tx.s
	switch {
	case e.Action == "":
		return shouwang.Errorf(shouwang.EINVALID, "alert %d: timeline entry without an action", alertID)
	case s.alerts[alertID] == nil:
		return notFound(alertID)
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	prevID, n := s.lastEntry, len(s.timelines[alertID])
	s.lastEntry++
	e.ID, e.At, e.Data = s.lastEntry, norm(e.At), maps.Clone(e.Data)
	s.timelines[alertID] = append(s.timelines[alertID], e)
	tx.undo = append(tx.undo, func() {
		s.lastEntry = prevID
		if n == 0 {
			delete(s.timelines, alertID)
		} else {
			s.timelines[alertID] = s.timelines[alertID][:n]
		}
	})
	return nil
}

// SetTimer implements alerts.Tx.
func (tx *Tx) SetTimer(ctx context.Context, t alerts.Timer) error {
	if err := tx.begin(ctx, "SetTimer"); err != nil {
		return err
	}
	switch {
	case t.Kind == "" || t.Due.IsZero():
		return shouwang.Errorf(shouwang.EINVALID, "alert %d: timer needs a kind and a due time", t.AlertID)
	case tx.s.alerts[t.AlertID] == nil:
		return notFound(t.AlertID)
	}
	t.Due = norm(t.Due)
	tx.putTimer(timerKey{t.AlertID, t.Kind}, &t)
	return nil
}

// DeleteTimers implements alerts.Tx.
func (tx *Tx) DeleteTimers(ctx context.Context, alertID int64, kinds ...alerts.TimerKind) error {
	if err := tx.begin(ctx, "DeleteTimers"); err != nil {
		return err
	}
	for k := range tx.s.timers {
		if k.alert == alertID && (len(kinds) == 0 || slices.Contains(kinds, k.kind)) {
			tx.putTimer(k, nil)
		}
	}
	return nil
}

// putTimer sets (t non-nil) or deletes a timer.
func (tx *Tx) putTimer(k timerKey, t *alerts.Timer) {
	s := tx.s
	old, had := s.timers[k]
	if t != nil {
		s.timers[k] = *t
	} else {
		delete(s.timers, k)
	}
	tx.undo = append(tx.undo, func() {
		if had {
			s.timers[k] = old
		} else {
			delete(s.timers, k)
		}
	})
}

// EnqueueNotification implements alerts.Tx.
func (tx *Tx) EnqueueNotification(ctx context.Context, n *alerts.Notification) error {
	if err := tx.begin(ctx, "EnqueueNotification"); err != nil {
		return err
	}
	s := tx.s
	switch {
	case n == nil || n.NextAttempt.IsZero():
		return shouwang.Errorf(shouwang.EINVALID, "enqueue notification: needs a next attempt time")
	case s.alerts[n.AlertID] == nil:
		return notFound(n.AlertID)
	}
	prev := s.lastNotif
	s.lastNotif++
	tx.undo = append(tx.undo, func() { s.lastNotif = prev })
	c := cloneNotification(n)
	c.ID, c.NextAttempt = s.lastNotif, norm(c.NextAttempt)
	tx.putNotification(c.ID, c)
	n.ID = c.ID
	return nil
}

// UpdateNotification implements alerts.Tx: Attempts and NextAttempt; the
// payload stays as enqueued.
func (tx *Tx) UpdateNotification(ctx context.Context, n *alerts.Notification) error {
	if err := tx.begin(ctx, "UpdateNotification"); err != nil {
		return err
	}
	if n == nil || n.NextAttempt.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "update notification: needs a next attempt time")
	}
	old, ok := tx.s.notifs[n.ID]
	if !ok {
		return notificationNotFound(n.ID)
	}
	c := cloneNotification(old)
	c.Attempts, c.NextAttempt = n.Attempts, norm(n.NextAttempt)
	tx.putNotification(n.ID, c)
	return nil
}

// DeleteNotification implements alerts.Tx; ENOTFOUND if there is none.
func (tx *Tx) DeleteNotification(ctx context.Context, id int64) error {
	if err := tx.begin(ctx, "DeleteNotification"); err != nil {
		return err
	}
	if _, ok := tx.s.notifs[id]; !ok {
		return notificationNotFound(id)
	}
	tx.putNotification(id, nil)
	return nil
}

func (tx *Tx) putNotification(id int64, n *alerts.Notification) {
	s := tx.s
	old, had := s.notifs[id]
	if n != nil {
		s.notifs[id] = n
	} else {
		delete(s.notifs, id)
	}
	tx.undo = append(tx.undo, func() {
		if had {
			s.notifs[id] = old
		} else {
			delete(s.notifs, id)
		}
	})
}

// RecordTrigger implements alerts.Tx.
func (tx *Tx) RecordTrigger(ctx context.Context, deviceID string, seq uint64, tsMillis int64) (bool, error) {
	if err := tx.begin(ctx, "RecordTrigger"); err != nil {
		return false, err
	}
	if seq > math.MaxInt64 {
		// The SQL store keeps seq in a BIGINT.
		return false, shouwang.Errorf(shouwang.EINVALID, "record trigger: device %q: seq %d out of range", deviceID, seq)
	}
	k := triggerKey{deviceID, seq, tsMillis}
	if tx.s.triggers[k] {
		return false, nil
	}
	tx.s.triggers[k] = true
	tx.undo = append(tx.undo, func() { delete(tx.s.triggers, k) })
	return true, nil
}

// stored is a as the store keeps it: a deep copy without its timeline,
// times (the call's too) cut to the millisecond in UTC.
func stored(a *alerts.Alert) *alerts.Alert {
	c := cloneAlert(a)
	c.Timeline = nil
	for _, t := range []*time.Time{&c.OpenedAt, &c.LastOccurrence, &c.ClearedAt, &c.AcceptedAt,
		&c.DispatchedAt, &c.ResolvedAt, &c.ClosedAt, &c.UpdatedAt, &c.Device.CreatedAt, &c.Device.UpdatedAt} {
		*t = norm(*t)
	}
	if c.Call != nil {
		c.Call.StartedAt, c.Call.AnsweredAt, c.Call.EndedAt = norm(c.Call.StartedAt), norm(c.Call.AnsweredAt), norm(c.Call.EndedAt)
	}
	if t := c.Task; t != nil {
		t.SentAt, t.TakenAt, t.ArrivedAt, t.HandledAt = norm(t.SentAt), norm(t.TakenAt), norm(t.ArrivedAt), norm(t.HandledAt)
	}
	if f := c.FollowUp; f != nil {
		f.Due, f.DoneAt = norm(f.Due), norm(f.DoneAt)
	}
	if r := c.Review; r != nil {
		r.At = norm(r.At)
	}
	if c.Incident != nil {
		c.Incident.FirstAt = norm(c.Incident.FirstAt)
	}
	return c
}

func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Millisecond).UTC()
}

// cloneAlert is a deep copy of a without its timeline.
func cloneAlert(a *alerts.Alert) *alerts.Alert {
	c := *a
	c.Timeline = nil
	if a.Reading != nil {
		v := *a.Reading
		c.Reading = &v
	}
	c.Device.Capabilities = slices.Clone(a.Device.Capabilities)
	c.Device.Contacts = slices.Clone(a.Device.Contacts)
	c.Device.Health.Battery, c.Device.Health.Signal = cloneF(a.Device.Health.Battery), cloneF(a.Device.Health.Signal)
	if a.Call != nil {
		call := *a.Call
		c.Call = &call
	}
	if a.Task != nil {
		t := *a.Task
		t.Workers = slices.Clone(a.Task.Workers)
		c.Task = &t
	}
	if a.FollowUp != nil {
		f := *a.FollowUp
		c.FollowUp = &f
	}
	if a.Review != nil {
		r := *a.Review
		c.Review = &r
	}
	c.Incident, c.Members = cloneIncident(a.Incident), nil
	return &c
}

// AddPhoto implements alerts.Tx.
func (tx *Tx) AddPhoto(ctx context.Context, p *alerts.Photo) error {
	if err := tx.begin(ctx, "AddPhoto"); err != nil {
		return err
	}
	s := tx.s
	if _, ok := s.alerts[p.AlertID]; !ok {
		return notFound(p.AlertID)
	}
	prev := s.lastPhoto
	s.lastPhoto++
	c := *p
	c.ID, c.At = s.lastPhoto, norm(p.At)
	s.photos[c.ID] = &c
	tx.undo = append(tx.undo, func() { delete(s.photos, c.ID); s.lastPhoto = prev })
	p.ID = c.ID
	return nil
}

func cloneF(v *float64) *float64 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

func cloneTimeline(es []alerts.TimelineEntry) []alerts.TimelineEntry {
	if es == nil {
		return nil
	}
	out := make([]alerts.TimelineEntry, len(es))
	for i, e := range es {
		e.Data = maps.Clone(e.Data)
		out[i] = e
	}
	return out
}

func cloneNotification(n *alerts.Notification) *alerts.Notification {
	c := *n
	c.Payload = slices.Clone(n.Payload)
	return &c
}
