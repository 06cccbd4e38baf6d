package alerts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
)

// maxRulesSize bounds a rules file; per-device overrides for a large
// street still fit many times over.
const maxRulesSize = 8 << 20

// Bounds on durations, so a typo cannot make a timer spin or never fire.
const (
	minDuration  = time.Second
	maxReporting = 7 * 24 * time.Hour // the supervisor keeps reporting times as int32 milliseconds
	maxTimer     = 30 * 24 * time.Hour
)

// ruleFile is the JSON form of a rules file: every part optional, laid
// over DefaultRules.
type ruleFile struct {
	Gas         *GasOverride                         `json:"gas"`
	Air         map[string]LimitOverride             `json:"air"`
	Battery     *BatteryOverride                     `json:"battery"`
	Supervision map[devices.Kind]SupervisionOverride `json:"supervision"`
	Escalation  map[Severity]EscalationOverride      `json:"escalation"`
	FollowUp    *FollowUpOverride                    `json:"followup"`
	Notify      *NotifyRules                         `json:"notify"`
	Devices     map[string]DeviceOverride            `json:"devices"`
	Incidents   *IncidentOverride                    `json:"incidents"`
	Checkin     *CheckinOverride                     `json:"checkin"`
	Evacuation  *EvacuationRules                     `json:"evacuation"`
}

// LoadRules reads a JSON rules file laid over DefaultRules (so the file
// names only what it changes) and validates the result. Unknown fields are
// errors, so a misspelt threshold is not silently ignored. Errors are
// EINVALID and name the bad field.
func LoadRules(r io.Reader) (RuleSet, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxRulesSize))
	dec.DisallowUnknownFields()
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		return RuleSet{}, shouwang.Errorf(shouwang.EINVALID, "rules: %s", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return RuleSet{}, shouwang.Errorf(shouwang.EINVALID, "rules: unexpected data after the JSON object")
	}
	rs := DefaultRules()
	if f.Gas != nil || len(f.Air) > 0 || f.Battery != nil {
		base := DeviceRules{Gas: rs.Gas, Air: rs.Air, Battery: rs.Battery}
		DeviceOverride{Gas: f.Gas, Air: f.Air, Battery: f.Battery}.apply(&base)
		rs.Gas, rs.Air, rs.Battery = base.Gas, base.Air, base.Battery
	}
	for k, o := range f.Supervision {
		s := rs.Supervision[k]
		setD(&s.Heartbeat, o.Heartbeat)
		setD(&s.Reporting, o.Reporting)
		setD(&s.Grace, o.Grace)
		rs.Supervision[k] = s
	}
	for sev, o := range f.Escalation {
		e := rs.Escalation[sev]
		setD(&e.T1, o.T1)
		setD(&e.T2, o.T2)
		setD(&e.Reminder, o.Reminder)
		rs.Escalation[sev] = e
	}
	if o := f.FollowUp; o != nil {
		setD(&rs.FollowUp.Within, o.Within)
		if o.Outcomes != nil {
			rs.FollowUp.Outcomes = o.Outcomes
		}
		if o.Kinds != nil {
			rs.FollowUp.Kinds = o.Kinds
		}
	}
	if f.Notify != nil {
		rs.Notify.overlay(f.Notify)
	}
	if len(f.Devices) > 0 {
		rs.Devices = f.Devices
	}
	f.applyMore(&rs)
	if err := rs.Validate(); err != nil {
		return RuleSet{}, err
	}
	return rs, nil
}

// jsonError turns a decoding error into a message naming the field.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("want a JSON object, not a JSON %s", te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("%s: want %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return "empty; want a JSON object"
	}
	return err.Error()
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return "an object"
}

