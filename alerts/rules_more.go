package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The rules of incidents, check-ins and evacuation lists, as data in the
// rules file beside the thresholds (rules.go).

// defaultGrace is how long a device that sent its last will has to come
// back before it counts as offline. A hub, broker or device restart takes
// seconds; a device whose keep-alive ran out was silent for 1.5 keep-alive
// intervals before the broker sent its will.
const defaultGrace = Duration(2 * time.Minute)

// IncidentRules say when alerts belong together (incident.go).
type IncidentRules struct {
	Alarm  AlarmCorrelation  `json:"alarm"`
	Outage OutageCorrelation `json:"outage"`
}

// AlarmCorrelation: when MinAlerts smoke, gas or CO alerts of one building
// have opened within Window (counting the new one), they become one
// building_alarm incident; later such alerts of the building join it while
// it is open. MinAlerts 0 turns it off.
type AlarmCorrelation struct {
	Window    Duration `json:"window"`
	MinAlerts int      `json:"min_alerts"`
}

// OutageCorrelation: when MinDevices supervised devices of one building, or
// behind one bridge, went offline within Window of each other, they become
// one outage incident instead of an offline alert each; later ones join it
// while it is open. A bridge that went offline itself always makes one for
// its devices. MinDevices 0 turns it off (but for bridges).
type OutageCorrelation struct {
	Window     Duration `json:"window"`
	MinDevices int      `json:"min_devices"`
}

func defaultIncidentRules() IncidentRules {
	return IncidentRules{
		Alarm:  AlarmCorrelation{Window: Duration(5 * time.Minute), MinAlerts: 3},
		Outage: OutageCorrelation{Window: Duration(2 * time.Minute), MinDevices: 5},
	}
}

// CheckinRules are the daily check-in of residents living alone
// (checkin.go): a household is watched when its resident lives alone and
// LivesAlone is on, or when staff turned it on; it must show a sign of life
// between Start and End (local time in Zone) every day, or a no_activity
// alert opens at End. Staff may give a household its own window and quiet
// periods (CheckinPlan).
type CheckinRules struct {
	LivesAlone bool   `json:"lives_alone"`
	Start      Clock  `json:"start"`
	End        Clock  `json:"end"`
	Zone       string `json:"zone"` // an IANA time zone name, such as Asia/Shanghai
}

func defaultCheckinRules() CheckinRules {
	return CheckinRules{LivesAlone: true, Start: 6 * 60, End: 10 * 60, Zone: "Asia/Shanghai"}
}

