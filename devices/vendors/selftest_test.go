package vendors

import (
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
)

// TestHasSelfTest: the console offers a self-test only where the vendor's
// definition has a command for one.
func TestHasSelfTest(t *testing.T) {
	z := func(model string) *devices.Device {
		return &devices.Device{Source: devices.SourceZigbee2MQTT, Model: model, Kind: KindOf(devices.SourceZigbee2MQTT, model)}
	}
	sh := func(model string) *devices.Device {
		return &devices.Device{Source: devices.SourceShelly, Model: model, Kind: KindOf(devices.SourceShelly, model)}
	}
	tests := []struct {
		name string
		d    *devices.Device
		want bool
	}{
		{"Aqara JY-GZ-01AQ smoke", z("JY-GZ-01AQ"), true},
		{"Xiaomi JTQJ-BF-01LM/BW gas", z("JTQJ-BF-01LM/BW"), true},
		{"HEIMAN HS1SA-E smoke", z("HS1SA-E"), false},
		{"an unknown Zigbee model", z("XYZ-1"), false},
		{"Shelly Gas", sh("SHGS-1"), true},
		{"Shelly Plus Smoke", sh("SNSN-0031Z"), false},
		{"a bridge", &devices.Device{Source: devices.SourceZigbee2MQTT, Kind: devices.KindGateway}, false},
		{"a native button", &devices.Device{Kind: devices.KindSOSButton}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := HasSelfTest(tt.d); got != tt.want {
			t.Errorf("%s: HasSelfTest = %v, want %v", tt.name, got, tt.want)
		}
	}
}
