package alerts

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Incidents: alerts that belong together are handled together. Several
// smoke, gas or CO alarms in one building within a few minutes are one
// fire or leak (building_alarm); many devices of one building or bridge
// going offline together are one power cut or failed gateway (outage).
//
// An incident is itself an alert, of kind building_alarm or outage, with
// Incident set: it has the life cycle, timeline, escalation and live feed
// of every alert, so the duty room accepts, dispatches and resolves it as
// one. Its DeviceID is its scope (a building's or a bridge's), not a
// device, so it never mixes with a device's own alerts. The alerts it
// groups stay, linked to it (IncidentID), and follow its actions: accepting
// the incident accepts them, resolving resolves them, closing closes them.
// A linked alert stops escalating on its own; the incident escalates for
// it, counted from the earliest linked alert's opening. An outage groups
// devices rather than alerts: its members are listed (IncidentMember), and
// it is marked cleared when every member has been heard from again.

// Incident is what an incident alert holds besides its alert fields.
type Incident struct {
	Scope     string `json:"scope"` // see BuildingScope, OfflineScope
	Community string `json:"community"`
	Building  string `json:"building,omitempty"`
	Gateway   string `json:"gateway,omitempty"` // an outage of a bridge's devices
	// Alerts counts the linked alerts, Devices the members, Returned the
	// members heard from again (outage).
	Alerts   int `json:"alerts"`
	Devices  int `json:"devices"`
	Returned int `json:"returned"`
	// Units and Floors are the affected ones, sorted as a building's
	// floors are (numbers in order).
	Units  []string `json:"units,omitempty"`
	Floors []string `json:"floors,omitempty"`
	// FirstAt is when its earliest member alarmed or went offline.
	FirstAt time.Time `json:"first_at"`
}

// IncidentMember is one device of an incident: a device whose alert is
// linked to it, or an outage's device.
type IncidentMember struct {
	IncidentID int64        `json:"incident_id"`
	DeviceID   string       `json:"device_id"`
	AlertID    int64        `json:"alert_id,omitempty"` // its linked alert, if any
	Kind       devices.Kind `json:"kind"`
	Unit       string       `json:"unit,omitempty"`
	Floor      string       `json:"floor,omitempty"`
	Household  string       `json:"household,omitempty"`
	// Since is when it alarmed or went offline; ReturnedAt when it was
	// heard from again (outage), zero while it is not.
	Since      time.Time `json:"since"`
	ReturnedAt time.Time `json:"returned_at,omitzero"`
}

// IncidentTx is what incidents need from a store transaction; every Tx
// has it.
type IncidentTx interface {
	// ScopeAlerts returns the open real alerts of scope (ScopeOf) whose
	// kind is one of kinds, linked to no incident and opened at or after
	// since, oldest first, without timelines.
	ScopeAlerts(ctx context.Context, scope string, kinds []Kind, since time.Time) ([]*Alert, error)
	// LinkedAlerts returns the alerts linked to an incident, oldest first,
	// without timelines.
	LinkedAlerts(ctx context.Context, incidentID int64) ([]*Alert, error)
	// PutMember adds a member to its incident or replaces the one of the
	// same device (its AlertID, Since and ReturnedAt).
	PutMember(ctx context.Context, m IncidentMember) error
	// Members returns an incident's members in the order they joined.
	Members(ctx context.Context, incidentID int64) ([]IncidentMember, error)
	// Memberships returns the device's memberships of open incidents.
	Memberships(ctx context.Context, deviceID string) ([]IncidentMember, error)
}

// Scope keys. The parts are joined with a control character, which no
// location or ID may contain (devices.Device.Validate), so two scopes are
// equal only if their parts are.
const scopeSep = "\x1f"

// BuildingScope is the scope of a building's alarms, "" for a location
// without a building.
func BuildingScope(l devices.Location) string {
	if l.Building == "" {
		return ""
	}
	return "building:" + l.Community + scopeSep + l.Building
}

// GatewayScope is the scope of the devices behind a bridge.
func GatewayScope(gateway string) string { return "gateway:" + gateway }

// OfflineScope is where a device going offline is counted with others:
// behind its bridge if it has one (the bridge may be what failed), else in
// its building.
func OfflineScope(d *devices.Device) string {
	if d.Gateway != "" {
		return GatewayScope(d.Gateway)
	}
	return BuildingScope(d.Location)
}

// HouseholdScope is the scope of a household's no_activity alerts.
func HouseholdScope(l devices.Location) string {
	if k := l.HouseholdKey(); k != "" {
		return "household:" + k
	}
	return ""
}

