package zigbee2mqtt

import (
	"bytes"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// FuzzDecode feeds arbitrary topics and payloads through Decode and the
// vendor state, for every model. It checks that nothing panics and that an
// alarm never comes out of a payload that does not carry the model's alarm
// property with its "on" value.
func FuzzDecode(f *testing.F) {
	f.Add("kitchen", []byte(`{"smoke":true,"battery":83,"test":false}`), uint8(0))
	f.Add("kitchen/availability", []byte(`{"state":"online"}`), uint8(1))
	f.Add("a/b/action", []byte(`emergency`), uint8(2))
	f.Add("bridge/devices", []byte(`[{"ieee_address":"0x00158d0008a1b2c3","friendly_name":"x","definition":{"model":"HS1SA-E"}}]`), uint8(3))
	f.Add("x", []byte(`{"gas":"true","gas_value":"22","alarm_switch":true,"preheat":true,"state":"preparation"}`), uint8(4))
	f.Add("x", []byte(`{"carbon_monoxide":"ON","co":null}`), uint8(5))
	ms := Models()
	f.Fuzz(func(t *testing.T, name string, payload []byte, pick uint8) {
		m := ms[int(pick)%len(ms)]
		d, err := Decode(DefaultBase, DefaultBase+"/"+name, payload, func(string) *Model { return m })
		if err != nil {
			if devices.RejectionReason(err) == "" {
				t.Fatalf("error %v is not a rejection", err)
			}
			return
		}
		var s devices.VendorState
		out := s.Apply(&d.Obs, time.Unix(1_700_000_000, 0), false)
		for _, ev := range out.Events {
			var key string
			switch ev.Type {
			case devices.EventSmoke:
				key = "smoke"
			case devices.EventGas:
				key = `"gas`
			case devices.EventCO:
				key = "carbon_monoxide"
			default:
				continue
			}
			if !bytes.Contains(payload, []byte(key)) && !bytes.Contains(payload, []byte(`\u`)) {
				t.Fatalf("%s: %s event from a payload without %s: %q", m.ID, ev.Type, key, payload)
			}
		}
	})
}
