package zigbee2mqtt

import (
	"encoding/json"
	"fmt"

	"github.com/shouwang-hub/shouwang/devices"
)

// MaxBridgeDevices bounds the retained bridge/devices list. Each entry
// carries the model's full exposes, so a large network's list runs to
// megabytes.
const MaxBridgeDevices = 8 << 20

// BridgeDevice is one device in a bridge's bridge/devices list.
type BridgeDevice struct {
	IEEE         string `json:"ieee_address"`
	FriendlyName string `json:"friendly_name"`
	Type         string `json:"type"` // Coordinator, Router, EndDevice
	Model        string `json:"model,omitempty"`
	Vendor       string `json:"vendor,omitempty"`
	Description  string `json:"description,omitempty"`
	Supported    bool   `json:"supported"`
}

// ParseBridgeDevices reads <base>/bridge/devices. The coordinator and
// entries without a valid IEEE address or friendly name are left out.
func ParseBridgeDevices(payload []byte) ([]BridgeDevice, error) {
	if len(payload) > MaxBridgeDevices {
		return nil, &devices.Rejection{Reason: devices.ReasonOversized, Detail: fmt.Sprintf("bridge/devices of %d bytes exceeds %d", len(payload), MaxBridgeDevices)}
	}
	var raw []struct {
		IEEE         string `json:"ieee_address"`
		FriendlyName string `json:"friendly_name"`
		Type         string `json:"type"`
		Supported    bool   `json:"supported"`
		Definition   *struct {
			Model       string `json:"model"`
			Vendor      string `json:"vendor"`
			Description string `json:"description"`
		} `json:"definition"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, &devices.Rejection{Reason: devices.ReasonMalformed, Detail: "bridge/devices: not a JSON array of devices"}
	}
	out := make([]BridgeDevice, 0, len(raw))
	for _, r := range raw {
		if r.Type == "Coordinator" || !devices.ValidIEEE(r.IEEE) || r.FriendlyName == "" || len(r.FriendlyName) > 256 {
			continue
		}
		d := BridgeDevice{IEEE: r.IEEE, FriendlyName: r.FriendlyName, Type: r.Type, Supported: r.Supported}
		if r.Definition != nil {
			d.Model, d.Vendor, d.Description = clipS(r.Definition.Model), clipS(r.Definition.Vendor), clipS(r.Definition.Description)
		}
		out = append(out, d)
	}
	return out, nil
}

func clipS(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
