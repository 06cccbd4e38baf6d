package alertstest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// The incident and check-in parts of a transaction (alerts.IncidentTx,
// alerts.CheckinTx), as the SQL store keeps them.

// ScopeAlerts implements alerts.IncidentTx.
func (tx *Tx) ScopeAlerts(ctx context.Context, scope string, kinds []alerts.Kind, since time.Time) ([]*alerts.Alert, error) {
	if err := tx.begin(ctx, "ScopeAlerts"); err != nil {
		return nil, err
	}
	since = norm(since)
	out := tx.s.selectAlerts(func(a *alerts.Alert) bool {
		return scope != "" && alerts.ScopeOf(a) == scope && slices.Contains(kinds, a.Kind) && a.State.Open() &&
			!a.Test && a.IncidentID == 0 && !a.OpenedAt.Before(since)
	})
	slices.SortStableFunc(out, func(a, b *alerts.Alert) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		return cmpID(a.ID, b.ID)
	})
	return out, nil
}

// LinkedAlerts implements alerts.IncidentTx.
func (tx *Tx) LinkedAlerts(ctx context.Context, incidentID int64) ([]*alerts.Alert, error) {
	if err := tx.begin(ctx, "LinkedAlerts"); err != nil {
		return nil, err
	}
	out := tx.s.selectAlerts(func(a *alerts.Alert) bool { return incidentID != 0 && a.IncidentID == incidentID })
	slices.SortStableFunc(out, func(a, b *alerts.Alert) int {
		if c := a.OpenedAt.Compare(b.OpenedAt); c != 0 {
			return c
		}
		return cmpID(a.ID, b.ID)
	})
	return out, nil
}

// PutMember implements alerts.IncidentTx.
func (tx *Tx) PutMember(ctx context.Context, m alerts.IncidentMember) error {
	if err := tx.begin(ctx, "PutMember"); err != nil {
		return err
	}
	s := tx.s
	inc := s.alerts[m.IncidentID]
	switch {
	case inc == nil || inc.Incident == nil:
		return shouwang.Errorf(shouwang.ENOTFOUND, "incident %d not found", m.IncidentID)
	case m.DeviceID == "":
		return shouwang.Errorf(shouwang.EINVALID, "incident %d: a member without a device", m.IncidentID)
	}
	m.Since, m.ReturnedAt = norm(m.Since), norm(m.ReturnedAt)
	old := s.members[m.IncidentID]
	list := slices.Clone(old)
	if i := slices.IndexFunc(list, func(x alerts.IncidentMember) bool { return x.DeviceID == m.DeviceID }); i >= 0 {
		list[i] = m
	} else {
		list = append(list, m)
	}
	s.members[m.IncidentID] = list
	tx.undo = append(tx.undo, func() {
		if old == nil {
			delete(s.members, m.IncidentID)
		} else {
			s.members[m.IncidentID] = old
		}
	})
	return nil
}

// Members implements alerts.IncidentTx.
func (tx *Tx) Members(ctx context.Context, incidentID int64) ([]alerts.IncidentMember, error) {
	if err := tx.begin(ctx, "Members"); err != nil {
		return nil, err
	}
	return slices.Clone(tx.s.members[incidentID]), nil
}

// Memberships implements alerts.IncidentTx: the device's memberships of
// open incidents, by incident.
func (tx *Tx) Memberships(ctx context.Context, deviceID string) ([]alerts.IncidentMember, error) {
	if err := tx.begin(ctx, "Memberships"); err != nil {
		return nil, err
	}
	return tx.s.memberships(func(m alerts.IncidentMember) bool { return m.DeviceID == deviceID }), nil
}

