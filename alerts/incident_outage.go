package alerts

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// OfflineGroup is what supervision found offline in one scope at one
// sweep: the devices past their grace or reporting time (Due), and those
// of the scope whose last will is still within its grace, which count as
// going offline with them.
type OfflineGroup struct {
	Scope string // OfflineScope of every member; "" groups nothing
	// GatewayDown says the scope's bridge itself went offline (its own
	// last will), so its devices are unreachable together.
	GatewayDown bool
	Gateway     string // the bridge's device ID, for a gateway scope
	Members     []OfflineMember
}

// OfflineMember is one device of an OfflineGroup.
type OfflineMember struct {
	Device *devices.Device
	// Since is when it went offline: its last will, or when it was last
	// heard from. LastSeen is the latter (zero if never).
	Since, LastSeen time.Time
	Will            bool // it sent its last will (else it fell silent)
	Due             bool // past its grace or reporting time
}

// OfflineResult is what Offline changed, and the members that joined an
// outage before their own time was due: the caller stops watching them as
// it does devices found offline, so their return is noticed.
type OfflineResult struct {
	Changed []*Alert
	Taken   []string
}

// Offline applies supervision's verdict on a group of devices of one scope.
// When the scope has an open outage, the members join it. Otherwise, when
// the group's bridge went offline, or at least incidents.outage.min_devices
// devices of the scope went offline within its window of each other (the
// group's members and the scope's recent offline alerts together), one
// outage incident opens for them all, linking those alerts. Otherwise each
// due member gets its own offline alert, as DeviceSilent gives it.
func (s *Service) Offline(ctx context.Context, tx Tx, g OfflineGroup, now time.Time) (OfflineResult, error) {
	o := s.newOp(ctx, tx, now)
	due := slices.IndexFunc(g.Members, func(m OfflineMember) bool { return m.Due })
	if due < 0 {
		return OfflineResult{}, nil
	}
	for _, m := range g.Members {
		if m.Device == nil {
			return OfflineResult{}, shouwang.Errorf(shouwang.EINVALID, "offline: a member without its device")
		}
	}
	var (
		inc    *Alert
		taken  []OfflineMember
		linked []*Alert
		fresh  bool
		err    error
	)
	if g.Scope != "" {
		if inc, err = o.openIncident(g.Scope, KindOutage); err != nil {
			return OfflineResult{}, fmt.Errorf("offline in %s: %w", g.Scope, err)
		}
	}
	rule := s.rules.Incidents.Outage
	if inc != nil {
		taken = together(g.Members, g.Members[due].Since, rule.Window.D(), true)
	} else if g.Scope != "" && (g.GatewayDown || rule.MinDevices > 0) {
		taken = together(g.Members, g.Members[due].Since, rule.Window.D(), g.GatewayDown)
		if linked, err = o.tx.ScopeAlerts(ctx, g.Scope, []Kind{KindOffline}, now.Add(-rule.Window.D())); err != nil {
			return OfflineResult{}, fmt.Errorf("offline in %s: %w", g.Scope, err)
		}
		if !g.GatewayDown && len(taken)+len(outsiders(linked, taken)) < rule.MinDevices {
			taken, linked = nil, nil
		} else if inc, err = o.newIncident(KindOutage, g.Scope, g.Members[due].Device, g.Gateway); err != nil {
			return OfflineResult{}, err
		} else {
			fresh = true
		}
	}
	if inc == nil {
		return s.offlineEach(o, g)
	}
	res, err := s.joinOutage(o, inc, taken, outsiders(linked, taken), fresh)
	if err != nil {
		return OfflineResult{}, fmt.Errorf("outage in %s: %w", g.Scope, err)
	}
	return res, nil
}

// together returns the members that went offline with the due member at
// ref: every due one, and with all (a bridge down, an outage already open)
// every other, else those whose will came within window of ref.
func together(ms []OfflineMember, ref time.Time, window time.Duration, all bool) []OfflineMember {
	var out []OfflineMember
	for _, m := range ms {
		if d := m.Since.Sub(ref); m.Due || all || d <= window && d >= -window {
			out = append(out, m)
		}
	}
	return out
}

// outsiders are the alerts of devices not among ms.
func outsiders(as []*Alert, ms []OfflineMember) []*Alert {
	var out []*Alert
	for _, a := range as {
		if !slices.ContainsFunc(ms, func(m OfflineMember) bool { return m.Device.ID == a.DeviceID }) {
			out = append(out, a)
		}
	}
	return out
}

