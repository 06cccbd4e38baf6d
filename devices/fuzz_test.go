package devices

import (
	"math"
	"testing"
)

// FuzzDecode feeds arbitrary payloads to the decoder for every kind and
// uplink channel. It must never panic, and whatever it accepts must hold to
// the protocol: known fields only, finite numbers within range, a seq on
// events and telemetry.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"seq":7,"ts":1763800000000,"type":"sos"}`,
		`{"seq":9,"ts":1763800000000,"type":"gas","lel":27.5}`,
		`{"seq":10,"ts":1763800000000,"lel":3.2,"temperature":21.5,"battery":88,"signal":-71}`,
		`{"seq":1,"ts":1763800000000,"pm25":35,"co2":800}`,
		`{"state":"online","fw":"1.0.3","battery":87}`,
		`{"seq":1,"ts":1763800000000,"lel":1e999}`,
		`{"seq":1.5}`, `[]`, `null`, `{"seq":1,"ts":-1,"type":"test","test":true}`,
	} {
		for ch := range 3 {
			f.Add([]byte(s), uint8(ch), uint8(ch))
		}
	}
	channels := []Channel{ChannelEvent, ChannelTelemetry, ChannelStatus}
	f.Fuzz(func(t *testing.T, payload []byte, kindIdx, chIdx uint8) {
		k := Kinds[int(kindIdx)%len(Kinds)]
		ch := channels[int(chIdx)%len(channels)]
		m, err := Decode(DefaultLimits, k, ch, payload, recv)
		if err != nil {
			if RejectionReason(err) == "" {
				t.Fatalf("error %v is not a Rejection", err)
			}
			return
		}
		if ch != ChannelStatus && m.Seq == 0 {
			t.Fatal("accepted an event or telemetry without seq")
		}
		if m.Telemetry != nil {
			for name, v := range m.Telemetry.Fields {
				fs, ok := Spec(k).Field(name)
				if !ok || math.IsNaN(v) || v < fs.Min || v > fs.Max {
					t.Fatalf("accepted %s=%v for %s", name, v, k)
				}
			}
		}
		if m.Event != nil && !Spec(k).AllowsEvent(m.Event.Type) {
			t.Fatalf("accepted event %q for %s", m.Event.Type, k)
		}
	})
}

// FuzzSeqWindow checks that a message accepted once is never accepted again
// with the same timestamp while it is inside the window.
func FuzzSeqWindow(f *testing.F) {
	f.Add([]byte{1, 2, 3, 2, 1, 200, 3})
	f.Fuzz(func(t *testing.T, steps []byte) {
		var w SeqWindow
		seen := map[uint64]bool{}
		for _, b := range steps {
			seq := uint64(b) + 1
			v := w.Accept(seq, int64(seq)) // ts grows with seq: no restarts
			if seen[seq] && v != SeqDuplicate {
				t.Fatalf("seq %d accepted twice", seq)
			}
			if v != SeqDuplicate {
				seen[seq] = true
			}
		}
	})
}
