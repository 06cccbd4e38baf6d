package hub

import (
	"context"
	"testing"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/zigbee2mqtt"
)

type vendorSource struct {
	ds    []*devices.Device
	found []devices.Discovered
}

func (s vendorSource) VendorDevices(context.Context) ([]*devices.Device, error) { return s.ds, nil }
func (s vendorSource) ListDiscovered(context.Context, string) ([]devices.Discovered, error) {
	return s.found, nil
}

func TestVendorRoutes(t *testing.T) {
	z := func(id, gw, ieee, model string) *devices.Device {
		return &devices.Device{ID: id, Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: gw, Address: ieee, Model: model}
	}
	src := vendorSource{
		ds: []*devices.Device{
			{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt"},
			{ID: "zb-2", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "site/b2"},
			z("smk-1", "zb-1", "0x00158d0008a1b2c3", "JY-GZ-01AQ"),
			z("smk-2", "zb-1", "0x00158d0008a1b2c4", "HS1SA-E"),
			{ID: "shg-1", Kind: devices.KindGas, Source: devices.SourceShelly, Address: "shellies/shellygas-1"},
		},
		found: []devices.Discovered{
			{Gateway: "zb-1", IEEE: "0x00158d0008a1b2c3", FriendlyName: "3-2-502/hall smoke"},
			{Gateway: "zb-1", IEEE: "0x00158d0008a1b2c4", FriendlyName: "kitchen"},
		},
	}
	r := NewVendorRoutes()
	if err := r.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ topic, root string }{
		{"zigbee2mqtt/3-2-502/hall smoke", "zigbee2mqtt"},
		{"site/b2/bridge/devices", "site/b2"},
		{"shellies/shellygas-1/sensor/gas", "shellies/shellygas-1"},
		{"site/b3/x", ""},
		{"zigbee2mqtt", ""},
		{"shouwang/v1/d1/event", ""},
	} {
		vr, ok := r.find(tt.topic)
		if ok != (tt.root != "") || vr.root != tt.root {
			t.Errorf("find(%q) = %q, %v; want %q", tt.topic, vr.root, ok, tt.root)
		}
		// The messages of one root are handled in order (mqttc.Config.OrderKey).
		if k := r.OrderKey(tt.topic); k != tt.root {
			t.Errorf("OrderKey(%q) = %q, want %q", tt.topic, k, tt.root)
		}
	}
	if d, ieee := r.behind("zb-1", "3-2-502/hall smoke"); d == nil || d.ID != "smk-1" || ieee != "0x00158d0008a1b2c3" {
		t.Errorf("behind(hall smoke) = %v, %q", d, ieee)
	}
	if d, _ := r.behind("zb-2", "kitchen"); d != nil {
		t.Errorf("a name on one bridge routed to %s on another", d.ID)
	}
	// A new list from the bridge renames a device: its IEEE address keeps
	// it.
	r.learn("zb-1", []zigbee2mqtt.BridgeDevice{
		{IEEE: "0x00158d0008a1b2c3", FriendlyName: "3-2-502/hall smoke"},
		{IEEE: "0x00158d0008a1b2c4", FriendlyName: "3-2-502/kitchen smoke"},
	})
	if d, _ := r.behind("zb-1", "3-2-502/kitchen smoke"); d == nil || d.ID != "smk-2" {
		t.Errorf("after a rename: %v", d)
	}
	if d, _ := r.behind("zb-1", "kitchen"); d != nil {
		t.Errorf("the old name still routes to %s", d.ID)
	}
	if got := len(r.Roots()); got != 3 {
		t.Errorf("%d roots, want 3", got)
	}

	topic, payload, err := r.SelfTestCommand("smk-1")
	if err != nil || topic != "zigbee2mqtt/3-2-502/hall smoke/set" || string(payload) != `{"selftest":"selftest"}` {
		t.Errorf("SelfTestCommand(smk-1) = %q, %s, %v", topic, payload, err)
	}
	if topic, _, err := r.SelfTestCommand("shg-1"); err != nil || topic != "shellies/shellygas-1/sensor/start_self_test" {
		t.Errorf("SelfTestCommand(shg-1) = %q, %v", topic, err)
	}
	for _, id := range []string{"smk-2", "zb-1", "native-1"} {
		if _, _, err := r.SelfTestCommand(id); shouwang.ErrorCode(err) != shouwang.EINVALID {
			t.Errorf("SelfTestCommand(%s): %v, want an invalid error", id, err)
		}
	}
}

// A registration reloads the routes from the store; a device list the
// bridge sent just before, learned but not yet saved, is kept.
func TestVendorRoutesReloadKeepsLearnedNames(t *testing.T) {
	src := vendorSource{ds: []*devices.Device{
		{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt"},
	}}
	r := NewVendorRoutes()
	if err := r.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	r.learn("zb-1", []zigbee2mqtt.BridgeDevice{{IEEE: "0x00158d0008a1b2c4", FriendlyName: "3-2-502/gas"}})
	// The device is registered; the store has no list of the bridge yet.
	src.ds = append(src.ds, &devices.Device{ID: "gas-z1", Kind: devices.KindGas, Source: devices.SourceZigbee2MQTT,
		Gateway: "zb-1", Address: "0x00158d0008a1b2c4"})
	if err := r.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if d, _ := r.behind("zb-1", "3-2-502/gas"); d == nil || d.ID != "gas-z1" {
		t.Errorf("after the reload the bridge's name routes to %v, want gas-z1", d)
	}
	// A hub started afresh reads the names from the store.
	fresh := NewVendorRoutes()
	src.found = []devices.Discovered{{Gateway: "zb-1", IEEE: "0x00158d0008a1b2c4", FriendlyName: "3-2-502/gas"}}
	if err := fresh.Load(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if d, _ := fresh.behind("zb-1", "3-2-502/gas"); d == nil || d.ID != "gas-z1" {
		t.Errorf("from the store: %v", d)
	}
}
