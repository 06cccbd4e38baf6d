package devices

import (
	"bytes"
	"io"
	"math"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// The vendor codecs read payloads with the same tokenizer as Decode, through
// these few helpers, so the devices packages share one JSON reader.

// EachMember reads payload, which must be one JSON object and nothing else,
// and calls fn with each member's unquoted name and raw value (both valid
// only during the call). It reports whether payload is a JSON object; fn
// returning false stops early and counts as a failure.
func EachMember(payload []byte, fn func(name, raw []byte) bool) bool {
	d := decoders.Get().(*pooledDecoder)
	defer d.release()
	d.buf = *bytes.NewBuffer(payload)
	d.dec.Reset(&d.buf, scanOptions...)
	dec := &d.dec
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for {
		switch dec.PeekKind() {
		case '}':
			if _, err := dec.ReadToken(); err != nil {
				return false
			}
			_, err := dec.ReadToken()
			return err == io.EOF
		case 0:
			return false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		name := unquote(inPayload(payload, dec, v))
		if v, err = dec.ReadValue(); err != nil {
			return false
		}
		if !fn(name, inPayload(payload, dec, v)) {
			return false
		}
	}
}

// JSONString returns the text of a raw JSON string value; raw may be any
// bytes (a plain-text payload), and is checked.
func JSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || !isString(raw) || raw[len(raw)-1] != '"' {
		return "", false
	}
	text, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return "", false
	}
	return string(text), true
}

// JSONNumber returns a raw JSON number, or a string holding one (some
// vendors send numbers as strings), as a finite float64.
func JSONNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	s := raw
	if isString(raw) {
		text, ok := JSONString(raw)
		if !ok {
			return 0, false
		}
		s = []byte(text)
	} else if !isNumber(raw) {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(s)), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
