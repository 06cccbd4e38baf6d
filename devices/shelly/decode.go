package shelly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
)

// MaxPayload bounds one message (a NotifyFullStatus is a few KiB).
const MaxPayload = 16 << 10

// Decoded is one message under a Shelly's prefix, read.
type Decoded struct {
	Obs devices.Observation
	// Model is the model the topic shows ("" when it does not tell).
	Model   string
	Ignored string
}

// Decode reads one message published under root.
func Decode(root, topic string, payload []byte) (Decoded, error) {
	var d Decoded
	rest, ok := strings.CutPrefix(topic, root+"/")
	if !ok {
		return d, &devices.Rejection{Reason: devices.ReasonBadTopic, Detail: "not under the prefix " + root}
	}
	if len(payload) > MaxPayload {
		return d, &devices.Rejection{Reason: devices.ReasonOversized, Detail: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxPayload)}
	}
	text := string(bytes.TrimSpace(payload))
	o := &d.Obs
	switch rest {
	case "online":
		on, err := strconv.ParseBool(text)
		if err != nil {
			return d, bad("online: want true or false")
		}
		o.Online = &on
	case "sensor/gas": // Shelly Gas alarm state
		d.Model = ModelGas
		switch text {
		case "none":
			o.Set(devices.CondGas, false)
			o.Set(devices.CondGasSevere, false)
		case "mild":
			o.Set(devices.CondGas, true)
			o.Set(devices.CondGasSevere, false)
		case "heavy":
			o.Set(devices.CondGas, true)
			o.Set(devices.CondGasSevere, true)
		case "test": // the alarm sounded by a self-test
			o.Set(devices.CondTest, true)
		case "unknown":
			d.Ignored = "alarm state unknown"
		default:
			return d, bad("sensor/gas: want none, mild, heavy, test or unknown")
		}
	case "sensor/operation":
		d.Model = ModelGas
		switch text {
		case "fault":
			o.Set(devices.CondFault, true)
		case "normal":
			o.Set(devices.CondFault, false)
		case "warmup", "init", "unknown": // warming up is neither an alarm nor a fault
			d.Ignored = "operation " + text
		default:
			return d, bad("sensor/operation: want warmup, normal or fault")
		}
	case "sensor/self_test":
		d.Model = ModelGas
		switch text {
		case "running", "pending":
			o.Set(devices.CondTest, true)
		case "completed", "not_completed":
			o.Set(devices.CondTest, false)
		default:
			return d, bad("sensor/self_test: want not_completed, completed, running or pending")
		}
	case "sensor/concentration":
		d.Model = ModelGas
		v, ok := devices.JSONNumber([]byte(text))
		if !ok || v < 0 || v > 100000 {
			return d, &devices.Rejection{Reason: devices.ReasonOutOfRange, Detail: "sensor/concentration: want ppm between 0 and 100000"}
		}
		o.Reading("gas_ppm", v)
	case "events/rpc":
		d.Model = ModelPlusSmoke
		if err := decodeRPC(payload, o); err != nil {
			return d, err
		}
	default:
		if comp, ok := strings.CutPrefix(rest, "status/"); ok {
			if err := decodeComponent(comp, payload, o); err != nil {
				return d, err
			}
		} else {
			d.Ignored = "not a topic the hub reads"
		}
	}
	if d.Ignored == "" && o.Empty() {
		d.Ignored = "nothing the hub reads"
	}
	return d, nil
}

func bad(detail string) error {
	return &devices.Rejection{Reason: devices.ReasonBadValue, Detail: detail}
}

// smokeStatus is the Smoke component's status: alarm, and mute (a muted
// detector is still in alarm).
type smokeStatus struct {
	Alarm *bool `json:"alarm"`
}

type powerStatus struct {
	Battery *struct {
		Percent *float64 `json:"percent"`
	} `json:"battery"`
}

// decodeRPC reads a Gen2 notification: NotifyStatus and NotifyFullStatus
// carry component statuses in params; NotifyEvent carries events.
func decodeRPC(payload []byte, o *devices.Observation) error {
	var n struct {
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(payload, &n); err != nil {
		return &devices.Rejection{Reason: devices.ReasonMalformed, Detail: "events/rpc: not a JSON-RPC notification"}
	}
	switch n.Method {
	case "NotifyStatus", "NotifyFullStatus":
		for comp, raw := range n.Params {
			if comp == "ts" {
				continue
			}
			if err := decodeComponent(comp, raw, o); err != nil {
				return err
			}
		}
	case "NotifyEvent":
		var evs struct {
			Events []struct {
				Component string `json:"component"`
				Event     string `json:"event"`
			} `json:"events"`
		}
		if err := json.Unmarshal(n.Params["events"], &evs.Events); err != nil && n.Params["events"] != nil {
			return &devices.Rejection{Reason: devices.ReasonMalformed, Detail: "events/rpc: events is not a list"}
		}
		for _, e := range evs.Events {
			if !strings.HasPrefix(e.Component, "smoke:") {
				continue
			}
			switch e.Event {
			case "alarm":
				o.Set(devices.CondSmoke, true)
			case "alarm_off":
				o.Set(devices.CondSmoke, false)
			case "alarm_test":
				o.Set(devices.CondTest, true)
			}
		}
	}
	return nil
}

// decodeComponent reads one component's status: smoke:N or devicepower:N.
func decodeComponent(comp string, raw []byte, o *devices.Observation) error {
	switch {
	case strings.HasPrefix(comp, "smoke:"):
		var s smokeStatus
		if err := json.Unmarshal(raw, &s); err != nil {
			return &devices.Rejection{Reason: devices.ReasonMalformed, Detail: comp + ": not a status object"}
		}
		if s.Alarm != nil {
			o.Set(devices.CondSmoke, *s.Alarm)
		}
	case strings.HasPrefix(comp, "devicepower:"):
		var p powerStatus
		if err := json.Unmarshal(raw, &p); err != nil {
			return &devices.Rejection{Reason: devices.ReasonMalformed, Detail: comp + ": not a status object"}
		}
		if p.Battery != nil && p.Battery.Percent != nil {
			if v := *p.Battery.Percent; v >= 0 && v <= 100 {
				o.Reading("battery", v)
			}
		}
	}
	return nil
}