// ScopeOf is the scope an alert is correlated in, "" for none. Stores keep
// it with the alert, for ScopeAlerts.
func ScopeOf(a *Alert) string {
	switch {
	case a.Incident != nil:
		return a.Incident.Scope
	case a.Kind == KindOffline:
		return OfflineScope(&a.Device)
	case alarmKind(a.Kind):
		return BuildingScope(a.Device.Location)
	case a.Kind == KindNoActivity:
		return HouseholdScope(a.Device.Location)
	}
	return ""
}

// alarmKinds are the kinds a building_alarm groups.
var alarmKinds = []Kind{KindSmoke, KindGasLow, KindGasHigh, KindCO}

func alarmKind(k Kind) bool { return slices.Contains(alarmKinds, k) }

// IsIncident reports whether k is an incident's kind.
func (k Kind) IsIncident() bool { return k == KindBuildingAlarm || k == KindOutage }

// correlateAlarm runs after a smoke, gas or CO alert opened: it joins the
// building's open building_alarm, or, when enough such alerts of the
// building opened within the window, makes one that links them all.
func (s *Service) correlateAlarm(o *op, a *Alert) error {
	rule := s.rules.Incidents.Alarm
	scope := BuildingScope(a.Device.Location)
	if rule.MinAlerts == 0 || scope == "" || a.Test || a.IncidentID != 0 {
		return nil
	}
	inc, err := o.openIncident(scope, KindBuildingAlarm)
	if err != nil || inc != nil {
		if err == nil {
			err = o.link(inc, a)
		}
		return err
	}
	recent, err := o.tx.ScopeAlerts(o.ctx, scope, alarmKinds, o.now.Add(-rule.Window.D()))
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(recent, func(r *Alert) bool { return r.ID == a.ID }) {
		recent = append(recent, a)
	}
	if len(recent) < rule.MinAlerts {
		return nil
	}
	inc, err = o.newIncident(KindBuildingAlarm, scope, &a.Device, "")
	if err != nil {
		return err
	}
	for _, r := range recent {
		if err := o.link(inc, o.canon(r, false)); err != nil {
			return err
		}
	}
	return s.planIncidentEscalation(o, inc, recent)
}

// openIncident returns the scope's open incident of kind, or nil.
func (o *op) openIncident(scope string, kind Kind) (*Alert, error) {
	list, err := o.tx.OpenAlerts(o.ctx, scope)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.Kind == kind && a.State.Open() {
			return o.canon(a, false), nil
		}
	}
	return nil, nil
}

// newIncident opens an incident alert of kind for scope; d is the device
// of its first member, whose place (and grid worker) it takes.
func (o *op) newIncident(kind Kind, scope string, d *devices.Device, gateway string) (*Alert, error) {
	l := d.Location
	dev := devices.Device{
		Location:   devices.Location{Community: l.Community, Grid: l.Grid, Building: l.Building},
		GridWorker: d.GridWorker,
	}
	if gateway != "" {
		dev.ID, dev.Kind = gateway, devices.KindGateway
	}
	inc := newAlert(&dev, kind, severityOf(kind), o.now, nil)
	inc.DeviceID, inc.Occurrences = scope, 0
	inc.Incident = &Incident{Scope: scope, Community: l.Community, Building: l.Building, Gateway: gateway, FirstAt: o.now}
	if err := o.create(inc); err != nil {
		return nil, err
	}
	data := map[string]string{"scope_kind": scopeKind(scope)}
	if gateway != "" {
		data["gateway"] = gateway
	}
	return inc, o.log(inc, System, TimelineOpened, "", data)
}

func scopeKind(scope string) string {
	for i := range len(scope) {
		if scope[i] == ':' {
			return scope[:i]
		}
	}
	return ""
}

// link links alert a to incident inc: a stops escalating on its own, and
// inc counts it and its device.
func (o *op) link(inc, a *Alert) error {
	if a.IncidentID == inc.ID {
		return nil
	}
	a.IncidentID = inc.ID
	o.touch(a)
	if err := o.tx.DeleteTimers(o.ctx, a.ID, TimerEscalate1, TimerEscalate2); err != nil {
		return err
	}
	id := strconv.FormatInt(inc.ID, 10)
	if err := o.log(a, System, TimelineLinked, "", map[string]string{"incident": id}); err != nil {
		return err
	}
	inc.Incident.Alerts++
	if a.EscalationLevel > inc.EscalationLevel && inc.State == StateNew {
		inc.EscalationLevel = a.EscalationLevel
	}
	if a.Device.Resident.LivesAlone && inc.Priority == priority(inc.Severity, &inc.Device) {
		inc.Priority-- // someone alone is among them: as urgent as their own alert
	}
	data := map[string]string{"alert": strconv.FormatInt(a.ID, 10), "device": a.DeviceID}
	m := IncidentMember{IncidentID: inc.ID, DeviceID: a.DeviceID, AlertID: a.ID, Since: a.OpenedAt}
	if _, err := o.addMember(inc, m, &a.Device); err != nil {
		return err
	}
	if err := o.log(inc, System, TimelineIncidentJoined, "", data); err != nil {
		return err
	}
	if !a.Cleared {
		return o.setCleared(inc, false, data)
	}
	return nil
}

