package zigbee2mqtt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/shouwang-hub/shouwang/devices"
)

// MaxPayload bounds a device message (a state message is a few hundred
// bytes; bridge/devices has its own bound).
const MaxPayload = 16 << 10

// DecodeState reads a device's state message (<base>/<name>) as model m
// defines it. Properties the model does not define are ignored, and so are
// nulls (unknown values) and values a property does not allow: a setting
// that travels with the alarms (alarm_switch, sensitivity, silence,
// buzzer, preparation states) never reads as an alarm, because only the
// properties declared as alarms are read as alarms, and only by the value
// the definition gives for "on". notes lists values that were not what the
// definition allows, for the installer.
func DecodeState(m *Model, payload []byte) (o devices.Observation, notes []string, err error) {
	if len(payload) > MaxPayload {
		return o, nil, &devices.Rejection{Reason: devices.ReasonOversized, Detail: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxPayload)}
	}
	ok := devices.EachMember(payload, func(name, raw []byte) bool {
		p, known := m.props[string(name)]
		if !known || string(raw) == "null" {
			return true
		}
		if note := p.read(m, raw, &o); note != "" && len(notes) < 4 {
			notes = append(notes, string(name)+": "+note)
		}
		return true
	})
	if !ok {
		return devices.Observation{}, nil, &devices.Rejection{Reason: devices.ReasonMalformed, Detail: "payload is not a JSON object"}
	}
	return o, notes, nil
}

// read applies one property's raw value to o, or says why it could not.
func (p *prop) read(m *Model, raw []byte, o *devices.Observation) string {
	switch p.role {
	case roleCondition:
		var on bool
		switch {
		case bytes.Equal(raw, p.on):
			on = true
		case bytes.Equal(raw, p.off):
		default:
			return "unexpected value " + clip(raw)
		}
		o.Set(p.cond, on)
		if p.field != "" {
			o.Reading(p.field, b2f(on != p.inverted))
		}
	case roleEnum:
		s, ok := devices.JSONString(raw)
		if !ok {
			return "want a string"
		}
		switch {
		case slices.Contains(p.onValues, s):
			o.Set(p.cond, true)
		case slices.Contains(p.offValues, s):
			o.Set(p.cond, false)
		default:
			return "unexpected value " + clip(raw)
		}
	case roleSelfTest:
		s, ok := devices.JSONString(raw)
		if !ok {
			return "want a string"
		}
		switch {
		case slices.Contains(p.onValues, s): // checking
			o.Set(devices.CondTest, true)
		case slices.Contains(p.failValues, s): // a failed self-test is a fault
			o.Set(devices.CondTest, false)
			o.Set(devices.CondFault, true)
		default: // success, others
			o.Set(devices.CondTest, false)
		}
	case rolePress:
		s, ok := devices.JSONString(raw)
		if !ok {
			return "want a string"
		}
		switch {
		case slices.Contains(p.onValues, s):
			o.Press = s
		case slices.Contains(p.checkins, s):
			o.Checkin = s
		}
	case roleReading:
		v, ok := devices.JSONNumber(raw)
		if !ok {
			return "want a number"
		}
		v *= p.scale
		f, ok := devices.Spec(m.Kind).Field(p.field)
		if !ok || v < f.Min || v > f.Max {
			return fmt.Sprintf("%g out of range", v)
		}
		o.Reading(p.field, v)
		if p.field == "lel" {
			lel := v
			o.LEL = &lel
		}
	}
	return ""
}

// DecodeAction reads the Home Assistant copy of an action
// (<base>/<name>/action), a plain string.
func DecodeAction(m *Model, payload []byte) devices.Observation {
	var o devices.Observation
	s := string(bytes.TrimSpace(payload))
	if v, ok := devices.JSONString([]byte(s)); ok {
		s = v
	}
	if p, ok := m.props["action"]; ok && p.role == rolePress {
		switch {
		case slices.Contains(p.onValues, s):
			o.Press = s
		case slices.Contains(p.checkins, s):
			o.Checkin = s
		}
	}
	return o
}

// DecodeAvailability reads <base>/<name>/availability and bridge/state:
// {"state":"online"} or, with legacy availability payloads, the plain
// strings online and offline.
func DecodeAvailability(payload []byte) (online bool, err error) {
	s := string(bytes.TrimSpace(payload))
	if len(s) > 0 && s[0] == '{' {
		s = ""
		devices.EachMember(payload, func(name, raw []byte) bool {
			if string(name) == "state" {
				s, _ = devices.JSONString(raw)
			}
			return true
		})
	} else if v, ok := devices.JSONString([]byte(s)); ok {
		s = v
	}
	switch s {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, &devices.Rejection{Reason: devices.ReasonBadValue, Detail: "availability: want online or offline"}
}

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
