package devices

import (
	"maps"
	"time"
)

// Vendor devices report state, not events: a Zigbee2MQTT bridge repeats a
// device's whole state on every message, a Shelly publishes its alarm state
// on a topic. The vendor codecs read one message into an Observation; a
// VendorState, the last known state of one device, turns it into the events
// of the native protocol by edges: an alarm is the edge from clear to
// alarm, its clear the edge back, and a repeated state is nothing new. The
// hub stores the VendorState in the same transaction that acknowledges the
// message, and `hubctl decode` keeps one per device in memory: both run
// this code.

// Condition is a lasting condition a vendor device reports.
type Condition uint8

// Conditions.
const (
	CondSmoke      Condition = iota // smoke detected
	CondGas                         // combustible gas detected
	CondGasSevere                   // the device's own highest gas grade (Shelly Gas "heavy")
	CondCO                          // carbon monoxide detected
	CondSOS                         // an SOS state that stays until reset (sos: true)
	CondTamper                      // opened or removed
	CondBatteryLow                  // the device says its battery is low
	CondFault                       // sensor fault, trouble, failed self-test
	CondTest                        // a self-test (or test mode) is in progress
	CondOpen                        // a door contact is open
	CondOccupied                    // a motion sensor sees movement
	nConditions
)

// Observation is what one vendor message says. Conditions it does not
// mention keep their last value: Zigbee2MQTT omits what it does not know
// and sends null for unknown values; Shelly sends one condition per topic.
type Observation struct {
	known, on uint16
	// Press is an action that means an SOS press ("emergency", a press on a
	// dedicated emergency button), "" when there is none. A press is an
	// occurrence, not a state.
	Press string
	// Checkin is an action that means a check-in ("I am fine"): the press
	// pattern a model defines for it, such as a double press.
	Checkin string
	// Readings are values in the native fields' units (battery %, lel
	// %LEL, co ppm, temperature °C, ...).
	Readings map[string]float64
	// Online is set by availability messages.
	Online *bool
	// LEL is the gas reading that goes with a gas alarm, when the model
	// reports one.
	LEL *float64
}

// Set records that the message states condition c as on or off. When
// several properties of one message state c, on wins: an alarm is never
// hidden by another property saying all is well.
func (o *Observation) Set(c Condition, on bool) {
	o.known |= 1 << c
	if on {
		o.on |= 1 << c
	}
}

// Says reports whether the message states c, and its value.
func (o *Observation) Says(c Condition) (stated, on bool) {
	return o.known&(1<<c) != 0, o.on&(1<<c) != 0
}

// Reading records a reading in a native field's units.
func (o *Observation) Reading(field string, v float64) {
	if o.Readings == nil {
		o.Readings = make(map[string]float64, 4)
	}
	o.Readings[field] = v
}

// Occurrences returns a copy of o with only what is not state: its press
// and readings. A message known to be older than a state already applied
// is read so.
func (o *Observation) Occurrences() *Observation {
	return &Observation{Press: o.Press, Checkin: o.Checkin, Readings: o.Readings}
}

// States reports whether the message states a condition or the device's
// availability: what a later message's state supersedes. A message that
// only carries readings or a press states nothing.
func (o *Observation) States() bool { return o.known != 0 || o.Online != nil }

// Empty reports whether the observation says nothing the hub keeps.
func (o *Observation) Empty() bool {
	return o.known == 0 && o.Press == "" && o.Checkin == "" && len(o.Readings) == 0 && o.Online == nil
}

// VendorState is the last known state of one vendor device. Its zero value
// is a device never heard from: every condition clear.
type VendorState struct {
	// Active holds the conditions that are on; TestOnly those alarms among
	// them that rose during a self-test (recorded as a test, so their clear
	// is not a real clear either).
	Active   uint16 `json:"active"`
	TestOnly uint16 `json:"test_only,omitempty"`
	// LastPress and LastPressAt (Unix ms) identify the last press counted,
	// so the copy Zigbee2MQTT publishes on <name>/action is not a second
	// occurrence.
	LastPress   string `json:"last_press,omitempty"`
	LastPressAt int64  `json:"last_press_at,omitempty"`
	// Seq numbers the events made from this device's messages, so they are
	// stored under the same (device, seq) key as native events.
	Seq uint64 `json:"seq"`

	// Recent are the last messages the hub committed for this device
	// (a digest of topic and payload, and when), oldest first, so it knows
	// one the broker delivers again. Apply does not use them.
	Recent []Seen `json:"recent,omitempty"`
}

// Seen is one committed message: a digest of its topic and payload and
// when it was received (Unix ms).
type Seen struct {
	D  uint64 `json:"d"`
	At int64  `json:"at"`
}

// KeepRecent is how many committed messages a VendorState remembers.
const KeepRecent = 16

// Committed returns when a message with digest d was committed, if it is
// among the recent ones.
func (s *VendorState) Committed(d uint64) (at int64, ok bool) {
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if s.Recent[i].D == d {
			return s.Recent[i].At, true
		}
	}
	return 0, false
}

// Remember notes a committed message, forgetting the oldest past
// KeepRecent.
func (s *VendorState) Remember(d uint64, at int64) {
	if len(s.Recent) >= KeepRecent {
		s.Recent = append(s.Recent[:0], s.Recent[len(s.Recent)-KeepRecent+1:]...)
	}
	s.Recent = append(s.Recent, Seen{D: d, At: at})
}