// Validate checks the rule set and returns an EINVALID error naming the
// first bad field.
func (rs RuleSet) Validate() error {
	base := DeviceRules{Gas: rs.Gas, Air: rs.Air, Battery: rs.Battery}
	if err := validateThresholds("", base); err != nil {
		return err
	}
	for _, k := range sortedKeys(rs.Supervision) {
		spec := devices.Spec(k)
		switch {
		case spec == nil:
			return invalid("supervision.%s: unknown device kind", k)
		case !spec.LifeSafety:
			return invalid("supervision.%s: not a life-safety kind, so it is not supervised", k)
		}
		if err := validateSupervision("supervision."+string(k), rs.Supervision[k]); err != nil {
			return err
		}
	}
	for _, k := range devices.Kinds {
		if _, ok := rs.Supervision[k]; devices.Spec(k).LifeSafety && !ok {
			return invalid("supervision.%s: required for a life-safety kind", k)
		}
	}
	for _, sev := range sortedKeys(rs.Escalation) {
		if sev.Rank() == 0 {
			return invalid("escalation.%s: unknown severity (want critical, major or minor)", clip(string(sev)))
		}
		if err := validateEscalation("escalation."+string(sev), rs.Escalation[sev]); err != nil {
			return err
		}
	}
	if err := rs.validateMore(); err != nil {
		return err
	}
	if err := rs.FollowUp.validate(); err != nil {
		return err
	}
	if err := rs.Notify.validate(); err != nil {
		return err
	}
	for _, id := range sortedKeys(rs.Devices) {
		p := "devices[" + strconv.Quote(clip(id)) + "]."
		if !devices.ValidID(id) {
			return invalid("%s: not a valid device id", p[:len(p)-1])
		}
		o := rs.Devices[id]
		dr := base
		o.apply(&dr)
		if err := validateThresholds(p, dr); err != nil {
			return err
		}
		if o.Supervision == nil {
			continue
		}
		// The device's kind is not known here: the override must fit
		// every supervised kind's values it does not replace.
		for _, k := range sortedKeys(rs.Supervision) {
			if err := validateSupervision(p+"supervision", rs.Supervision[k].with(o.Supervision)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s SupervisionRules) with(o *SupervisionOverride) SupervisionRules {
	setD(&s.Heartbeat, o.Heartbeat)
	setD(&s.Reporting, o.Reporting)
	setD(&s.Grace, o.Grace)
	return s
}

// validateThresholds checks gas, air and battery thresholds; p prefixes
// field names.
// Comparisons are written so that NaN fails them.
func validateThresholds(p string, dr DeviceRules) error {
	g := dr.Gas
	switch {
	case !(g.Low > 0 && g.Low <= 100):
		return invalid("%sgas.low %g: must be above 0 and at most 100 %%LEL", p, g.Low)
	case !(g.High > g.Low && g.High <= 100):
		return invalid("%sgas.high %g: must be above gas.low (%g) and at most 100 %%LEL", p, g.High, g.Low)
	case !(g.Hysteresis >= 0 && g.Hysteresis < g.Low):
		return invalid("%sgas.hysteresis %g: must be at least 0 and below gas.low (%g)", p, g.Hysteresis, g.Low)
	}
	air := devices.Spec(devices.KindAir)
	for _, name := range sortedKeys(dr.Air) {
		l := dr.Air[name]
		f, ok := air.Field(name)
		if !ok || slices.Contains([]string{"battery", "signal"}, name) {
			return invalid("%sair.%s: not a field an air monitor reports", p, clip(name))
		}
		switch {
		case !(l.Limit > f.Min && l.Limit <= f.Max):
			return invalid("%sair.%s.limit %g: must be above %g and at most %g %s", p, name, l.Limit, f.Min, f.Max, f.Unit)
		case !(l.Hysteresis >= 0 && l.Limit-l.Hysteresis > f.Min):
			return invalid("%sair.%s.hysteresis %g: must be at least 0 and leave the clear level (limit − hysteresis) above %g", p, name, l.Hysteresis, f.Min)
		}
	}
	b := dr.Battery
	switch {
	case !(b.Low > 0 && b.Low < 100):
		return invalid("%sbattery.low %g: must be above 0 and below 100 %%", p, b.Low)
	case !(b.Replaced > b.Low && b.Replaced <= 100):
		return invalid("%sbattery.replaced %g: must be above battery.low (%g) and at most 100 %%", p, b.Replaced, b.Low)
	}
	return nil
}

func validateSupervision(p string, s SupervisionRules) error {
	switch {
	case s.Heartbeat.D() < minDuration || s.Heartbeat.D() > maxReporting:
		return invalid("%s.heartbeat %s: must be between %s and %s", p, s.Heartbeat.D(), minDuration, maxReporting)
	case s.Reporting.D() < s.Heartbeat.D() || s.Reporting.D() > maxReporting:
		return invalid("%s.reporting %s: must be at least the heartbeat (%s) and at most %s", p, s.Reporting.D(), s.Heartbeat.D(), maxReporting)
	case s.Grace.D() < 0 || s.Grace.D() > maxReporting:
		return invalid("%s.grace %s: must be between 0 (offline at the last will) and %s", p, s.Grace.D(), maxReporting)
	}
	return nil
}

func validateEscalation(p string, e EscalationRules) error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"t1", e.T1.D()}, {"t2", e.T2.D()}, {"reminder", e.Reminder.D()}} {
		if f.d != 0 && (f.d < minDuration || f.d > maxTimer) {
			return invalid("%s.%s %s: must be 0 (never) or between %s and %s", p, f.name, f.d, minDuration, maxTimer)
		}
	}
	switch {
	case e.T2 != 0 && e.T1 == 0:
		return invalid("%s.t2 %s: needs t1 as well (level 2 follows level 1)", p, e.T2.D())
	case e.T2 != 0 && e.T2 <= e.T1:
		return invalid("%s.t2 %s: must be later than t1 (%s)", p, e.T2.D(), e.T1.D())
	}
	return nil
}

func invalid(format string, args ...any) error {
	return shouwang.Errorf(shouwang.EINVALID, "rules: "+format, args...)
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isZero reports whether rs was left empty (so defaults apply).
func (rs RuleSet) isZero() bool {
	return rs.Gas == (GasRules{}) && rs.Air == nil && rs.Battery == (BatteryRules{}) &&
		rs.Supervision == nil && rs.Escalation == nil && rs.Devices == nil &&
		rs.FollowUp.Within == 0 && rs.FollowUp.Outcomes == nil && rs.FollowUp.Kinds == nil &&
		rs.Incidents == (IncidentRules{}) && rs.Checkin == (CheckinRules{}) && rs.Evacuation.Mobility == nil &&
		rs.Notify.Levels == nil && rs.Notify.Kinds == nil && rs.Notify.Severities == nil && rs.Notify.Communities == nil
}
