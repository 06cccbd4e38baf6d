package influx

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// Tag and field names of a telemetry point. The measurement is the device
// kind; each reading is a float field named as in the protocol.
const (
	TagDevice    = "device"
	TagKind      = "kind"
	TagCommunity = "community"
	TagGrid      = "grid"
	TagBuilding  = "building"

	FieldSeq      = "seq"       // integer: the device's sequence number
	FieldDeviceTS = "device_ts" // integer ms: the device's own ts, when it was not trusted
	FieldTSFlag   = "ts_flag"   // string: why the device's ts was not trusted
)

// Line formats one telemetry message as a line of InfluxDB line protocol,
// without a trailing newline: measurement = m.Kind; tags building,
// community, device (m.DeviceID), grid, kind (empty ones left out); fields =
// each reading as a float, seq as an integer and, when the device's ts was
// flagged, device_ts (integer ms) and ts_flag (string); the timestamp is
// m.Time() in nanoseconds. loc supplies the location tags (community, grid
// and building; the rest is not read) and may be nil.
//
// Line writes byte for byte what the client library's line-protocol encoder
// (github.com/influxdata/line-protocol, used by WritePoint) writes for the
// same write.Point, which the tests check, but several times faster and
// with one allocation instead of thirty-odd: the library boxes every field
// and tag. One deliberate difference: 1.x line protocol cannot carry a
// backslash in a tag value unambiguously (`a\,b` or a trailing `\` breaks
// the line, and the library writes it as is), so Line replaces backslashes
// in tag values with the look-alike U+FF3C '＼'. Tabs and newlines in tag
// values are escaped as the library does (`\t`, `\n`), and InfluxDB 1.8
// stores those escapes as two characters.
func Line(m *devices.Message, loc *devices.Location) []byte {
	kind, id := m.Kind, m.DeviceID
	if loc == nil {
		loc = &noLocation
	}
	var readings map[string]float64
	if m.Telemetry != nil {
		readings = m.Telemetry.Fields
	}
	b := make([]byte, 0, 96+len(loc.Building)+len(loc.Community)+len(loc.Grid)+len(id)+2*len(kind)+24*len(readings))

	b = appendEscaped(b, string(kind), &nameEscapes)
	// Tags in key order, the order InfluxDB keeps them in.
	b = appendTag(b, TagBuilding, loc.Building)
	b = appendTag(b, TagCommunity, loc.Community)
	b = appendTag(b, TagDevice, id)
	b = appendTag(b, TagGrid, loc.Grid)
	b = appendTag(b, TagKind, string(kind))
	b = append(b, ' ')

	b = appendReadings(b, kind, readings)
	b = append(b, FieldSeq+"="...)
	b = strconv.AppendInt(b, int64(m.Seq), 10)
	b = append(b, 'i')
	if m.TSFlag != devices.TSOK {
		b = append(b, ","+FieldDeviceTS+"="...)
		b = strconv.AppendInt(b, m.TS.UnixMilli(), 10)
		b = append(b, "i,"+FieldTSFlag+`="`...)
		b = appendEscaped(b, string(m.TSFlag), &stringEscapes)
		b = append(b, '"')
	}
	if t := m.Time(); !t.IsZero() {
		b = append(b, ' ')
		b = strconv.AppendInt(b, t.UnixNano(), 10)
	}
	return b
}

var noLocation devices.Location

// fieldOrder is each kind's telemetry field names in key order, the order
// the fields are written in, worked out once.
var fieldOrder = func() map[devices.Kind][]string {
	out := make(map[devices.Kind][]string, len(devices.Kinds))
	for _, k := range devices.Kinds {
		var names []string
		for _, f := range devices.Spec(k).AllFields() {
			names = append(names, f.Name)
		}
		slices.Sort(names)
		out[k] = names
	}
	return out
}()

// appendReadings writes the readings as fields in key order, each followed
// by a comma. Decoded telemetry has only its kind's fields, so they are
// written in the kind's order, each looked up once; a reading of any other
// name sends all of them through a sort instead.
func appendReadings(b []byte, kind devices.Kind, readings map[string]float64) []byte {
	start, found := len(b), 0
	for _, name := range fieldOrder[kind] {
		if v, ok := readings[name]; ok {
			b = appendField(b, name, v)
			found++
		}
	}
	if found == len(readings) {
		return b
	}
	b = b[:start]
	var scratch [16]string
	names := scratch[:0]
	for name := range readings {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b = appendField(b, name, readings[name])
	}
	return b
}

// appendField writes one float field and a comma; NaN and ±Inf are not
// representable, and are left out as the library leaves them out.
func appendField(b []byte, name string, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b
	}
	b = appendEscaped(b, name, &keyEscapes)
	b = append(b, '=')
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	return append(b, ',')
}

func appendTag(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	if strings.Contains(value, `\`) {
		value = strings.ReplaceAll(value, `\`, "＼")
	}
	b = append(b, ',')
	b = append(b, key...) // our keys need no escaping
	b = append(b, '=')
	return appendEscaped(b, value, &keyEscapes)
}

// escapeSet maps a byte to its escaped form, or to "" when it is written as
// is. Every byte that needs escaping is ASCII, so walking a UTF-8 string a
// byte at a time is safe: multi-byte sequences never contain ASCII bytes.
type escapeSet [256]string

func newEscapeSet(pairs ...string) escapeSet {
	var s escapeSet
	for i := 0; i < len(pairs); i += 2 {
		s[pairs[i][0]] = pairs[i+1]
	}
	return s
}

// The escapes of github.com/influxdata/line-protocol's encoder.
var (
	nameEscapes   = newEscapeSet("\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`, ",", `\,`, " ", `\ `)
	keyEscapes    = newEscapeSet("\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`, ",", `\,`, " ", `\ `, "=", `\=`)
	stringEscapes = newEscapeSet("\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`, `"`, `\"`, `\`, `\\`)
)

func appendEscaped(b []byte, s string, set *escapeSet) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if e := set[s[i]]; e != "" {
			b = append(b, s[start:i]...)
			b = append(b, e...)
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}

// AlertLine formats one alert change for dashboards: measurement "alert",
// tags community, device, kind, severity and state, fields id, escalation
// level, occurrences and test, at the time of the change.
func AlertLine(c alerts.Change) []byte {
	a := c.Alert
	b := make([]byte, 0, 256)
	b = append(b, "alert"...)
	b = appendTag(b, TagCommunity, a.Device.Location.Community)
	b = appendTag(b, TagDevice, a.DeviceID)
	b = appendTag(b, TagKind, string(a.Kind))
	b = appendTag(b, "severity", string(a.Severity))
	b = appendTag(b, "state", string(a.State))
	b = append(b, " id="...)
	b = strconv.AppendInt(b, a.ID, 10)
	b = append(b, "i,escalation_level="...)
	b = strconv.AppendInt(b, int64(a.EscalationLevel), 10)
	b = append(b, "i,occurrences="...)
	b = strconv.AppendInt(b, int64(a.Occurrences), 10)
	b = append(b, "i,test="...)
	b = strconv.AppendBool(b, a.Test)
	b = append(b, ' ')
	b = strconv.AppendInt(b, c.At.UnixNano(), 10)
	return b
}