// Location returns the rules' time zone (UTC if it cannot be loaded, which
// Validate refuses).
func (c CheckinRules) Location() *time.Location {
	loc, err := time.LoadLocation(c.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// EvacuationRules: care notes containing any of Mobility's words mark a
// resident who needs help to leave the building (evacuation.go).
type EvacuationRules struct {
	Mobility []string `json:"mobility"`
}

func defaultEvacuationRules() EvacuationRules {
	return EvacuationRules{Mobility: []string{
		"行动不便", "轮椅", "卧床", "拐杖", "助行器", "跌倒", "瘫痪", "截肢",
		"mobility", "wheelchair", "bedridden", "walker", "crutches",
	}}
}

// Clock is a time of day in minutes since midnight, written "HH:MM" in
// JSON; "24:00" is the end of the day.
type Clock int

// ParseClock reads "HH:MM".
func ParseClock(s string) (Clock, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time of day %q: want HH:MM, such as \"06:30\"", clip(s))
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, fmt.Errorf("time of day %q: want HH:MM between 00:00 and 24:00", clip(s))
	}
	return Clock(h*60 + m), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalJSON writes "HH:MM".
func (c Clock) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// UnmarshalJSON reads "HH:MM".
func (c *Clock) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a time of day such as \"06:30\"")
	}
	v, err := ParseClock(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// The rules file's forms of these rules: every part optional.
type (
	// IncidentOverride overrides some incident rules.
	IncidentOverride struct {
		Alarm  *AlarmOverride  `json:"alarm"`
		Outage *OutageOverride `json:"outage"`
	}
	// AlarmOverride overrides some alarm correlation rules.
	AlarmOverride struct {
		Window    *Duration `json:"window"`
		MinAlerts *int      `json:"min_alerts"`
	}
	// OutageOverride overrides some outage correlation rules.
	OutageOverride struct {
		Window     *Duration `json:"window"`
		MinDevices *int      `json:"min_devices"`
	}
	// CheckinOverride overrides some check-in rules.
	CheckinOverride struct {
		LivesAlone *bool   `json:"lives_alone"`
		Start      *Clock  `json:"start"`
		End        *Clock  `json:"end"`
		Zone       *string `json:"zone"`
	}
)

// applyMore lays the file's incident, check-in and evacuation rules over
// rs.
func (f *ruleFile) applyMore(rs *RuleSet) {
	if o := f.Incidents; o != nil {
		if a := o.Alarm; a != nil {
			setD(&rs.Incidents.Alarm.Window, a.Window)
			setI(&rs.Incidents.Alarm.MinAlerts, a.MinAlerts)
		}
		if g := o.Outage; g != nil {
			setD(&rs.Incidents.Outage.Window, g.Window)
			setI(&rs.Incidents.Outage.MinDevices, g.MinDevices)
		}
	}
	if c := f.Checkin; c != nil {
		if c.LivesAlone != nil {
			rs.Checkin.LivesAlone = *c.LivesAlone
		}
		if c.Start != nil {
			rs.Checkin.Start = *c.Start
		}
		if c.End != nil {
			rs.Checkin.End = *c.End
		}
		if c.Zone != nil {
			rs.Checkin.Zone = *c.Zone
		}
	}
	if f.Evacuation != nil {
		rs.Evacuation = *f.Evacuation
	}
}

func setI(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// Bounds on incident and check-in rules.
const (
	maxCorrelationWindow = 24 * time.Hour
	maxMinMembers        = 10_000
	maxMobilityWords     = 100
)

// validateMore checks the incident, check-in and evacuation rules.
func (rs RuleSet) validateMore() error {
	al, out := rs.Incidents.Alarm, rs.Incidents.Outage
	switch {
	case al.MinAlerts < 0 || al.MinAlerts == 1 || al.MinAlerts > maxMinMembers:
		return invalid("incidents.alarm.min_alerts %d: must be 0 (off) or between 2 and %d", al.MinAlerts, maxMinMembers)
	case al.MinAlerts > 0 && (al.Window.D() < minDuration || al.Window.D() > maxCorrelationWindow):
		return invalid("incidents.alarm.window %s: must be between %s and %s", al.Window.D(), minDuration, maxCorrelationWindow)
	case out.MinDevices < 0 || out.MinDevices == 1 || out.MinDevices > maxMinMembers:
		return invalid("incidents.outage.min_devices %d: must be 0 (off) or between 2 and %d", out.MinDevices, maxMinMembers)
	case out.Window.D() < minDuration || out.Window.D() > maxCorrelationWindow:
		return invalid("incidents.outage.window %s: must be between %s and %s", out.Window.D(), minDuration, maxCorrelationWindow)
	}
	if err := CheckWindow("checkin", rs.Checkin.Start, rs.Checkin.End); err != nil {
		return err
	}
	if _, err := time.LoadLocation(rs.Checkin.Zone); err != nil || rs.Checkin.Zone == "" {
		return invalid("checkin.zone %q: not a time zone this machine knows (want an IANA name such as Asia/Shanghai)", clip(rs.Checkin.Zone))
	}
	if n := len(rs.Evacuation.Mobility); n > maxMobilityWords {
		return invalid("evacuation.mobility: %d words; at most %d", n, maxMobilityWords)
	}
	for i, w := range rs.Evacuation.Mobility {
		if strings.TrimSpace(w) == "" || !utf8.ValidString(w) || utf8.RuneCountInString(w) > 32 {
			return invalid("evacuation.mobility[%d] %q: want a word of 1 to 32 characters", i, clip(w))
		}
	}
	return nil
}

// CheckWindow checks a daily check-in window: start before end, within one
// day, at least a quarter of an hour long. p prefixes the field names.
func CheckWindow(p string, start, end Clock) error {
	switch {
	case start < 0 || start >= 24*60:
		return invalid("%s.start %s: must be a time of day before 24:00", p, start)
	case end <= start || end > 24*60:
		return invalid("%s.end %s: must be after start (%s) and at most 24:00 (a window does not span midnight)", p, end, start)
	case end-start < 15:
		return invalid("%s.end %s: the window must be at least 15 minutes long", p, end)
	}
	return nil
}