// joinOutage adds members to inc (with their own open offline alerts,
// linked) and links alerts of other devices of the scope; fresh says inc
// was just opened, so its escalation is planned.
func (s *Service) joinOutage(o *op, inc *Alert, ms []OfflineMember, alerts []*Alert, fresh bool) (OfflineResult, error) {
	var res OfflineResult
	for _, m := range ms {
		h := &handling{op: o, d: m.Device, rules: s.rules.For(m.Device)}
		own, err := h.openFamily(string(KindOffline))
		if err != nil {
			return res, err
		}
		if own != nil && own.IncidentID == 0 {
			alerts = append(alerts, own)
		}
		res.Taken = append(res.Taken, m.Device.ID)
		data := map[string]string{"device": m.Device.ID, "via": offlineVia(m.Will)}
		in, err := o.addMember(inc, IncidentMember{IncidentID: inc.ID, DeviceID: m.Device.ID, Since: m.Since}, m.Device)
		if err != nil || !in {
			if err != nil {
				return res, err
			}
			continue
		}
		if err := o.log(inc, System, TimelineIncidentJoined, "", data); err != nil {
			return res, err
		}
		if err := o.setCleared(inc, false, data); err != nil {
			return res, err
		}
	}
	for _, a := range alerts {
		if err := o.link(inc, o.canon(a, false)); err != nil {
			return res, err
		}
	}
	if fresh {
		if err := s.planIncidentEscalation(o, inc, alerts); err != nil {
			return res, err
		}
	}
	var err error
	res.Changed, err = o.flush()
	return res, err
}

func offlineVia(will bool) string {
	if will {
		return "will"
	}
	return "silent"
}

// offlineEach gives each due member its own offline alert.
func (s *Service) offlineEach(o *op, g OfflineGroup) (OfflineResult, error) {
	for _, m := range g.Members {
		if !m.Due {
			continue
		}
		h := &handling{op: o, d: m.Device, rules: s.rules.For(m.Device)}
		if !h.rules.Supervised {
			continue
		}
		if _, err := h.occur(KindOffline, SeverityMajor, nil, System, offlineData(h.rules, m, o.now)); err != nil {
			return OfflineResult{}, fmt.Errorf("device %s offline: %w", m.Device.ID, err)
		}
	}
	changed, err := o.flush()
	return OfflineResult{Changed: changed}, err
}

// offlineData is what an offline alert's timeline says of why.
func offlineData(dr DeviceRules, m OfflineMember, now time.Time) map[string]string {
	data := map[string]string{"via": offlineVia(m.Will)}
	if m.Will {
		data["grace_s"] = seconds(dr.Supervision.Grace.D())
		data["at"] = fmtT(m.Since)
	} else {
		data["reporting"] = seconds(dr.Supervision.Reporting.D())
	}
	if !m.LastSeen.IsZero() {
		data["last_seen"] = fmtT(m.LastSeen)
		data["silent_for"] = seconds(now.Sub(m.LastSeen))
	}
	return data
}

// memberReturned marks d heard from again in every open outage it is an
// unreturned member of; an outage whose every member is back is cleared.
func (o *op) memberReturned(d *devices.Device) error {
	ms, err := o.tx.Memberships(o.ctx, d.ID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !m.ReturnedAt.IsZero() {
			continue
		}
		inc, err := o.tx.FindAlert(o.ctx, m.IncidentID)
		if notFound(err) {
			continue
		} else if err != nil {
			return err
		}
		inc = o.canon(inc, true)
		if inc.Kind != KindOutage || inc.Incident == nil || !inc.State.Open() {
			continue
		}
		m.ReturnedAt = o.now
		if err := o.tx.PutMember(o.ctx, m); err != nil {
			return err
		}
		inc.Incident.Returned++
		o.touch(inc)
		data := map[string]string{"device": d.ID}
		if err := o.log(inc, deviceActor(d.ID), TimelineMemberReturned, "", data); err != nil {
			return err
		}
		if inc.Incident.Returned >= inc.Incident.Devices {
			data["returned"] = strconv.Itoa(inc.Incident.Returned)
			if err := o.setCleared(inc, true, data); err != nil {
				return err
			}
		}
	}
	return nil
}
