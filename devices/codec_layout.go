package devices

import (
	"fmt"
	"slices"
	"strings"
)

// A layout is what one kind may send on one channel: the member names Decode
// reads, in the order it checks them, with the field spec of each numeric
// one. Every channel starts with seq and ts.
type layout struct {
	names  []string
	fields []FieldSpec // fields[i] is the spec of names[i], zero for non-numbers
}

// Positions of members in their layouts.
const (
	memberSeq = 0
	memberTS  = 1

	// telemetry: the kind's fields and the common ones, sorted by name
	memberFields = 2

	// event
	memberType = 2
	memberTest = 3
	memberLEL  = 4 // gas only

	// status
	memberState   = 2
	memberFW      = 3
	memberBattery = 4
	memberSignal  = 5
)

// kindCodec is what Decode needs to know about one kind, worked out once.
type kindCodec struct {
	spec                     *KindSpec
	event, telemetry, status layout
}

// codecs holds the codec of every kind in specs.
var codecs = func() map[Kind]*kindCodec {
	cs := make(map[Kind]*kindCodec, len(specs))
	for k, spec := range specs {
		cs[k] = newKindCodec(spec)
	}
	return cs
}()

func newKindCodec(spec *KindSpec) *kindCodec {
	c := &kindCodec{spec: spec}
	field := func(name string) FieldSpec {
		f, ok := spec.Field(name)
		if !ok {
			panic(fmt.Sprintf("devices: %s has no field %s", spec.Kind, name))
		}
		return f
	}
	header := []string{"seq", "ts"}
	c.event.names = append(slices.Clone(header), "type", "test")
	if spec.Kind == KindGas {
		c.event.names = append(c.event.names, "lel")
	}
	c.event.fields = make([]FieldSpec, len(c.event.names))
	if spec.Kind == KindGas {
		c.event.fields[memberLEL] = field("lel")
	}

	all := spec.AllFields()
	slices.SortFunc(all, func(a, b FieldSpec) int { return strings.Compare(a.Name, b.Name) })
	c.telemetry.names = slices.Clone(header)
	c.telemetry.fields = make([]FieldSpec, len(header))
	for _, f := range all {
		c.telemetry.names = append(c.telemetry.names, f.Name)
		c.telemetry.fields = append(c.telemetry.fields, f)
	}

	c.status.names = append(slices.Clone(header), "state", "fw", "battery", "signal")
	c.status.fields = make([]FieldSpec, len(c.status.names))
	c.status.fields[memberBattery] = field("battery")
	c.status.fields[memberSignal] = field("signal")

	for _, l := range []layout{c.event, c.telemetry, c.status} {
		if len(l.names) > maxKnown {
			panic(fmt.Sprintf("devices: %s sends %d fields on one channel; raise maxKnown", spec.Kind, len(l.names)))
		}
	}
	return c
}

// layout returns the layout of channel ch; an empty one for a channel that
// is not an uplink, so every member is unknown.
func (c *kindCodec) layout(ch Channel) *layout {
	switch ch {
	case ChannelEvent:
		return &c.event
	case ChannelTelemetry:
		return &c.telemetry
	case ChannelStatus:
		return &c.status
	}
	return &noLayout
}

var noLayout layout

// eventType returns the event type named typ if the kind sends it, or "".
func (c *kindCodec) eventType(typ []byte) EventType {
	for _, t := range c.spec.Events {
		if string(t) == string(typ) {
			return t
		}
	}
	return ""
}
