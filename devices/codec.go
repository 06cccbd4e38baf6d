package devices

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Reason names why an uplink message was rejected. Reasons are metric label
// values, so the set is small and fixed.
type Reason string

// Rejection reasons.
const (
	ReasonOversized    Reason = "oversized"       // payload larger than the cap
	ReasonMalformed    Reason = "malformed"       // not a JSON object
	ReasonBadType      Reason = "bad_type"        // a field of the wrong JSON type
	ReasonMissingField Reason = "missing_field"   // a required field is absent
	ReasonUnknownField Reason = "unknown_field"   // a field the kind does not declare
	ReasonOutOfRange   Reason = "out_of_range"    // a number outside its field's range, NaN or Inf
	ReasonBadValue     Reason = "bad_value"       // a string value the protocol does not allow
	ReasonBadTopic     Reason = "bad_topic"       // not a native uplink topic
	ReasonUnregistered Reason = "unregistered"    // the topic names no registered device
	ReasonSpoofed      Reason = "spoofed"         // published by a client that is not the device
	ReasonBadCreds     Reason = "bad_credentials" // a registered device connected with a wrong password
)

// Reasons lists every rejection reason, so counters can start at zero.
var Reasons = []Reason{
	ReasonOversized, ReasonMalformed, ReasonBadType, ReasonMissingField, ReasonUnknownField,
	ReasonOutOfRange, ReasonBadValue, ReasonBadTopic, ReasonUnregistered, ReasonSpoofed, ReasonBadCreds,
}

// Rejection is the error Decode returns for a message the hub will not take.
type Rejection struct {
	Reason Reason
	Detail string
}

func (r *Rejection) Error() string { return string(r.Reason) + ": " + r.Detail }

