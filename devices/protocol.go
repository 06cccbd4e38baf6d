package devices

import (
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// TopicPrefix is the root of every native protocol v1 topic. A device's own
// topics live under TopicPrefix + deviceID + "/".
const TopicPrefix = "shouwang/v1/"

// Channel is the last part of a device topic: what the message is.
type Channel string

// Channels of native protocol v1.
const (
	ChannelEvent     Channel = "event"     // uplink, QoS 1: presses, alarms, faults
	ChannelTelemetry Channel = "telemetry" // uplink: periodic readings and heartbeats
	ChannelStatus    Channel = "status"    // uplink, retained: online/offline, also the last will
	ChannelCmd       Channel = "cmd"       // downlink: acknowledgements and commands
	ChannelCall      Channel = "call"      // both ways: voice call signalling, call/...
)

// Topic returns the topic of a device's channel.
func Topic(deviceID string, ch Channel) string {
	return TopicPrefix + deviceID + "/" + string(ch)
}

// DeviceFilter is the MQTT topic filter covering all of one device's topics.
func DeviceFilter(deviceID string) string { return TopicPrefix + deviceID + "/#" }

// ParseTopic splits a native topic into the device ID and the channel. Call
// topics keep their sub-path in rest ("offer", "answer", ...).
func ParseTopic(topic string) (deviceID string, ch Channel, rest string, err error) {
	after, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return "", "", "", shouwang.Errorf(shouwang.EINVALID, "topic %q: does not start with %q", clip(topic), TopicPrefix)
	}
	deviceID, sub, ok := strings.Cut(after, "/")
	if !ok || !ValidID(deviceID) {
		return "", "", "", shouwang.Errorf(shouwang.EINVALID, "topic %q: bad device id", clip(topic))
	}
	name, rest, _ := strings.Cut(sub, "/")
	switch ch = Channel(name); ch {
	case ChannelEvent, ChannelTelemetry, ChannelStatus, ChannelCmd:
		if rest != "" {
			return "", "", "", shouwang.Errorf(shouwang.EINVALID, "topic %q: unexpected levels after %q", clip(topic), name)
		}
	case ChannelCall:
		if rest == "" {
			return "", "", "", shouwang.Errorf(shouwang.EINVALID, "topic %q: call topics need a sub-topic", clip(topic))
		}
	default:
		return "", "", "", shouwang.Errorf(shouwang.EINVALID, "topic %q: unknown channel %q", clip(topic), clip(name))
	}
	return deviceID, ch, rest, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// EventType is what an event reports.
type EventType string

// Event types of native protocol v1.
const (
	EventSOS        EventType = "sos"
	EventSmoke      EventType = "smoke"
	EventSmokeClear EventType = "smoke_clear"
	EventGas        EventType = "gas"
	EventGasClear   EventType = "gas_clear"
	EventCO         EventType = "co" // carbon monoxide detected
	EventCOClear    EventType = "co_clear"
	EventFault      EventType = "fault"
	EventFaultClear EventType = "fault_clear"
	EventTamper     EventType = "tamper"
	EventLowBattery EventType = "low_battery"
	EventTest       EventType = "test"
	// EventCheckin is a resident living alone saying "I am fine" (报平安):
	// activity for the daily check-in, never an alert.
	EventCheckin EventType = "checkin"
)

// TSFlag says why a device timestamp was not trusted.
type TSFlag string

// Timestamp flags. A flagged message keeps the device's ts for the record
// but is placed in time by the hub's receive time.
const (
	TSOK     TSFlag = ""
	TSFuture TSFlag = "future"
	TSPast   TSFlag = "past"
)

// Message is one decoded, validated uplink message.
type Message struct {
	DeviceID string
	Kind     Kind
	Channel  Channel
	Seq      uint64    // 0 on status messages, which are not de-duplicated
	TS       time.Time // the device's timestamp, zero if absent (status only)
	Received time.Time // when the hub received it
	TSFlag   TSFlag

	Event     *Event     // set for ChannelEvent
	Telemetry *Telemetry // set for ChannelTelemetry
	Status    *Status    // set for ChannelStatus
}

// Time is the moment the message is placed at: the device's timestamp when
// it is plausible, otherwise the hub's receive time.
func (m *Message) Time() time.Time {
	if m.TSFlag != TSOK || m.TS.IsZero() {
		return m.Received
	}
	return m.TS
}

// Event is an uplink event: a press, an alarm, a fault.
type Event struct {
	Type EventType
	Test bool     // commissioning test: recorded, never a real alert
	LEL  *float64 // gas events: % of the lower explosive limit
	// Severe marks a gas event at the device's own highest grade (Shelly
	// Gas "heavy"), for devices that report grades instead of %LEL. The
	// native protocol does not carry it.
	Severe bool
}

// Telemetry is a set of readings, by field name. Only fields the device's
// kind declares are present.
type Telemetry struct {
	Fields map[string]float64
}

// Status is a device's own word on its connection.
type Status struct {
	Online   bool
	Firmware string
	Battery  *float64
	Signal   *float64
}

// Reading is one value of one telemetry field at one time, as the history
// endpoint returns it.
type Reading struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}