// PressWindow is how close two copies of one press are: a press with the
// same action within it of the last one counted is that press again.
const PressWindow = 5 * time.Second

// Outcome is what a message means, once edges are taken against the state.
type Outcome struct {
	Events   []Event
	Readings map[string]float64
	Online   *bool
	// Activity is a sign of life of the household: "door" (a contact
	// opened or closed), "motion" (a motion sensor began to see
	// movement), "" for none.
	Activity string
}

// Empty reports whether nothing came of the message.
func (o *Outcome) Empty() bool {
	return len(o.Events) == 0 && len(o.Readings) == 0 && o.Online == nil && o.Activity == ""
}

// alarms are the conditions that raise and clear alerts, with their events.
var alarms = []struct {
	c            Condition
	onset, clear EventType
}{
	{CondSmoke, EventSmoke, EventSmokeClear},
	{CondGas, EventGas, EventGasClear},
	{CondCO, EventCO, EventCOClear},
	{CondSOS, EventSOS, ""},
}

// Apply takes o against the state at now and returns what it means; s
// becomes the new state. retained says the broker delivered o as a retained
// message (an old state): its conditions count, an old press does not.
//
// The rules: an alarm condition rising is its event (smoke, gas, co, sos),
// falling its clear; rising while a self-test is on, it is a test, and its
// clear is nothing. A muted or silenced detector still reports its alarm
// condition, so it stays in alarm. Tamper and a low battery raise their
// events on the rising edge; a fault raises fault and clears with
// fault_clear. A press is an sos occurrence (a check-in press a checkin)
// unless it repeats the last one within PressWindow. A door contact opening
// or closing, and a motion sensor beginning to see movement, are the
// household's sign of life (Activity).
func (s *VendorState) Apply(o *Observation, now time.Time, retained bool) Outcome {
	var out Outcome
	prev := s.Active
	next := (prev &^ o.known) | (o.on & o.known)
	testing := next&(1<<CondTest) != 0
	rose := func(c Condition) bool { return prev&(1<<c) == 0 && next&(1<<c) != 0 }
	fell := func(c Condition) bool { return prev&(1<<c) != 0 && next&(1<<c) == 0 }

	if rose(CondTest) {
		out.Events = append(out.Events, Event{Type: EventTest, Test: true})
	}
	for _, a := range alarms {
		bit := uint16(1) << a.c
		switch {
		case rose(a.c) && testing:
			s.TestOnly |= bit
			if !rose(CondTest) {
				out.Events = append(out.Events, Event{Type: EventTest, Test: true})
			}
		case rose(a.c):
			ev := s.alarmEvent(a.onset, o)
			// Straight to the highest grade: one event, severe.
			ev.Severe = a.c == CondGas && rose(CondGasSevere)
			out.Events = append(out.Events, ev)
		case fell(a.c):
			if s.TestOnly&bit == 0 && a.clear != "" {
				out.Events = append(out.Events, Event{Type: a.clear})
			}
			s.TestOnly &^= bit
		case next&bit != 0 && s.TestOnly&bit != 0 && !testing:
			// The test ended and the alarm did not: it is real.
			s.TestOnly &^= bit
			out.Events = append(out.Events, s.alarmEvent(a.onset, o))
		}
	}
	if rose(CondGasSevere) && !testing && !rose(CondGas) {
		ev := s.alarmEvent(EventGas, o)
		ev.Severe = true
		out.Events = append(out.Events, ev)
	}
	if rose(CondTamper) {
		out.Events = append(out.Events, Event{Type: EventTamper})
	}
	if rose(CondBatteryLow) {
		out.Events = append(out.Events, Event{Type: EventLowBattery})
	}
	if rose(CondFault) {
		out.Events = append(out.Events, Event{Type: EventFault})
	} else if fell(CondFault) {
		out.Events = append(out.Events, Event{Type: EventFaultClear})
	}
	for _, p := range []struct {
		action string
		ev     EventType
	}{{o.Press, EventSOS}, {o.Checkin, EventCheckin}} {
		if p.action == "" || retained {
			continue
		}
		at := now.UnixMilli()
		same := p.action == s.LastPress && at-s.LastPressAt >= 0 && at-s.LastPressAt < PressWindow.Milliseconds()
		if !same {
			ev := Event{Type: p.ev}
			if testing {
				ev = Event{Type: EventTest, Test: true}
			}
			out.Events = append(out.Events, ev)
		}
		s.LastPress, s.LastPressAt = p.action, at
	}
	switch {
	case retained: // an old state: when it changed is not known
	case rose(CondOpen) || fell(CondOpen):
		out.Activity = "door"
	case rose(CondOccupied):
		out.Activity = "motion"
	}
	s.Active = next
	if len(o.Readings) > 0 {
		out.Readings = maps.Clone(o.Readings)
	}
	out.Online = o.Online
	return out
}

func (s *VendorState) alarmEvent(t EventType, o *Observation) Event {
	ev := Event{Type: t}
	if t == EventGas && o.LEL != nil {
		v := *o.LEL
		ev.LEL = &v
	}
	return ev
}