func reject(reason Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// RejectionReason returns the reason of a *Rejection in err's chain, or "".
func RejectionReason(err error) Reason {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// Limits bound what the decoder accepts. The zero value is not useful; use
// DefaultLimits.
type Limits struct {
	MaxPayload int           // bytes
	MaxFuture  time.Duration // a ts later than receive time + MaxFuture is flagged TSFuture
	MaxPast    time.Duration // a ts earlier than receive time - MaxPast is flagged TSPast
}

// DefaultLimits are the limits of native protocol v1.
var DefaultLimits = Limits{
	MaxPayload: 4096,
	MaxFuture:  5 * time.Minute,
	MaxPast:    7 * 24 * time.Hour,
}

// Decode validates and decodes one uplink payload of native protocol v1 from
// a device of kind k on channel ch, received at recv. Every error it returns
// is a *Rejection.
//
// The payload is read in one pass (see object.scan); the checks then run in
// a fixed order, so a payload with several faults is always rejected for the
// same one: seq, ts, then the channel's own fields (telemetry fields by
// name), then unknown fields.
func Decode(lim Limits, k Kind, ch Channel, payload []byte, recv time.Time) (*Message, error) {
	c := codecs[k]
	if c == nil {
		return nil, reject(ReasonBadValue, "unknown device kind %q", k)
	}
	if len(payload) > lim.MaxPayload {
		return nil, reject(ReasonOversized, "payload of %d bytes exceeds %d", len(payload), lim.MaxPayload)
	}
	l := c.layout(ch)
	var obj object
	if !obj.scan(payload, l.names) {
		return nil, reject(ReasonMalformed, "payload is not a JSON object")
	}
	if obj.repeated != nil {
		return nil, reject(ReasonMalformed, "payload repeats the name %q", obj.repeated)
	}
	var m *Message
	var err error
	switch ch {
	case ChannelEvent:
		m, err = decodeEvent(lim, c, &obj, recv)
	case ChannelTelemetry:
		m, err = decodeTelemetry(lim, l, &obj, recv)
	case ChannelStatus:
		m, err = decodeStatus(lim, l, &obj, recv)
	default:
		return nil, reject(ReasonBadTopic, "channel %q is not an uplink channel", ch)
	}
	if err != nil {
		return nil, err
	}
	if obj.unknown {
		return nil, reject(ReasonUnknownField, "unknown field %q for a %s %s message", clip(string(obj.leastUnknown)), k, ch)
	}
	m.Kind, m.Channel, m.Received = k, ch, recv
	return m, nil
}

// Each channel's message is allocated with its part in one piece.
type (
	eventMessage struct {
		msg Message
		ev  Event
		lel float64
	}
	telemetryMessage struct {
		msg Message
		t   Telemetry
	}
	statusMessage struct {
		msg             Message
		st              Status
		battery, signal float64
	}
)

// decodeHeader reads seq and ts into m. They are required on events and
// telemetry and optional on status.
func decodeHeader(lim Limits, obj *object, m *Message, recv time.Time, required bool) error {
	if raw := obj.known[memberSeq]; raw == nil {
		if required {
			return reject(ReasonMissingField, "seq is required")
		}
	} else {
		seq, err := parseUint(raw)
		if err != nil {
			return reject(ReasonBadType, "seq: want a positive integer")
		}
		if seq == 0 || seq > 1<<53 {
			return reject(ReasonOutOfRange, "seq %d: must be between 1 and 2^53", seq)
		}
		m.Seq = seq
	}
	if raw := obj.known[memberTS]; raw == nil {
		if required {
			return reject(ReasonMissingField, "ts is required")
		}
	} else {
		ms, err := parseInt(raw)
		if err != nil {
			return reject(ReasonBadType, "ts: want Unix milliseconds as an integer")
		}
		m.TS = time.UnixMilli(ms)
		switch {
		case m.TS.After(recv.Add(lim.MaxFuture)):
			m.TSFlag = TSFuture
		case m.TS.Before(recv.Add(-lim.MaxPast)):
			m.TSFlag = TSPast
		}
	}
	return nil
}

func decodeEvent(lim Limits, c *kindCodec, obj *object, recv time.Time) (*Message, error) {
	em := &eventMessage{}
	m, ev := &em.msg, &em.ev
	if err := decodeHeader(lim, obj, m, recv, true); err != nil {
		return nil, err
	}
	raw := obj.known[memberType]
	if raw == nil {
		return nil, reject(ReasonMissingField, "type is required")
	} else if !isString(raw) {
		return nil, reject(ReasonBadType, "type: want a string")
	}
	typ := unquote(raw)
	if ev.Type = c.eventType(typ); ev.Type == "" {
		return nil, reject(ReasonBadValue, "event type %q is not one a %s sends", clip(string(typ)), c.spec.Kind)
	}
	if raw := obj.known[memberTest]; raw != nil {
		var ok bool
		if ev.Test, ok = parseBool(raw); !ok {
			return nil, reject(ReasonBadType, "test: want true or false")
		}
	}
	if ev.Type == EventTest {
		ev.Test = true
	}
	if raw := obj.known[memberLEL]; raw != nil { // only a gas detector's events have lel
		v, err := number(c.event.fields[memberLEL], raw)
		if err != nil {
			return nil, err
		}
		em.lel = v
		ev.LEL = &em.lel
	}
	m.Event = ev
	return m, nil
}

func decodeTelemetry(lim Limits, l *layout, obj *object, recv time.Time) (*Message, error) {
	tm := &telemetryMessage{}
	m := &tm.msg
	if err := decodeHeader(lim, obj, m, recv, true); err != nil {
		return nil, err
	}
	n := 0
	for _, raw := range obj.known[memberFields:len(l.names)] {
		if raw != nil {
			n++
		}
	}
	tm.t.Fields = make(map[string]float64, n)
	// l.names lists the fields by name, so the first bad one is reported.
	for i := memberFields; i < len(l.names); i++ {
		raw := obj.known[i]
		if raw == nil {
			continue
		}
		v, err := number(l.fields[i], raw)
		if err != nil {
			return nil, err
		}
		tm.t.Fields[l.names[i]] = v
	}
	m.Telemetry = &tm.t
	return m, nil
}

func decodeStatus(lim Limits, l *layout, obj *object, recv time.Time) (*Message, error) {
	sm := &statusMessage{}
	m, st := &sm.msg, &sm.st
	// A last will is fixed at connect time, so status carries no sequence
	// number and is never de-duplicated: it is state.
	if err := decodeHeader(lim, obj, m, recv, false); err != nil {
		return nil, err
	}
	raw := obj.known[memberState]
	if raw == nil {
		return nil, reject(ReasonMissingField, "state is required")
	} else if !isString(raw) {
		return nil, reject(ReasonBadType, "state: want a string")
	}
	switch state := unquote(raw); string(state) {
	case "online":
		st.Online = true
	case "offline":
	default:
		return nil, reject(ReasonBadValue, "state %q: want online or offline", clip(string(state)))
	}
	if raw := obj.known[memberFW]; raw != nil {
		if !isString(raw) {
			return nil, reject(ReasonBadType, "fw: want a string")
		}
		fw := unquote(raw)
		if len(fw) > 64 {
			return nil, reject(ReasonOutOfRange, "fw: longer than 64 bytes")
		}
		st.Firmware = string(fw)
	}
	if raw := obj.known[memberBattery]; raw != nil {
		v, err := number(l.fields[memberBattery], raw)
		if err != nil {
			return nil, err
		}
		sm.battery = v
		st.Battery = &sm.battery
	}
	if raw := obj.known[memberSignal]; raw != nil {
		v, err := number(l.fields[memberSignal], raw)
		if err != nil {
			return nil, err
		}
		sm.signal = v
		st.Signal = &sm.signal
	}
	m.Status = st
	return m, nil
}

// number decodes a field's raw value and checks it against the field's
// range. JSON has no NaN or Inf; a number too large for a float64 is out of
// range.
func number(f FieldSpec, raw []byte) (float64, error) {
	if !isNumber(raw) {
		return 0, reject(ReasonBadType, "%s: want a number", f.Name)
	}
	v, err := parseFloat(raw)
	if err != nil {
		return 0, reject(ReasonOutOfRange, "%s: number out of range", f.Name)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < f.Min || v > f.Max {
		return 0, reject(ReasonOutOfRange, "%s %g: must be between %g and %g %s", f.Name, v, f.Min, f.Max, f.Unit)
	}
	return v, nil
}
