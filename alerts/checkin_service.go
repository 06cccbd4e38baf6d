package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// checkin applies a check-in press: the household's sign of life, any
// no_activity alert of it marked cleared, and an acknowledgement to the
// device ({"type":"checked_in","seq":N}) so it can tell the resident.
func (h *handling) checkin(m *devices.Message) error {
	if err := h.activity(m.Time(), HowCheckin); err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Seq  uint64 `json:"seq"`
	}{"checked_in", m.Seq})
	if err != nil {
		return fmt.Errorf("encode acknowledgement: %w", err)
	}
	h.acks = append(h.acks, DeviceAck{DeviceID: h.d.ID, Payload: b})
	return nil
}

// householdOf returns l as its household is known: a location registered
// without its unit gets the unit its household's other devices name
// (devices.CompleteUnits, the rule of the building view and the evacuation
// list), so a door contact registered without its unit counts for the
// household it is in, not for another.
func householdOf(ctx context.Context, tx Tx, l devices.Location) (devices.Location, error) {
	if l.Unit != "" || l.Household == "" {
		return l, nil
	}
	ls, err := tx.HouseholdLocations(ctx, l)
	if err != nil {
		return l, fmt.Errorf("household of %s: %w", l.Household, err)
	}
	ds := make([]*devices.Device, len(ls))
	for i := range ls {
		ds[i] = &devices.Device{Location: ls[i]}
	}
	return devices.CompleteUnits(ds)(l), nil
}

// activity records a sign of life of the device's household (if it is in
// one) and marks its open no_activity alerts cleared.
func (h *handling) activity(at time.Time, how string) error {
	loc, err := householdOf(h.ctx, h.tx, h.d.Location)
	if err != nil {
		return err
	}
	key := loc.HouseholdKey()
	if key == "" {
		return nil
	}
	a := Activity{Household: key, At: at, DeviceID: h.d.ID, How: how}
	if err := h.tx.RecordActivity(h.ctx, a); err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	h.activities = append(h.activities, a)
	open, err := h.tx.ScopeAlerts(h.ctx, HouseholdScope(loc), []Kind{KindNoActivity}, time.Time{})
	if err != nil {
		return err
	}
	for _, na := range open {
		na = h.canon(na, false)
		if na.Cleared {
			continue
		}
		na.Cleared, na.ClearedAt = true, h.now
		h.touch(na)
		if err := h.log(na, deviceActor(h.d.ID), TimelineCheckedIn, "", map[string]string{"device": h.d.ID, "how": how, "at": fmtT(at)}); err != nil {
			return err
		}
	}
	return nil
}

// Activity applies a sign of life the hub noticed outside an event (a door
// opening, movement) from device d: it is recorded for its household, and
// the household's open no_activity alerts are marked cleared.
func (s *Service) Activity(ctx context.Context, tx Tx, d *devices.Device, at time.Time, how string) (Result, error) {
	if d == nil {
		return Result{}, shouwang.Errorf(shouwang.EINVALID, "activity: missing device")
	}
	h := s.newHandling(ctx, tx, d, at)
	if err := h.activity(at, how); err != nil {
		return Result{}, fmt.Errorf("device %s activity: %w", d.ID, err)
	}
	return h.result()
}

// NoActivity applies the check-in verdict that a household showed no sign
// of life in its window: it opens a major no_activity alert on d, the
// household's device the hub names for it (its SOS button if it has one),
// for the grid worker to visit — or adds an occurrence to the household's
// open one. It opens nothing when a sign of life is stored since the
// window began (another hub, or one the book had not seen) or when the
// window was judged already (an alert opened at or after its end).
func (s *Service) NoActivity(ctx context.Context, tx Tx, d *devices.Device, od Overdue, now time.Time) (*Alert, error) {
	if d == nil {
		return nil, shouwang.Errorf(shouwang.EINVALID, "no activity: missing device")
	}
	// The alert is on the household as it is known: its scope, which a
	// sign of life of any of its devices finds, carries the unit.
	loc, err := householdOf(ctx, tx, d.Location)
	if err != nil {
		return nil, err
	}
	if loc != d.Location {
		placed := *d
		placed.Location = loc
		d = &placed
	}
	last, err := tx.LastActivity(ctx, od.Household)
	if err != nil {
		return nil, fmt.Errorf("household of %s: last activity: %w", d.ID, err)
	}
	if !last.At.IsZero() && !last.At.Before(od.WindowStart) {
		return nil, nil
	}
	h := s.newHandling(ctx, tx, d, now)
	latest, err := h.latest(KindNoActivity)
	if err != nil {
		return nil, err
	}
	if latest != nil && !latest.OpenedAt.Before(od.WindowEnd) {
		return nil, nil
	}
	data := map[string]string{
		"window_start": fmtT(od.WindowStart), "window_end": fmtT(od.WindowEnd),
		"grid_worker": d.GridWorker.Name,
	}
	if !last.At.IsZero() {
		data["last_activity"], data["last_how"] = fmtT(last.At), last.How
	}
	if open, err := h.tx.ScopeAlerts(ctx, HouseholdScope(d.Location), []Kind{KindNoActivity}, time.Time{}); err != nil {
		return nil, err
	} else if len(open) > 0 && open[0].DeviceID != d.ID {
		// The household's open alert is on another of its devices: it
		// carries the days that follow.
		a := h.canon(open[0], false)
		a.Occurrences++
		a.LastOccurrence = now
		a.Cleared, a.ClearedAt = false, time.Time{}
		h.touch(a)
		data["days"] = strconv.Itoa(a.Occurrences)
		if err := h.log(a, System, TimelineOccurred, "", data); err != nil {
			return nil, err
		}
		_, err := h.flush()
		return a, err
	}
	a, err := h.occur(KindNoActivity, SeverityMajor, nil, System, data)
	if err != nil {
		return nil, fmt.Errorf("device %s no activity: %w", d.ID, err)
	}
	if _, err := h.flush(); err != nil {
		return nil, fmt.Errorf("device %s no activity: %w", d.ID, err)
	}
	return a, nil
}
