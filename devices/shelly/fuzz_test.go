package shelly

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// FuzzDecode feeds arbitrary topics under a prefix and payloads through
// Decode and the vendor state: nothing panics, every error is a rejection,
// and only the alarm-state topics raise alarms.
func FuzzDecode(f *testing.F) {
	f.Add("sensor/gas", []byte("heavy"))
	f.Add("sensor/concentration", []byte("1200"))
	f.Add("online", []byte("true"))
	f.Add("events/rpc", []byte(`{"method":"NotifyStatus","params":{"smoke:0":{"id":0,"alarm":true}}}`))
	f.Add("events/rpc", []byte(`{"method":"NotifyEvent","params":{"events":[{"component":"smoke:0","event":"alarm"}]}}`))
	f.Add("status/devicepower:0", []byte(`{"battery":{"percent":"9"}}`))
	const root = "shellies/shellygas-c45bbe6b2f8a"
	f.Fuzz(func(t *testing.T, rest string, payload []byte) {
		d, err := Decode(root, root+"/"+rest, payload)
		if err != nil {
			if devices.RejectionReason(err) == "" {
				t.Fatalf("error %v is not a rejection", err)
			}
			return
		}
		var s devices.VendorState
		out := s.Apply(&d.Obs, time.Unix(1_700_000_000, 0), false)
		for _, ev := range out.Events {
			switch ev.Type {
			case devices.EventGas:
				if rest != "sensor/gas" {
					t.Fatalf("gas event from %q", rest)
				}
			case devices.EventSmoke:
				if rest != "events/rpc" && rest[:min(len(rest), 13)] != "status/smoke:" {
					t.Fatalf("smoke event from %q", rest)
				}
			}
		}
	})
}