// addMember records m (a device of inc) and counts it, with its unit and
// floor, on inc. A device already a member keeps its place: its alert is
// added if it had none, and one that had been heard from again is back in
// (no longer returned, and its Since is the new one). It reports whether
// the device joined or came back.
func (o *op) addMember(inc *Alert, m IncidentMember, d *devices.Device) (bool, error) {
	m.Kind, m.Unit, m.Floor, m.Household = d.Kind, d.Location.Unit, d.Location.Floor, d.Location.Household
	ms, err := o.tx.Members(o.ctx, inc.ID)
	if err != nil {
		return false, err
	}
	in := inc.Incident
	if i := slices.IndexFunc(ms, func(x IncidentMember) bool { return x.DeviceID == m.DeviceID }); i >= 0 {
		old := ms[i]
		back := !old.ReturnedAt.IsZero()
		if m.AlertID == 0 {
			m.AlertID = old.AlertID
		}
		if !back {
			m.Since = old.Since
		}
		if m == old {
			return false, nil
		}
		if back {
			in.Returned--
			inc.Occurrences++
			inc.LastOccurrence = o.now
		}
		o.touch(inc)
		return back, o.tx.PutMember(o.ctx, m)
	}
	if err := o.tx.PutMember(o.ctx, m); err != nil {
		return false, err
	}
	in.Devices++
	inc.Occurrences++
	inc.LastOccurrence = o.now
	in.Units = addSorted(in.Units, m.Unit)
	in.Floors = addSorted(in.Floors, m.Floor)
	if in.FirstAt.IsZero() || m.Since.Before(in.FirstAt) {
		in.FirstAt = m.Since
	}
	o.touch(inc)
	return true, nil
}

// addSorted adds v to a list kept in building order (devices.ComparePlace), once.
func addSorted(list []string, v string) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	list = append(slices.Clone(list), v)
	slices.SortFunc(list, devices.ComparePlace)
	return list
}

// planIncidentEscalation plans a new incident's escalation from the
// earliest opening among the alerts it linked (they were escalating on
// their own until then), so grouping never delays it; with none, from its
// own opening.
func (s *Service) planIncidentEscalation(o *op, inc *Alert, linked []*Alert) error {
	opened := inc.OpenedAt
	for _, a := range linked {
		if a.OpenedAt.Before(inc.OpenedAt) {
			inc.OpenedAt = a.OpenedAt
		}
	}
	err := s.planEscalation(o, inc)
	inc.OpenedAt = opened
	return err
}

// linkedChanged runs when a linked alert was cleared or recurred: a
// building_alarm is cleared when every alert in it that is still open is.
func (o *op) linkedChanged(a *Alert) error {
	if a.IncidentID == 0 {
		return nil
	}
	inc, err := o.tx.FindAlert(o.ctx, a.IncidentID)
	if notFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	inc = o.canon(inc, true)
	if inc.Kind != KindBuildingAlarm || !inc.State.Open() {
		return nil
	}
	linked, err := o.tx.LinkedAlerts(o.ctx, inc.ID)
	if err != nil {
		return err
	}
	all := true // every alert in it that is still open is cleared
	for _, l := range linked {
		if l = o.canon(l, false); l.State.Open() && !l.Cleared {
			all = false
		}
	}
	return o.setCleared(inc, all, map[string]string{"alert": strconv.FormatInt(a.ID, 10)})
}

// setCleared marks an incident cleared or, when a member alarms or goes
// offline again, recurred.
func (o *op) setCleared(inc *Alert, cleared bool, data map[string]string) error {
	switch {
	case cleared && !inc.Cleared:
		inc.Cleared, inc.ClearedAt = true, o.now
		o.touch(inc)
		return o.log(inc, System, TimelineCleared, "", data)
	case !cleared && inc.Cleared:
		inc.Cleared, inc.ClearedAt = false, time.Time{}
		o.touch(inc)
		return o.log(inc, System, TimelineRecurred, "", data)
	}
	return nil
}
