package devices

import "slices"

// FieldSpec is one telemetry field: its unit and the range a working sensor
// can report. Readings outside the range are rejected, not clamped.
type FieldSpec struct {
	Name     string
	Unit     string
	Min, Max float64
}

// Fields every kind may report alongside its own.
var commonFields = []FieldSpec{
	{"battery", "%", 0, 100},
	{"signal", "dBm", -150, 0},
}

// KindSpec is what native protocol v1 says about one kind.
type KindSpec struct {
	Kind   Kind
	Fields []FieldSpec
	Events []EventType
	// LifeSafety kinds are supervised: silence past their reporting time is
	// an alert in itself.
	LifeSafety bool
}

var commonEvents = []EventType{EventFault, EventFaultClear, EventTamper, EventLowBattery, EventTest}

var specs = map[Kind]*KindSpec{
	KindSOSButton: {
		Kind:       KindSOSButton,
		Events:     append([]EventType{EventSOS, EventCheckin}, commonEvents...),
		LifeSafety: true,
	},
	KindDoor: {
		Kind: KindDoor,
		// contact as Zigbee2MQTT reports it: 1 closed, 0 open.
		Fields: []FieldSpec{{"contact", "", 0, 1}},
		Events: commonEvents,
	},
	KindMotion: {
		Kind: KindMotion,
		// occupancy: 1 while the sensor sees movement.
		Fields: []FieldSpec{{"occupancy", "", 0, 1}},
		Events: commonEvents,
	},
	KindSmoke: {
		Kind: KindSmoke,
		Fields: []FieldSpec{
			{"smoke", "%/m", 0, 100}, // optical obscuration
			{"temperature", "°C", -40, 125},
			{"humidity", "%RH", 0, 100},
			{"co", "ppm", 0, 10000}, // combined smoke and CO alarms
		},
		Events:     append([]EventType{EventSmoke, EventSmokeClear, EventCO, EventCOClear}, commonEvents...),
		LifeSafety: true,
	},
	KindGas: {
		Kind: KindGas,
		Fields: []FieldSpec{
			{"lel", "%LEL", 0, 100},
			{"temperature", "°C", -40, 125},
			{"gas_ppm", "ppm", 0, 100000}, // Shelly Gas: methane or LPG concentration
			{"co", "ppm", 0, 10000},       // combined gas and CO detectors
		},
		Events:     append([]EventType{EventGas, EventGasClear, EventCO, EventCOClear}, commonEvents...),
		LifeSafety: true,
	},
	KindCO: {
		Kind: KindCO,
		Fields: []FieldSpec{
			{"co", "ppm", 0, 10000},
			{"temperature", "°C", -40, 125},
		},
		Events:     append([]EventType{EventCO, EventCOClear}, commonEvents...),
		LifeSafety: true,
	},
	KindGateway: {
		Kind: KindGateway,
	},
	KindAir: {
		Kind: KindAir,
		Fields: []FieldSpec{
			{"temperature", "°C", -40, 85},
			{"humidity", "%RH", 0, 100},
			{"pm25", "µg/m³", 0, 2000},
			{"pm10", "µg/m³", 0, 2000},
			{"co2", "ppm", 0, 40000},
			{"tvoc", "mg/m³", 0, 100},
			{"voc_ppb", "ppb", 0, 100000}, // VOC as some sensors report it
			{"hcho", "mg/m³", 0, 10},      // formaldehyde
		},
		Events: commonEvents,
	},
}

// Spec returns what the protocol says about kind k, or nil for an unknown kind.
func Spec(k Kind) *KindSpec { return specs[k] }

// Field returns the spec of a telemetry field of this kind, including the
// fields common to all kinds.
func (s *KindSpec) Field(name string) (FieldSpec, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	for _, f := range commonFields {
		if f.Name == name {
			return f, true
		}
	}
	return FieldSpec{}, false
}

// AllFields lists the kind's own fields, then the common ones.
func (s *KindSpec) AllFields() []FieldSpec {
	return append(slices.Clone(s.Fields), commonFields...)
}

// AllowsEvent reports whether a device of this kind may send event type t.
func (s *KindSpec) AllowsEvent(t EventType) bool { return slices.Contains(s.Events, t) }
