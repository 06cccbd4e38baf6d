package zigbee2mqtt

import (
	"slices"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// Model is what the hub knows of one Zigbee2MQTT device model: the
// properties of its state message that mean something to a duty room, as
// the model's definition in zigbee-herdsman-converters exposes them.
type Model struct {
	ID     string       // definition.model, as bridge/devices reports it
	Vendor string       // definition.vendor
	Kind   devices.Kind // what it is registered as
	// Ref names the definition: the converters' device file.
	Ref string
	// SelfTest is the payload for <base>/<name>/set that starts the
	// device's self-test, "" when the model has none.
	SelfTest string
	props    map[string]*prop
}

// Properties lists the state properties the hub reads, sorted.
func (m *Model) Properties() []string {
	names := make([]string, 0, len(m.props))
	for n := range m.props {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type role uint8

const (
	roleCondition role = iota // a binary expose: on/off raw JSON values
	roleEnum                  // an enum expose: some values mean on, some off
	roleSelfTest              // a self-test state or result enum
	rolePress                 // action: some values are an SOS press
	roleReading               // a numeric expose, scaled into a native field
)

type prop struct {
	role       role
	cond       devices.Condition
	on, off    []byte   // binary: value_on and value_off as raw JSON
	onValues   []string // enum: on; self-test: in progress; action: presses
	offValues  []string // enum: off
	failValues []string // self-test: failed
	field      string   // reading: the native field; condition: also read as this field, 1 when on (0 with inverted)
	scale      float64  // reading: multiply by this
	inverted   bool     // condition: its reading is 0 when on (contact: open is false)
	checkins   []string // action: a check-in's press pattern
}

// Property constructors, named after the exposes they read.
func binary(c devices.Condition) *prop {
	return &prop{role: roleCondition, cond: c, on: []byte("true"), off: []byte("false")}
}
func binaryOnOff(c devices.Condition) *prop {
	return &prop{role: roleCondition, cond: c, on: []byte(`"ON"`), off: []byte(`"OFF"`)}
}
func enum(c devices.Condition, on, off []string) *prop {
	return &prop{role: roleEnum, cond: c, onValues: on, offValues: off}
}
func selfTest(testing, failed []string) *prop {
	return &prop{role: roleSelfTest, onValues: testing, failValues: failed}
}
func press(values ...string) *prop { return &prop{role: rolePress, onValues: values} }

// buttons is an action whose values are SOS presses but for checkin, the
// press pattern that means a check-in.
func buttons(sos []string, checkin ...string) *prop {
	return &prop{role: rolePress, onValues: sos, checkins: checkin}
}
func reading(field string, scale float64) *prop {
	return &prop{role: roleReading, field: field, scale: scale}
}

var (
	smoke      = func() *prop { return binary(devices.CondSmoke) }
	gas        = func() *prop { return binary(devices.CondGas) }
	co         = func() *prop { return binary(devices.CondCO) }
	tamper     = func() *prop { return binary(devices.CondTamper) }
	batteryLow = func() *prop { return binary(devices.CondBatteryLow) }
	fault      = func() *prop { return binary(devices.CondFault) }
	test       = func() *prop { return binary(devices.CondTest) }
	battery    = func() *prop { return reading("battery", 1) }
	// battery_state low|medium|high (Tuya), not the charging states of
	// mains-powered monitors, which are left out of their models.
	batteryState = func() *prop {
		return enum(devices.CondBatteryLow, []string{"low"}, []string{"medium", "middle", "high"})
	}
	tuyaSelfTestResult = func() *prop {
		return selfTest([]string{"checking"}, []string{"failure"})
	}
	tuyaSelfTestEnum = func() *prop {
		return selfTest([]string{"checking", "Checking"}, []string{"check_failure", "Check failure"})
	}
	temperature = func() *prop { return reading("temperature", 1) }
	humidity    = func() *prop { return reading("humidity", 1) }
	co2         = func() *prop { return reading("co2", 1) }
	pm25        = func() *prop { return reading("pm25", 1) }
	coPPM       = func() *prop { return reading("co", 1) }
	lel         = func() *prop { return reading("lel", 1) }
	// contact: true is closed (exposes.contact); a door open is the
	// condition, and the reading is Zigbee2MQTT's (1 closed, 0 open).
	contact = func() *prop {
		return &prop{role: roleCondition, cond: devices.CondOpen, on: []byte("false"), off: []byte("true"), field: "contact", inverted: true}
	}
	occupancy = func() *prop {
		return &prop{role: roleCondition, cond: devices.CondOccupied, on: []byte("true"), off: []byte("false"), field: "occupancy"}
	}
)

type props map[string]*prop

func model(id, vendor string, kind devices.Kind, ref, selfTest string, p props) *Model {
	return &Model{ID: id, Vendor: vendor, Kind: kind, Ref: ref, SelfTest: selfTest, props: p}
}

// Lookup returns the model with definition.model id.
func Lookup(id string) (*Model, bool) {
	m, ok := byID[id]
	return m, ok
}

// Models lists every model, sorted by ID.
func Models() []*Model {
	ms := make([]*Model, 0, len(byID))
	for _, m := range byID {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *Model) int { return strings.Compare(a.ID, b.ID) })
	return ms
}

var byID = func() map[string]*Model {
	m := make(map[string]*Model, len(models))
	for _, x := range models {
		if _, dup := m[x.ID]; dup {
			panic("zigbee2mqtt: model " + x.ID + " defined twice")
		}
		if devices.Spec(x.Kind) == nil {
			panic("zigbee2mqtt: model " + x.ID + " has an unknown kind")
		}
		m[x.ID] = x
	}
	return m
}()
