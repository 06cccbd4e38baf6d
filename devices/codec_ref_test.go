package devices

// The decoder as it was before the single-pass scanner: every payload
// unmarshalled by encoding/json into a map of raw values, then once per
// field. It is kept here, unchanged but for its names, as the reference that
// FuzzDecodeMatchesReference holds Decode to.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strings"
	"time"
)

// decodeRef is the reference decoder: Decode as it was before the scanner.
func decodeRef(lim Limits, k Kind, ch Channel, payload []byte, recv time.Time) (*Message, error) {
	spec := Spec(k)
	if spec == nil {
		return nil, reject(ReasonBadValue, "unknown device kind %q", k)
	}
	if len(payload) > lim.MaxPayload {
		return nil, reject(ReasonOversized, "payload of %d bytes exceeds %d", len(payload), lim.MaxPayload)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil {
		return nil, reject(ReasonMalformed, "payload is not a JSON object")
	}
	m := &Message{Kind: k, Channel: ch, Received: recv}
	switch ch {
	case ChannelEvent:
		if err := decodeHeaderRef(lim, obj, m, true); err != nil {
			return nil, err
		}
		ev, err := decodeEventRef(spec, obj)
		if err != nil {
			return nil, err
		}
		m.Event = ev
	case ChannelTelemetry:
		if err := decodeHeaderRef(lim, obj, m, true); err != nil {
			return nil, err
		}
		t, err := decodeTelemetryRef(spec, obj)
		if err != nil {
			return nil, err
		}
		m.Telemetry = t
	case ChannelStatus:
		// A last will is fixed at connect time, so status carries no
		// sequence number and is never de-duplicated: it is state.
		if err := decodeHeaderRef(lim, obj, m, false); err != nil {
			return nil, err
		}
		st, err := decodeStatusRef(spec, obj)
		if err != nil {
			return nil, err
		}
		m.Status = st
	default:
		return nil, reject(ReasonBadTopic, "channel %q is not an uplink channel", ch)
	}
	if len(obj) > 0 {
		return nil, reject(ReasonUnknownField, "unknown field %q for a %s %s message", firstKeyRef(obj), k, ch)
	}
	return m, nil
}

// decodeHeader takes seq and ts out of obj. They are required on events and
// telemetry and optional on status.
func decodeHeaderRef(lim Limits, obj map[string]json.RawMessage, m *Message, required bool) error {
	raw, ok := obj["seq"]
	delete(obj, "seq")
	if !ok && required {
		return reject(ReasonMissingField, "seq is required")
	}
	if ok {
		var seq uint64
		if err := unmarshalStrictRef(raw, &seq); err != nil {
			return reject(ReasonBadType, "seq: want a positive integer")
		}
		if seq == 0 || seq > 1<<53 {
			return reject(ReasonOutOfRange, "seq %d: must be between 1 and 2^53", seq)
		}
		m.Seq = seq
	}
	raw, ok = obj["ts"]
	delete(obj, "ts")
	if !ok && required {
		return reject(ReasonMissingField, "ts is required")
	}
	if ok {
		var ms int64
		if err := unmarshalStrictRef(raw, &ms); err != nil {
			return reject(ReasonBadType, "ts: want Unix milliseconds as an integer")
		}
		m.TS = time.UnixMilli(ms)
		switch {
		case m.TS.After(m.Received.Add(lim.MaxFuture)):
			m.TSFlag = TSFuture
		case m.TS.Before(m.Received.Add(-lim.MaxPast)):
			m.TSFlag = TSPast
		}
	}
	return nil
}

func decodeEventRef(spec *KindSpec, obj map[string]json.RawMessage) (*Event, error) {
	ev := &Event{}
	var typ string
	if raw, ok := obj["type"]; !ok {
		return nil, reject(ReasonMissingField, "type is required")
	} else if err := unmarshalStrictRef(raw, &typ); err != nil {
		return nil, reject(ReasonBadType, "type: want a string")
	}
	delete(obj, "type")
	ev.Type = EventType(typ)
	if !spec.AllowsEvent(ev.Type) {
		return nil, reject(ReasonBadValue, "event type %q is not one a %s sends", clip(typ), spec.Kind)
	}
	if raw, ok := obj["test"]; ok {
		if err := unmarshalStrictRef(raw, &ev.Test); err != nil {
			return nil, reject(ReasonBadType, "test: want true or false")
		}
		delete(obj, "test")
	}
	if ev.Type == EventTest {
		ev.Test = true
	}
	if raw, ok := obj["lel"]; ok && spec.Kind == KindGas {
		v, err := numberRef(spec, "lel", raw)
		if err != nil {
			return nil, err
		}
		ev.LEL = &v
		delete(obj, "lel")
	}
	return ev, nil
}

func decodeTelemetryRef(spec *KindSpec, obj map[string]json.RawMessage) (*Telemetry, error) {
	t := &Telemetry{Fields: make(map[string]float64, len(obj))}
	for _, name := range sortedRawKeysRef(obj) {
		if _, ok := spec.Field(name); !ok {
			continue // reported as unknown by Decode
		}
		v, err := numberRef(spec, name, obj[name])
		if err != nil {
			return nil, err
		}
		t.Fields[name] = v
		delete(obj, name)
	}
	return t, nil
}

func decodeStatusRef(spec *KindSpec, obj map[string]json.RawMessage) (*Status, error) {
	st := &Status{}
	var state string
	if raw, ok := obj["state"]; !ok {
		return nil, reject(ReasonMissingField, "state is required")
	} else if err := unmarshalStrictRef(raw, &state); err != nil {
		return nil, reject(ReasonBadType, "state: want a string")
	}
	delete(obj, "state")
	switch state {
	case "online":
		st.Online = true
	case "offline":
	default:
		return nil, reject(ReasonBadValue, "state %q: want online or offline", clip(state))
	}
	if raw, ok := obj["fw"]; ok {
		if err := unmarshalStrictRef(raw, &st.Firmware); err != nil {
			return nil, reject(ReasonBadType, "fw: want a string")
		}
		if len(st.Firmware) > 64 {
			return nil, reject(ReasonOutOfRange, "fw: longer than 64 bytes")
		}
		delete(obj, "fw")
	}
	for _, name := range []string{"battery", "signal"} {
		raw, ok := obj[name]
		if !ok {
			continue
		}
		v, err := numberRef(spec, name, raw)
		if err != nil {
			return nil, err
		}
		if name == "battery" {
			st.Battery = &v
		} else {
			st.Signal = &v
		}
		delete(obj, name)
	}
	return st, nil
}

// number decodes a field's value and checks it against the field's range.
// JSON has no NaN or Inf; a number too large for a float64 is out of range.
func numberRef(spec *KindSpec, name string, raw json.RawMessage) (float64, error) {
	f, _ := spec.Field(name)
	var v float64
	if err := unmarshalStrictRef(raw, &v); err != nil {
		var re *json.UnmarshalTypeError
		if errors.As(err, &re) && strings.HasPrefix(re.Value, "number") {
			return 0, reject(ReasonOutOfRange, "%s: number out of range", name)
		}
		return 0, reject(ReasonBadType, "%s: want a number", name)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < f.Min || v > f.Max {
		return 0, reject(ReasonOutOfRange, "%s %g: must be between %g and %g %s", name, v, f.Min, f.Max, f.Unit)
	}
	return v, nil
}

// unmarshalStrict unmarshals one JSON value, treating null as a type error:
// a field that is present must carry a value.
func unmarshalStrictRef(raw json.RawMessage, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return &json.UnmarshalTypeError{Value: "null"}
	}
	return json.Unmarshal(raw, v)
}

func sortedRawKeysRef(obj map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func firstKeyRef(obj map[string]json.RawMessage) string { return clip(sortedRawKeysRef(obj)[0]) }