// memberships returns the members of open incidents that keep says, by
// incident and in the order they joined.
func (s *Store) memberships(keep func(alerts.IncidentMember) bool) []alerts.IncidentMember {
	var ids []int64
	for id := range s.members {
		if a := s.alerts[id]; a != nil && a.State.Open() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []alerts.IncidentMember
	for _, id := range ids {
		for _, m := range s.members[id] {
			if keep(m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// OpenMemberships returns the members of open incidents not heard from
// again (the hub's start).
func (s *Store) OpenMemberships(ctx context.Context) ([]alerts.IncidentMember, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberships(func(m alerts.IncidentMember) bool { return m.ReturnedAt.IsZero() }), nil
}

// RecordActivity implements alerts.CheckinTx.
func (tx *Tx) RecordActivity(ctx context.Context, a alerts.Activity) error {
	if err := tx.begin(ctx, "RecordActivity"); err != nil {
		return err
	}
	if a.Household == "" || a.At.IsZero() {
		return shouwang.Errorf(shouwang.EINVALID, "record activity: household and time are required")
	}
	s := tx.s
	a.At = norm(a.At)
	old, had := s.activity[a.Household]
	if had && !a.At.After(old.At) {
		return nil
	}
	s.activity[a.Household] = a
	tx.undo = append(tx.undo, func() {
		if had {
			s.activity[a.Household] = old
		} else {
			delete(s.activity, a.Household)
		}
	})
	return nil
}

// LastActivity implements alerts.CheckinTx.
func (tx *Tx) LastActivity(ctx context.Context, household string) (alerts.Activity, error) {
	if err := tx.begin(ctx, "LastActivity"); err != nil {
		return alerts.Activity{}, err
	}
	return tx.s.activity[household], nil
}

// HouseholdLocations implements alerts.CheckinTx: the locations of the
// devices given to SetDevices at l's community, building and household.
func (tx *Tx) HouseholdLocations(ctx context.Context, l devices.Location) ([]devices.Location, error) {
	if err := tx.begin(ctx, "HouseholdLocations"); err != nil {
		return nil, err
	}
	var out []devices.Location
	for _, x := range tx.s.registry {
		if x.Household != "" && x.Community == l.Community && x.Building == l.Building && x.Household == l.Household {
			out = append(out, x)
		}
	}
	return out, nil
}

// SetDevices tells the fake which devices are registered, by their
// locations (HouseholdLocations); it replaces what was set before.
func (s *Store) SetDevices(ds ...*devices.Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registry = make([]devices.Location, len(ds))
	for i, d := range ds {
		s.registry[i] = d.Location
	}
}

func cloneIncident(in *alerts.Incident) *alerts.Incident {
	if in == nil {
		return nil
	}
	c := *in
	c.Units, c.Floors = slices.Clone(in.Units), slices.Clone(in.Floors)
	return &c
}

// SetCheckinPlan implements alerts.CheckinStore.
func (s *Store) SetCheckinPlan(ctx context.Context, p alerts.CheckinPlan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Empty() {
		delete(s.plans, p.Household)
		return nil
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = s.now()
	}
	p.QuietUntil, p.UpdatedAt = norm(p.QuietUntil), norm(p.UpdatedAt)
	s.plans[p.Household] = clonePlan(p)
	return nil
}

// CheckinPlans implements alerts.CheckinStore.
func (s *Store) CheckinPlans(ctx context.Context) ([]alerts.CheckinPlan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.plans))
	for k := range s.plans {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]alerts.CheckinPlan, len(keys))
	for i, k := range keys {
		out[i] = clonePlan(s.plans[k])
	}
	return out, nil
}

func clonePlan(p alerts.CheckinPlan) alerts.CheckinPlan {
	if p.Watch != nil {
		w := *p.Watch
		p.Watch = &w
	}
	if p.Start != nil {
		st, en := *p.Start, *p.End
		p.Start, p.End = &st, &en
	}
	return p
}

// SaveActivities implements alerts.CheckinStore.
func (s *Store) SaveActivities(ctx context.Context, as []alerts.Activity) error {
	return s.InTx(ctx, func(tx alerts.Tx) error {
		for _, a := range as {
			if err := tx.RecordActivity(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// Activities implements alerts.CheckinStore.
func (s *Store) Activities(ctx context.Context) ([]alerts.Activity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]alerts.Activity, 0, len(s.activity))
	for _, a := range s.activity {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b alerts.Activity) int { return strings.Compare(a.Household, b.Household) })
	return out, nil
}
