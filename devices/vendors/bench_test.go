package vendors

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

// BenchmarkDecodeTelemetry compares decoding a telemetry message of the
// native protocol with decoding the vendors' equivalents, as ingest does:
// topic to device, payload to readings. The bar: a Zigbee2MQTT
// telemetry message costs at most twice a native one.
func BenchmarkDecodeTelemetry(b *testing.B) {
	recv := time.Unix(1_763_800_000, 0)
	native := []byte(`{"seq":17,"ts":1763800000123,"temperature":22.1,"humidity":45.2,"pm25":35,"co2":812,"tvoc":0.31,"battery":87}`)
	b.Run("native/air", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := devices.ParseTopic("shouwang/v1/air-0101/telemetry"); err != nil {
				b.Fatal(err)
			}
			if _, err := devices.Decode(devices.DefaultLimits, devices.KindAir, devices.ChannelTelemetry, native, recv); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct{ name, model, payload string }{
		// A Tuya air box's state, as Zigbee2MQTT publishes it.
		{"zigbee2mqtt/air", "TS0601_smart_air_house_keeper",
			`{"co2":812,"formaldehyd":12,"humidity":45.2,"linkquality":87,"pm25":35,"temperature":22.1,"voc":120}`},
		// A Heiman smoke alarm's periodic state: battery and the clear alarm.
		{"zigbee2mqtt/smoke", "HS1SA-E",
			`{"battery":87,"battery_low":false,"linkquality":87,"smoke":false,"test":false}`},
	} {
		m, _ := zigbee2mqtt.Lookup(tc.model)
		payload := []byte(tc.payload)
		model := func(string) *zigbee2mqtt.Model { return m }
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := zigbee2mqtt.Decode("zigbee2mqtt", "zigbee2mqtt/3-2-502/客厅 air", payload, model)
				if err != nil || d.Obs.Empty() {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("shelly/concentration", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := shelly.Decode("shellies/shellygas-c45bbe6b2f8a", "shellies/shellygas-c45bbe6b2f8a/sensor/concentration", []byte("120")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
