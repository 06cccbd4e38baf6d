package devices

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// maxKnown bounds the member names one kind may send on one channel.
const maxKnown = 12

// object is a payload split into its members in one pass. It keeps the raw
// value of each member whose name the caller knows, and of the others only
// the least name, for the rejection.
type object struct {
	known        [maxKnown][]byte // raw value of the member named names[i], nil if absent
	repeated     []byte           // the first known name met a second time, nil if none
	unknown      bool             // some member has a name not in names
	leastUnknown []byte           // the least such name, unquoted
}

// scan reads payload, which must be one JSON object and nothing else, into
// o. It accepts exactly what encoding/json.Unmarshal accepts into a map: the
// whole payload is valid JSON, invalid UTF-8 is taken as it is. A known name
// given twice is noted in o.repeated (the caller refuses such a payload:
// which of two readings counts is not something to guess). Names are compared unquoted, so
// "\u0073eq" is seq. It reports whether payload is a JSON object.
func (o *object) scan(payload []byte, names []string) bool {
	d := decoders.Get().(*pooledDecoder)
	defer d.release()
	d.buf = *bytes.NewBuffer(payload) // read in place, not copied
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
			return err == io.EOF // no second value, no trailing bytes
		case 0: // an error, read by the next call
			return false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		rawName := inPayload(payload, dec, v)
		if v, err = dec.ReadValue(); err != nil {
			return false
		}
		rawValue := inPayload(payload, dec, v)
		// Known names are plain ASCII: a name with no escapes is one of them
		// exactly when its bytes are.
		name := rawName[1 : len(rawName)-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = unquote(rawName)
		}
		if i := indexOf(names, name); i >= 0 {
			if o.known[i] != nil && o.repeated == nil {
				o.repeated = name
			}
			o.known[i] = rawValue
			continue
		}
		if name = unquote(rawName); !o.unknown || bytes.Compare(name, o.leastUnknown) < 0 {
			o.unknown, o.leastUnknown = true, name
		}
	}
}

// inPayload returns v, the value dec has just read, as the same bytes of
// payload: those stay valid after the decoder reads on.
func inPayload(payload []byte, dec *jsontext.Decoder, v jsontext.Value) []byte {
	end := int(dec.InputOffset())
	return payload[end-len(v) : end : end]
}

func indexOf(names []string, name []byte) int {
	for i, n := range names {
		if n == string(name) {
			return i
		}
	}
	return -1
}

// unquote returns the text of a raw JSON string as encoding/json decodes it:
// escapes resolved, each byte of invalid UTF-8 and each lone surrogate
// replaced by U+FFFD. A string with neither escapes nor invalid UTF-8 is
// returned in place.
func unquote(raw []byte) []byte {
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') < 0 && utf8.Valid(text) {
		return text
	}
	// raw is valid JSON, so the only errors are the replacements made.
	text, _ = jsontext.AppendUnquote(nil, raw)
	return text
}

// The JSON type of a raw value, by its first byte.
func isString(raw []byte) bool { return raw[0] == '"' }
func isNumber(raw []byte) bool { return raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9' }

// parseBool returns the value of a raw JSON true or false.
func parseBool(raw []byte) (v, ok bool) {
	switch string(raw) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// parseUint, parseInt and parseFloat convert a raw JSON number as
// encoding/json does for a uint64, int64 or float64 (strconv's answers,
// errors included). Other JSON values are not numbers to strconv either,
// so parseUint and parseInt fail on them.
//
// Every telemetry message has a seq, a ts and a few readings, so each
// first tries the shape devices send — plain digits, at most one point, no
// exponent, few enough digits to be exact — and leaves anything else to
// strconv; FuzzParseNumbers holds them to strconv.
func parseUint(raw []byte) (uint64, error) {
	if v, ok := plainDigits(raw); ok {
		return v, nil
	}
	return strconv.ParseUint(string(raw), 10, 64)
}

func parseInt(raw []byte) (int64, error) {
	neg := len(raw) > 1 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if v, ok := plainDigits(digits); ok {
		if neg {
			return -int64(v), nil
		}
		return int64(v), nil
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

func parseFloat(raw []byte) (float64, error) {
	if v, ok := plainDecimal(raw); ok {
		return v, nil
	}
	return strconv.ParseFloat(string(raw), 64)
}

// maxPlainDigits is the most digits plainDigits and plainDecimal take:
// below 10^18 nothing overflows an int64, and the decimal's mantissa
// stays exact in a float64 up to 15.
const maxPlainDigits = 18

// plainDigits reads 1 to maxPlainDigits ASCII digits, and nothing else.
func plainDigits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > maxPlainDigits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// plainDecimal reads an optional minus, digits and at most one point with
// digits after it — at most 15 digits in all and no exponent — as strconv
// would: the digits make an integer below 10^15, exact in a float64, and
// one division by an exact power of ten is correctly rounded (the same
// exact path strconv takes for such input).
func plainDecimal(b []byte) (float64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 16 { // 15 digits and a point
		return 0, false
	}
	var mant uint64
	digits, point := 0, -1
	for i, c := range b {
		switch {
		case '0' <= c && c <= '9':
			mant = mant*10 + uint64(c-'0')
			digits++
		case c == '.' && point < 0 && i > 0 && i < len(b)-1:
			point = i
		default:
			return 0, false
		}
	}
	if digits > 15 {
		return 0, false
	}
	v := float64(mant)
	if point >= 0 {
		v /= pow10[len(b)-1-point]
	}
	if neg {
		v = -v
	}
	return v, true
}

// pooledDecoder is a JSON tokenizer reused across payloads.
type pooledDecoder struct {
	buf bytes.Buffer
	dec jsontext.Decoder
}

var decoders = sync.Pool{New: func() any { return new(pooledDecoder) }}

// scanOptions make the tokenizer as lenient as encoding/json.Unmarshal and
// no more: JSON as RFC 8259 has it, with duplicate names (scan itself
// notes a known one repeated; any other is refused as unknown or lies
// inside a value that is refused) and invalid UTF-8.
var scanOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// release returns d to the pool. It still refers to the payload it read
// (at most Limits.MaxPayload bytes) until it is reused or the pool drops it
// at a garbage collection: resetting it here would add about 5 % to Decode.
func (d *pooledDecoder) release() { decoders.Put(d) }
