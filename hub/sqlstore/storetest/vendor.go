package storetest

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// Vendor runs the contract of the store's part in off-the-shelf devices:
// addressing checks on registration, discovered devices, vendor state
// written in a transaction, and bounded refusals.
func Vendor(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	t.Run("Addressing", func(t *testing.T) { testVendorAddressing(t, open) })
	t.Run("RefusalsBounded", func(t *testing.T) { testRefusalsBounded(t, open) })
}

func testVendorAddressing(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	c := ctx(t)
	bridge := &devices.Device{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt",
		Location: devices.Location{Community: "阳光社区"}}
	if err := s.CreateDevice(c, bridge, "h"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		d    devices.Device
		code string
	}{
		{devices.Device{ID: "zb-2", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt/b2"}, shouwang.ECONFLICT},
		{devices.Device{ID: "sh-1", Kind: devices.KindGas, Source: devices.SourceShelly, Address: "zigbee2mqtt"}, shouwang.ECONFLICT},
		{devices.Device{ID: "smoke-1", Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: "nope", Address: "0x00158d0008a1b2c3"}, shouwang.EINVALID},
		{devices.Device{ID: "smoke-1", Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: "0x00158d0008a1b2c3"}, ""},
		{devices.Device{ID: "smoke-2", Kind: devices.KindSmoke, Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: "0x00158d0008a1b2c3"}, shouwang.ECONFLICT},
		{devices.Device{ID: "sh-2", Kind: devices.KindGas, Source: devices.SourceShelly, Address: "shellies/shellygas-1"}, ""},
		{devices.Device{ID: "zb-3", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt_b3"}, ""},
	} {
		d := tt.d
		d.Location.Community = "阳光社区"
		err := s.CreateDevice(c, &d, "h")
		if got := shouwang.ErrorCode(err); got != tt.code {
			t.Errorf("create %s at %s: %v, want code %q", d.ID, d.Address, err, tt.code)
		}
	}
	vs, err := s.VendorDevices(c)
	if err != nil || len(vs) != 4 {
		t.Fatalf("VendorDevices: %d, %v", len(vs), err)
	}
	got, _ := s.FindDevice(c, "smoke-1")
	if got.Source != devices.SourceZigbee2MQTT || got.Gateway != "zb-1" || got.Address != "0x00158d0008a1b2c3" {
		t.Errorf("stored %+v", got)
	}

	at := time.UnixMilli(1_700_000_000_000)
	if err := s.SaveDiscovered(c, "zb-1", []devices.Discovered{
		{IEEE: "0x00158d0008a1b2c3", FriendlyName: "kitchen/smoke", Model: "HS1SA-E"},
		{IEEE: "0xa4c138d2e1f0a1b2", FriendlyName: "sos", Model: "TS0215A_sos"},
	}, at); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDiscovered(c, "")
	if err != nil || len(ds) != 2 || ds[0].DeviceID != "smoke-1" || ds[1].DeviceID != "" || ds[1].FriendlyName != "sos" {
		t.Fatalf("ListDiscovered = %+v, %v", ds, err)
	}

	err = s.Tx(c, func(tx *sqlstore.Tx) error {
		return tx.SaveVendorStates(c, map[string]devices.VendorState{"smoke-1": {Active: 1, Seq: 3}}, at)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Tx(c, func(tx *sqlstore.Tx) error {
		st, err := tx.VendorStates(c, []string{"smoke-1", "sh-2"})
		if err != nil || len(st) != 1 || st["smoke-1"].Seq != 3 || st["smoke-1"].Active != 1 {
			t.Errorf("VendorStates = %+v, %v", st, err)
		}
		return nil
	})
}

func testRefusalsBounded(t *testing.T, open func(*testing.T) *sqlstore.Store) {
	s := open(t)
	c := ctx(t)
	for i := range sqlstore.KeepRefusals + 5 {
		if err := s.RecordRefusal(c, "d1", devices.Refusal{Reason: devices.ReasonMalformed, Detail: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	s.RecordRefusal(c, "d2", devices.Refusal{Reason: devices.ReasonBadCreds, Detail: "wrong password"})
	rs, err := s.ListRefusals(c, "d1")
	if err != nil || len(rs) != sqlstore.KeepRefusals || rs[0].Detail != string(rune('a'+sqlstore.KeepRefusals+4)) {
		t.Fatalf("ListRefusals = %d (%+v), %v", len(rs), rs[:1], err)
	}
	if rs, _ := s.ListRefusals(c, "d2"); len(rs) != 1 || rs[0].Reason != devices.ReasonBadCreds {
		t.Errorf("d2: %+v", rs)
	}
}
