package devices

import (
	"testing"
	"time"
)

// benchPayloads are typical uplink messages, as devices and the simulator
// send them.
var benchPayloads = []struct {
	name    string
	kind    Kind
	ch      Channel
	payload string
}{
	{"telemetry/sos_button", KindSOSButton, ChannelTelemetry, `{"seq":17,"ts":1763800000123,"battery":87,"signal":-61}`},
	{"telemetry/smoke", KindSmoke, ChannelTelemetry, `{"seq":17,"ts":1763800000123,"smoke":0.02,"temperature":21.4,"battery":87,"signal":-61}`},
	{"telemetry/gas", KindGas, ChannelTelemetry, `{"seq":17,"ts":1763800000123,"lel":3.5,"temperature":21.4,"battery":87,"signal":-61}`},
	{"telemetry/air", KindAir, ChannelTelemetry, `{"seq":17,"ts":1763800000123,"temperature":22.1,"humidity":45.2,"pm25":35,"pm10":50,"co2":812,"tvoc":0.31,"battery":87,"signal":-61}`},
	{"telemetry/gas-sorted", KindGas, ChannelTelemetry, `{"battery":87,"lel":3.5,"seq":17,"signal":-61,"temperature":21.4,"ts":1763800000123}`},
	{"event/gas", KindGas, ChannelEvent, `{"seq":88,"ts":1763800000123,"type":"gas","lel":27.5}`},
	{"status/online", KindSmoke, ChannelStatus, `{"state":"online","fw":"1.0.3","battery":87,"signal":-65}`},
}

// BenchmarkDecode measures Decode on typical payloads. Compare with
// BenchmarkDecodeReference, the decoder it replaced.
func BenchmarkDecode(b *testing.B) {
	benchDecode(b, Decode)
}

// BenchmarkDecodeReference measures decodeRef, the encoding/json decoder
// Decode replaced, on the same payloads.
func BenchmarkDecodeReference(b *testing.B) {
	benchDecode(b, decodeRef)
}

func benchDecode(b *testing.B, decode func(Limits, Kind, Channel, []byte, time.Time) (*Message, error)) {
	for _, p := range benchPayloads {
		payload := []byte(p.payload)
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := decode(DefaultLimits, p.kind, p.ch, payload, recv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
