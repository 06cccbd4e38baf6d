package alerts

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// RuleSet is the alert rules as data: thresholds per kind, supervision per
// device kind, the escalation policy per severity, and per-device
// overrides of the thresholds and supervision. LoadRules reads it from JSON
// over DefaultRules, so a file names only what it changes:
//
//	{
//	  "gas": {"low": 10, "high": 25, "hysteresis": 2},
//	  "air": {"pm25": {"limit": 75, "hysteresis": 10}, "co2": {"limit": 1500, "hysteresis": 100}},
//	  "battery": {"low": 15, "replaced": 50},
//	  "supervision": {"sos_button": {"heartbeat": "60s", "reporting": "3m", "grace": "2m"}},
//	  "escalation": {"critical": {"t1": "30s", "t2": "2m", "reminder": "15m"}, "minor": {"t1": "0s", "t2": "0s", "reminder": "2h"}},
//	  "devices": {"gas-0001": {"gas": {"low": 15}}, "sos-0042": {"supervision": {"reporting": "10m"}}},
//	  "incidents": {"alarm": {"window": "5m", "min_alerts": 3}, "outage": {"window": "2m", "min_devices": 5}},
//	  "checkin": {"lives_alone": true, "start": "06:00", "end": "10:00", "zone": "Asia/Shanghai"},
//	  "evacuation": {"mobility": ["行动不便", "轮椅", "卧床"]}
//	}
//
// Semantics:
//   - gas (%LEL): a reading at or above Low opens a major gas_low, at or
//     above High a critical gas_high; an open gas alert is marked cleared
//     when a reading falls below Low − Hysteresis. Severity never goes down
//     by itself.
//   - air (an air monitor's fields, by telemetry name): a reading above
//     Limit opens a minor air_quality; it is marked cleared when every
//     limited field a message carries is below Limit − Hysteresis.
//   - battery (%): a reading at or below Low (or a low_battery event) opens
//     a minor low_battery once; a reading at or above Replaced clears the
//     latch, so the next low reading opens a new alert.
//   - supervision: a life-safety device (devices.Spec(kind).LifeSafety) is
//     expected to send something every Heartbeat and is offline when silent
//     for longer than Reporting. Its last will (status offline) makes it
//     offline only if it has not come back within Grace.
//   - incidents, checkin, evacuation: see IncidentRules, CheckinRules and
//     EvacuationRules.
//   - escalation: an alert not accepted within T1 of opening rises to level
//     1, within T2 to level 2 (the webhook); a dispatched alert not resolved
//     raises a reminder every Reminder. Zero means never.
//   - notify: who is told at each level, by party (notify.go): "levels"
//     for every alert, "kinds" and "severities" added for those, and
//     "communities" with a policy of their own; who each party is comes
//     from the hub's notification configuration.
//   - followup: an alert of one of Kinds resolved with one of Outcomes is
//     followed up (called or visited) within Within; by default within 24h
//     for sos, smoke, gas and CO alerts that were genuine or referred.
//     "within": "0s" turns follow-ups off.
type RuleSet struct {
	Gas         GasRules                          `json:"gas"`
	Air         map[string]Limit                  `json:"air"`
	Battery     BatteryRules                      `json:"battery"`
	Supervision map[devices.Kind]SupervisionRules `json:"supervision"`
	Escalation  map[Severity]EscalationRules      `json:"escalation"`
	FollowUp    FollowUpRules                     `json:"followup"`
	Notify      NotifyRules                       `json:"notify"`
	Devices     map[string]DeviceOverride         `json:"devices,omitempty"`
	Incidents   IncidentRules                     `json:"incidents"`
	Checkin     CheckinRules                      `json:"checkin"`
	Evacuation  EvacuationRules                   `json:"evacuation"`
}

// GasRules are the gas thresholds, in % of the lower explosive limit.
type GasRules struct {
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Hysteresis float64 `json:"hysteresis"`
}

// Limit is an upper limit on one telemetry field, with the margin below it
// a reading must fall to count as cleared.
type Limit struct {
	Limit      float64 `json:"limit"`
	Hysteresis float64 `json:"hysteresis"`
}

// BatteryRules are the battery thresholds, in percent.
type BatteryRules struct {
	Low      float64 `json:"low"`
	Replaced float64 `json:"replaced"`
}

// SupervisionRules say how often a device kind reports and how long a
// silence is tolerated before the device counts as offline.
type SupervisionRules struct {
	Heartbeat Duration `json:"heartbeat"`
	Reporting Duration `json:"reporting"`
	// Grace is how long a device that announced it is going (its last
	// will, status offline) has to come back before it counts as offline:
	// a restart of the hub, the broker or the device must not raise alerts.
	Grace Duration `json:"grace"`
}

// EscalationRules are the timers of one severity. Zero means never.
type EscalationRules struct {
	T1       Duration `json:"t1"`
	T2       Duration `json:"t2"`
	Reminder Duration `json:"reminder"`
}

// DeviceOverride changes some thresholds for one device. Nil fields keep
// the rule set's values.
type DeviceOverride struct {
	Gas         *GasOverride             `json:"gas,omitempty"`
	Air         map[string]LimitOverride `json:"air,omitempty"`
	Battery     *BatteryOverride         `json:"battery,omitempty"`
	Supervision *SupervisionOverride     `json:"supervision,omitempty"`
}

// GasOverride overrides some gas thresholds.
type GasOverride struct {
	Low        *float64 `json:"low,omitempty"`
	High       *float64 `json:"high,omitempty"`
	Hysteresis *float64 `json:"hysteresis,omitempty"`
}

// LimitOverride overrides a field's limit or hysteresis.
type LimitOverride struct {
	Limit      *float64 `json:"limit,omitempty"`
	Hysteresis *float64 `json:"hysteresis,omitempty"`
}

