package alerts

import (
	"fmt"
	"strings"
	"time"
)

// The rules that turn readings into alerts, and the few moves every rule
// is made of: open or add an occurrence, raise, clear.

// gas applies a gas reading (%LEL) or a detector's own gas alarm (event,
// with or without a reading, opens at least gas_low: the detector said
// so). A rising leak raises the open alert; a reading below the clear
// level marks it cleared; severity never goes down by itself.
func (h *handling) gas(v *float64, event bool, data map[string]string) (*Alert, error) {
	g := h.rules.Gas
	if event || *v >= g.Low {
		k := KindGasLow
		if v != nil && *v >= g.High {
			k = KindGasHigh
		}
		return h.occur(k, severityOf(k), v, deviceActor(h.d.ID), data)
	}
	if *v >= g.Low-g.Hysteresis {
		return nil, nil
	}
	a, err := h.openFamily("gas")
	if err != nil || a == nil {
		return nil, err
	}
	data["clear_below"] = fmtF(g.Low - g.Hysteresis)
	return a, h.clear(a, deviceActor(h.d.ID), data)
}

// air applies an air monitor's readings: any limited field above its
// limit is an occurrence of air_quality (the worst, relative to its limit,
// is named in the timeline); a message whose limited fields are all below
// their clear levels marks the open alert cleared.
func (h *handling) air(f map[string]float64, seq string) error {
	var (
		worst      string
		worstRatio float64
		over       []string
		present    bool
		allClear   = true
	)
	for _, name := range sortedKeys(h.rules.Air) {
		v, ok := f[name]
		if !ok {
			continue
		}
		l := h.rules.Air[name]
		present = true
		if v >= l.Limit-l.Hysteresis {
			allClear = false
		}
		if v > l.Limit {
			over = append(over, name+"="+fmtF(v))
			if r := v / l.Limit; worst == "" || r > worstRatio {
				worst, worstRatio = name, r
			}
		}
	}
	actor := deviceActor(h.d.ID)
	if worst != "" {
		data := map[string]string{"field": worst, "value": fmtF(f[worst]), "limit": fmtF(h.rules.Air[worst].Limit), "seq": seq}
		if len(over) > 1 {
			data["over"] = strings.Join(over, ",")
		}
		_, err := h.occur(KindAirQuality, SeverityMinor, nil, actor, data)
		return err
	}
	if !present || !allClear {
		return nil
	}
	a, err := h.openFamily(string(KindAirQuality))
	if err != nil || a == nil {
		return err
	}
	return h.clear(a, actor, map[string]string{"seq": seq})
}

// battery applies a battery reading (v) or a low_battery event (v nil).
// Low battery opens one minor alert and latches: while the latest
// low_battery alert is not cleared, whatever its state, no other opens
// (an event still counts as an occurrence while it is open). A reading at
// or above Replaced clears the latch. It returns the alert an event is
// attributed to.
func (h *handling) battery(v *float64, data map[string]string) (*Alert, error) {
	b := h.rules.Battery
	low := v == nil || *v <= b.Low
	replaced := v != nil && *v >= b.Replaced
	if !low && !replaced {
		return nil, nil
	}
	latest, err := h.latest(KindLowBattery)
	if err != nil {
		return nil, err
	}
	latched := latest != nil && !latest.Cleared
	switch {
	case replaced:
		if latched {
			data["replaced_at"] = fmtF(b.Replaced)
			return latest, h.clear(latest, deviceActor(h.d.ID), data)
		}
		return nil, nil
	case latched && (v != nil || !latest.State.Open()):
		return latest, nil
	}
	return h.occur(KindLowBattery, SeverityMinor, v, deviceActor(h.d.ID), data)
}

// returned marks an open offline alert cleared: the device spoke.
func (h *handling) returned(via string) error {
	a, err := h.openFamily(string(KindOffline))
	if err != nil || a == nil || a.Cleared {
		return err
	}
	return h.clear(a, deviceActor(h.d.ID), map[string]string{"via": via})
}

