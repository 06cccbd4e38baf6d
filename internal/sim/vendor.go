package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/shelly"
)

// Off-the-shelf devices in the demo: a Zigbee2MQTT bridge with a
// household's Zigbee devices behind it, and a Wi-Fi Shelly Gas. The models
// are real ones the hub knows (devices/zigbee2mqtt); the simulator speaks
// for them as Zigbee2MQTT and the Shelly firmware would.

// VendorFile is where seed saves the vendor devices, beside the native
// credentials.
const VendorFile = "vendor.json"

// Vendors are the simulated bridges and Shelly devices, with their MQTT
// passwords once registered.
type Vendors struct {
	Bridges []BridgeSpec `json:"bridges"`
	Shellys []ShellySpec `json:"shellys"`
}

// BridgeSpec is a Zigbee2MQTT bridge: its account and base topic, and the
// Zigbee devices paired with it.
type BridgeSpec struct {
	Device   devices.Device `json:"device"` // the gateway as registered
	Password string         `json:"password"`
	Zigbee   []ZigbeeSpec   `json:"zigbee"`
}

// ZigbeeSpec is one Zigbee device behind a bridge.
type ZigbeeSpec struct {
	Device devices.Device `json:"device"` // as registered: Address is the IEEE address
	Name   string         `json:"friendly_name"`
}

// ShellySpec is a Shelly device with its own account and topic prefix.
type ShellySpec struct {
	Device   devices.Device `json:"device"`
	Password string         `json:"password"`
}

// zigbeeSet is what the demo pairs, per household: model, kind, ID prefix,
// friendly name suffix.
var zigbeeSet = [][4]string{
	{"TS0215A_sos", string(devices.KindSOSButton), "zsos", "sos"},
	{"HS1SA-E", string(devices.KindSmoke), "zsmk", "kitchen smoke"},
	{"JT-BZ-01AQ/A", string(devices.KindGas), "zgas", "kitchen gas"},
	{"TS0601_smart_air_house_keeper", string(devices.KindAir), "zair", "living room air"},
	{"HS1EB/HS1EB-E", string(devices.KindSOSButton), "zsos", "bedside sos"},
	{"HS1CA-E", string(devices.KindCO), "zco", "boiler co"},
}

// VendorCommunity makes the demo's vendor devices for a community: in
// building 1, a Zigbee2MQTT bridge (base topic zigbee2mqtt) with the
// devices of two households, and a Shelly Gas in a third.
func VendorCommunity(name string, rng *rand.Rand) *Vendors {
	worker := devices.GridWorker{Name: personName(rng, youngNames), Phone: phone(rng)}
	loc := func(door int) devices.Location {
		return devices.Location{Community: name, Grid: gridName(0), Building: "1号楼", Unit: "2单元", Floor: "1层",
			Household: fmt.Sprintf("1-2-1%02d", door)}
	}
	home := func(door int) *household { return newHousehold(rng, loc(door), worker) }
	dev := func(h *household, id string, k devices.Kind) devices.Device {
		return devices.Device{ID: id, Kind: k, Location: h.loc, Resident: h.resident,
			Contacts: append([]devices.Contact(nil), h.contacts...), GridWorker: h.worker}
	}
	hb := home(1)
	gw := dev(hb, "zb-0001", devices.KindGateway)
	gw.Source, gw.Address, gw.Vendor, gw.Model = devices.SourceZigbee2MQTT, "zigbee2mqtt", "Koenkk", "Zigbee2MQTT"
	gw.Resident = devices.Resident{}
	b := BridgeSpec{Device: gw}
	counts := map[string]int{}
	for i, set := range zigbeeSet {
		h := hb
		if i >= 4 {
			h = home(2)
		}
		counts[set[2]]++
		d := dev(h, fmt.Sprintf("%s-%04d", set[2], counts[set[2]]), devices.Kind(set[1]))
		d.Source, d.Gateway, d.Model = devices.SourceZigbee2MQTT, gw.ID, set[0]
		d.Address = fmt.Sprintf("0x%016x", rng.Uint64())
		b.Zigbee = append(b.Zigbee, ZigbeeSpec{Device: d, Name: h.loc.Household + "/" + set[3]})
	}
	hs := home(3)
	sh := dev(hs, "shg-0001", devices.KindGas)
	mac := strings.ToLower(fmt.Sprintf("%012X", rng.Uint64()&0xffffffffffff))
	sh.Source, sh.Address, sh.Vendor, sh.Model = devices.SourceShelly, "shellies/shellygas-"+mac, "Shelly", shelly.ModelGas
	return &Vendors{Bridges: []BridgeSpec{b}, Shellys: []ShellySpec{{Device: sh}}}
}

// RegisterVendors registers the bridges, the devices behind them and the
// Shelly devices one by one (POST /api/v1/devices), and keeps the
// passwords the console issues to the bridges and Shellys.
func RegisterVendors(ctx context.Context, client *http.Client, server, token string, v *Vendors) error {
	u := strings.TrimRight(server, "/") + "/api/v1/devices"
	var created struct {
		Password string `json:"password"`
	}
	for i := range v.Bridges {
		b := &v.Bridges[i]
		if err := postJSON(ctx, client, u, token, b.Device, &created); err != nil {
			return fmt.Errorf("register bridge %s: %w", b.Device.ID, err)
		}
		b.Password = created.Password
		for _, z := range b.Zigbee {
			if err := postJSON(ctx, client, u, token, z.Device, nil); err != nil {
				return fmt.Errorf("register %s: %w", z.Device.ID, err)
			}
		}
	}
	for i := range v.Shellys {
		s := &v.Shellys[i]
		if err := postJSON(ctx, client, u, token, s.Device, &created); err != nil {
			return fmt.Errorf("register %s: %w", s.Device.ID, err)
		}
		s.Password = created.Password
	}
	return nil
}

// SaveVendors writes v to dir/VendorFile, readable by the owner only (it
// holds passwords).
func SaveVendors(dir string, v *Vendors) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, VendorFile), raw, 0o600)
}

// LoadVendors reads dir/VendorFile; a missing file is no vendors.
func LoadVendors(dir string) (*Vendors, error) {
	raw, err := os.ReadFile(filepath.Join(dir, VendorFile))
	if os.IsNotExist(err) {
		return &Vendors{}, nil
	} else if err != nil {
		return nil, err
	}
	var v Vendors
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", VendorFile, err)
	}
	return &v, nil
}