// BatteryOverride overrides some battery thresholds.
type BatteryOverride struct {
	Low      *float64 `json:"low,omitempty"`
	Replaced *float64 `json:"replaced,omitempty"`
}

// SupervisionOverride overrides a device's heartbeat or reporting time.
type SupervisionOverride struct {
	Heartbeat *Duration `json:"heartbeat,omitempty"`
	Reporting *Duration `json:"reporting,omitempty"`
	Grace     *Duration `json:"grace,omitempty"`
}

// EscalationOverride overrides some timers of one severity (the rules
// file's form of EscalationRules).
type EscalationOverride struct {
	T1       *Duration `json:"t1,omitempty"`
	T2       *Duration `json:"t2,omitempty"`
	Reminder *Duration `json:"reminder,omitempty"`
}

// DeviceRules are the thresholds that apply to one device, overrides
// merged in. Air is shared with the rule set unless the device overrides
// it: treat it as read-only.
type DeviceRules struct {
	Gas     GasRules
	Air     map[string]Limit
	Battery BatteryRules
	// Supervised says the device is a life-safety device, watched for
	// silence with Supervision.
	Supervised  bool
	Supervision SupervisionRules
}

// Duration is a time.Duration written in JSON as a string such as "30s"
// or "2m".
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "90s", "15m" or "2h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a form such as \"30s\", \"15m\" or \"2h\"", clip(s))
	}
	*d = Duration(v)
	return nil
}

// DefaultRules returns the rules the hub runs with when given none.
//
// Air limits: PM2.5 75 µg/m³ and PM10 150 µg/m³ are the 24-hour grade II
// limits of GB 3095-2012; CO₂ 1500 ppm is a common indoor ventilation
// action level (GB/T 18883-2022 sets 0.10 % as its daily standard); TVOC
// 0.6 mg/m³ is the 8-hour limit of GB/T 18883-2022.
func DefaultRules() RuleSet {
	return RuleSet{
		Gas: GasRules{Low: 10, High: 25, Hysteresis: 2},
		Air: map[string]Limit{
			"pm25": {Limit: 75, Hysteresis: 10},
			"pm10": {Limit: 150, Hysteresis: 20},
			"co2":  {Limit: 1500, Hysteresis: 100},
			"tvoc": {Limit: 0.6, Hysteresis: 0.1},
		},
		Battery: BatteryRules{Low: 15, Replaced: 50},
		Supervision: map[devices.Kind]SupervisionRules{
			devices.KindSOSButton: {Heartbeat: Duration(60 * time.Second), Reporting: Duration(180 * time.Second), Grace: defaultGrace},
			devices.KindSmoke:     {Heartbeat: Duration(60 * time.Second), Reporting: Duration(180 * time.Second), Grace: defaultGrace},
			devices.KindGas:       {Heartbeat: Duration(30 * time.Second), Reporting: Duration(90 * time.Second), Grace: defaultGrace},
			devices.KindCO:        {Heartbeat: Duration(60 * time.Second), Reporting: Duration(180 * time.Second), Grace: defaultGrace},
		},
		Incidents:  defaultIncidentRules(),
		Checkin:    defaultCheckinRules(),
		Evacuation: defaultEvacuationRules(),
		Escalation: map[Severity]EscalationRules{
			SeverityCritical: {T1: Duration(30 * time.Second), T2: Duration(120 * time.Second), Reminder: Duration(15 * time.Minute)},
			SeverityMajor:    {T1: Duration(120 * time.Second), T2: Duration(600 * time.Second), Reminder: Duration(30 * time.Minute)},
			SeverityMinor:    {Reminder: Duration(2 * time.Hour)},
		},
		FollowUp: defaultFollowUp(),
		Notify:   defaultNotify(),
	}
}

// For returns the thresholds that apply to device d, its overrides merged
// in.
func (rs RuleSet) For(d *devices.Device) DeviceRules {
	dr := DeviceRules{Gas: rs.Gas, Air: rs.Air, Battery: rs.Battery}
	if spec := devices.Spec(d.Kind); spec != nil && spec.LifeSafety {
		dr.Supervised = true
		dr.Supervision = rs.Supervision[d.Kind]
	}
	if o, ok := rs.Devices[d.ID]; ok {
		o.apply(&dr)
	}
	return dr
}

// apply merges the override into dr. Air is copied before it is changed,
// since it is shared with the rule set.
func (o DeviceOverride) apply(dr *DeviceRules) {
	if g := o.Gas; g != nil {
		setF(&dr.Gas.Low, g.Low)
		setF(&dr.Gas.High, g.High)
		setF(&dr.Gas.Hysteresis, g.Hysteresis)
	}
	if len(o.Air) > 0 {
		dr.Air = maps.Clone(dr.Air)
		if dr.Air == nil {
			dr.Air = make(map[string]Limit, len(o.Air))
		}
		for field, lo := range o.Air {
			l := dr.Air[field]
			setF(&l.Limit, lo.Limit)
			setF(&l.Hysteresis, lo.Hysteresis)
			dr.Air[field] = l
		}
	}
	if b := o.Battery; b != nil {
		setF(&dr.Battery.Low, b.Low)
		setF(&dr.Battery.Replaced, b.Replaced)
	}
	if s := o.Supervision; s != nil {
		setD(&dr.Supervision.Heartbeat, s.Heartbeat)
		setD(&dr.Supervision.Reporting, s.Reporting)
		setD(&dr.Supervision.Grace, s.Grace)
	}
}

func setF(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

func setD(dst *Duration, v *Duration) {
	if v != nil {
		*dst = *v
	}
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