// openAlerts reads the device's open alerts once.
func (h *handling) openAlerts() ([]*Alert, error) {
	if !h.loaded {
		list, err := h.tx.OpenAlerts(h.ctx, h.d.ID)
		if err != nil {
			return nil, fmt.Errorf("read open alerts: %w", err)
		}
		for _, a := range list {
			h.open = append(h.open, h.canon(a, false))
		}
		h.loaded = true
	}
	return h.open, nil
}

// openFamily returns the device's open alert of a family, or nil.
func (h *handling) openFamily(family string) (*Alert, error) {
	list, err := h.openAlerts()
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.Kind.Family() == family && a.State.Open() {
			return a, nil
		}
	}
	return nil, nil
}

// latest returns the device's most recently opened real alert of kind, or
// nil if there is none.
func (h *handling) latest(kind Kind) (*Alert, error) {
	a, err := h.tx.LatestAlert(h.ctx, h.d.ID, kind)
	switch {
	case notFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read latest %s alert: %w", kind, err)
	case a.Test:
		return nil, nil
	}
	return h.canon(a, false), nil
}

// occur records the condition kind: it opens an alert, or adds an
// occurrence to the device's open alert of the family (recurred if it had
// cleared), raising its severity if kind is worse.
func (h *handling) occur(kind Kind, sev Severity, reading *float64, actor Actor, data map[string]string) (*Alert, error) {
	a, err := h.openFamily(kind.Family())
	if err != nil {
		return nil, err
	}
	if a == nil {
		a = newAlert(h.d, kind, sev, h.now, reading)
		return a, h.opened(a, actor, data)
	}
	a.Occurrences++
	a.LastOccurrence = h.now
	a.Reading = worse(kind, a.Reading, reading)
	action := TimelineOccurred
	if a.Cleared {
		a.Cleared, a.ClearedAt = false, time.Time{}
		action = TimelineRecurred
	}
	h.touch(a)
	if err := h.log(a, actor, action, "", data); err != nil {
		return nil, err
	}
	if action == TimelineRecurred {
		if err := h.linkedChanged(a); err != nil {
			return nil, err
		}
	}
	if sev.Rank() > a.Severity.Rank() {
		if err := h.raise(a, kind, sev, actor, data); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// opened stores a, a new alert of the device, notes on its timeline who
// opened it, and plans its escalation.
func (h *handling) opened(a *Alert, actor Actor, data map[string]string) error {
	if err := h.create(a); err != nil {
		return err
	}
	h.open = append(h.open, a)
	if err := h.log(a, actor, TimelineOpened, "", data); err != nil {
		return err
	}
	if err := h.s.planEscalation(h.op, a); err != nil {
		return err
	}
	if err := h.s.planNotify(h.op, a, 0); err != nil {
		return err
	}
	if alarmKind(a.Kind) {
		return h.s.correlateAlarm(h.op, a) // incident.go
	}
	return nil
}

// raise makes an open alert worse (gas_low → gas_high) and re-plans its
// timers for the new severity.
func (h *handling) raise(a *Alert, kind Kind, sev Severity, actor Actor, data map[string]string) error {
	d := map[string]string{"from": string(a.Kind), "to": string(kind)}
	for k, v := range data {
		if _, ok := d[k]; !ok {
			d[k] = v
		}
	}
	a.Kind, a.Severity, a.Priority = kind, sev, priority(sev, &a.Device)
	if err := h.log(a, actor, TimelineSeverityRaised, "", d); err != nil {
		return err
	}
	return h.s.replan(h.op, a)
}

// clear marks a cleared: the device reports the condition gone. Clearing
// never closes an alert: a person must.
func (h *handling) clear(a *Alert, actor Actor, data map[string]string) error {
	if a.Cleared {
		return nil
	}
	a.Cleared, a.ClearedAt = true, h.now
	h.touch(a)
	if err := h.log(a, actor, TimelineCleared, "", data); err != nil {
		return err
	}
	return h.linkedChanged(a)
}

// worse keeps the worst of two readings: the lowest battery, the highest
// of anything else.
func worse(kind Kind, old, v *float64) *float64 {
	switch {
	case v == nil:
		return old
	case old == nil:
		return cloneF(v)
	case kind == KindLowBattery && *v < *old, kind != KindLowBattery && *v > *old:
		return cloneF(v)
	}
	return old
}
