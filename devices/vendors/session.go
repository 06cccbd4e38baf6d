package vendors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

// Input is one line of `hubctl decode`: a message as captured.
type Input struct {
	Source  devices.Source  `json:"source"`
	Model   string          `json:"model,omitempty"`
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
}

// Output is what one message means: the events and readings it yields and
// the status it reports, or why it was ignored or rejected.
type Output struct {
	Events   []string           `json:"events,omitempty"`
	Readings map[string]float64 `json:"readings,omitempty"`
	Status   string             `json:"status,omitempty"`
	Activity string             `json:"activity,omitempty"` // a household's sign of life: door, motion
	Ignored  string             `json:"ignored,omitempty"`
	Rejected string             `json:"rejected,omitempty"`
}

// Session decodes messages one after another, keeping per-device state as
// the hub does: the vendor state (edges, presses) and, for native
// messages, the seq de-duplication.
type Session struct {
	Now      func() time.Time
	states   map[string]*devices.VendorState
	models   map[string]string // device key → model
	windows  map[string]devices.SeqWindow
	seenSeqs map[string]bool
}

// NewSession returns an empty session.
func NewSession() *Session {
	return &Session{
		Now:    time.Now,
		states: map[string]*devices.VendorState{}, models: map[string]string{},
		windows: map[string]devices.SeqWindow{}, seenSeqs: map[string]bool{},
	}
}

// Payload returns the bytes of in.Payload as they would travel: a JSON
// string is its text, any other JSON value its JSON.
func (in *Input) payload() []byte {
	p := bytes.TrimSpace(in.Payload)
	if s, ok := devices.JSONString(p); ok {
		return []byte(s)
	}
	return p
}

// Decode reads one input.
func (s *Session) Decode(in Input) Output {
	now := s.Now()
	payload := in.payload()
	switch in.Source {
	case devices.SourceNative, "":
		return s.native(in, payload, now)
	case devices.SourceZigbee2MQTT:
		return s.zigbee(in, payload, now)
	case devices.SourceShelly:
		return s.shelly(in, payload, now)
	}
	return Output{Rejected: fmt.Sprintf("source %q: want native, zigbee2mqtt or shelly", in.Source)}
}

func rejected(err error) Output {
	return Output{Rejected: err.Error()}
}

func (s *Session) zigbee(in Input, payload []byte, now time.Time) Output {
	base := zigbee2mqtt.DefaultBase
	if !strings.HasPrefix(in.Topic, base+"/") {
		base, _, _ = strings.Cut(in.Topic, "/")
	}
	d, err := zigbee2mqtt.Decode(base, in.Topic, payload, func(name string) *zigbee2mqtt.Model {
		key := "z:" + base + "/" + name
		if in.Model != "" {
			s.models[key] = in.Model
		}
		m, _ := zigbee2mqtt.Lookup(s.models[key])
		return m
	})
	if err != nil {
		return rejected(err)
	}
	if d.Kind == zigbee2mqtt.TopicBridgeDevices {
		for _, bd := range d.Bridge {
			if bd.Model != "" {
				s.models["z:"+base+"/"+bd.FriendlyName] = bd.Model
			}
		}
		return Output{Ignored: fmt.Sprintf("bridge/devices: %d devices learned", len(d.Bridge))}
	}
	if d.Ignored != "" {
		if in.Model != "" && d.Kind == zigbee2mqtt.TopicState {
			if _, ok := zigbee2mqtt.Lookup(in.Model); !ok {
				return Output{Ignored: "model " + in.Model + " is not one the hub knows"}
			}
		}
		return Output{Ignored: d.Ignored}
	}
	key := "z:" + base + "/" + d.Name
	if d.Kind == zigbee2mqtt.TopicBridgeState {
		key = "z:" + base + "/bridge"
	}
	return s.apply(key, &d.Obs, now)
}

func (s *Session) shelly(in Input, payload []byte, now time.Time) Output {
	root := shellyRoot(in.Topic)
	d, err := shelly.Decode(root, in.Topic, payload)
	if err != nil {
		return rejected(err)
	}
	if d.Ignored != "" {
		return Output{Ignored: d.Ignored}
	}
	return s.apply("s:"+root, &d.Obs, now)
}

// shellyRoot is a Shelly topic's prefix: what comes before its known
// suffixes.
func shellyRoot(topic string) string {
	for _, suffix := range []string{"/sensor/", "/events/", "/status/", "/online"} {
		if i := strings.LastIndex(topic, suffix); i > 0 {
			return topic[:i]
		}
	}
	root, _, _ := strings.Cut(topic, "/")
	return root
}

func (s *Session) apply(key string, o *devices.Observation, now time.Time) Output {
	st := s.states[key]
	if st == nil {
		st = &devices.VendorState{}
		s.states[key] = st
	}
	return FromOutcome(st.Apply(o, now, false))
}

// FromOutcome renders an outcome as a decode line.
func FromOutcome(out devices.Outcome) Output {
	var o Output
	for _, e := range out.Events {
		o.Events = append(o.Events, string(e.Type))
	}
	o.Readings = out.Readings
	if out.Online != nil {
		o.Status = "offline"
		if *out.Online {
			o.Status = "online"
		}
	}
	o.Activity = out.Activity
	if len(o.Events) == 0 && len(o.Readings) == 0 && o.Status == "" && o.Activity == "" {
		o.Ignored = "no change: the state repeats what is known"
	}
	return o
}

func (s *Session) native(in Input, payload []byte, now time.Time) Output {
	id, ch, _, err := devices.ParseTopic(in.Topic)
	if err != nil {
		return rejected(err)
	}
	if ch != devices.ChannelEvent && ch != devices.ChannelTelemetry && ch != devices.ChannelStatus {
		return Output{Ignored: "channel " + string(ch) + " is not decoded"}
	}
	kind := devices.Kind(in.Model)
	if !kind.Valid() {
		return Output{Rejected: "native: model must be the device kind (" + strings.Join(kindNames(), ", ") + ")"}
	}
	m, err := devices.Decode(devices.DefaultLimits, kind, ch, payload, now)
	if err != nil {
		return rejected(err)
	}
	var o Output
	switch ch {
	case devices.ChannelEvent:
		k := fmt.Sprintf("%s/%d", id, m.Seq)
		if s.seenSeqs[k] {
			return Output{Ignored: fmt.Sprintf("duplicate: seq %d was stored already", m.Seq)}
		}
		s.seenSeqs[k] = true
		o.Events = []string{string(m.Event.Type)}
		if m.Event.LEL != nil {
			o.Readings = map[string]float64{"lel": *m.Event.LEL}
		}
	case devices.ChannelTelemetry:
		w := s.windows[id]
		if w.Accept(m.Seq, m.TS.UnixMilli()) == devices.SeqDuplicate {
			return Output{Ignored: fmt.Sprintf("duplicate: seq %d was stored already", m.Seq)}
		}
		s.windows[id] = w
		o.Readings = m.Telemetry.Fields
	case devices.ChannelStatus:
		o.Status = "offline"
		if m.Status.Online {
			o.Status = "online"
		}
		if m.Status.Battery != nil {
			o.Readings = map[string]float64{"battery": *m.Status.Battery}
		}
	}
	return o
}

func kindNames() []string {
	var ns []string
	for _, k := range devices.Kinds {
		if k != devices.KindGateway {
			ns = append(ns, string(k))
		}
	}
	return slices.Clip(ns)
}
