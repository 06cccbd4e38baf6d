package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/shouwang-hub/shouwang/devices"
)

// The installer's commands for off-the-shelf devices: what the bridges
// report (devices discovered), binding one of them without typing its
// address (devices bind), a self-test command (devices selftest), and the
// refusals shown by devices get.

// printRefusals prints a device's last refusals after its details.
func (c *cli) printRefusals(rs []devices.Refusal) {
	if len(rs) == 0 {
		fmt.Fprintln(c.stdout, "Refusals:     none")
		return
	}
	fmt.Fprintf(c.stdout, "Refusals (last %d, newest first):\n", len(rs))
	var tb table
	for _, r := range rs {
		tb.add("  "+when(r.At), string(r.Reason), r.Detail)
	}
	tb.print(c.stdout)
}

// discovered fetches what the bridges report.
func (c *cli) discovered(gateway string, all bool) ([]devices.Discovered, error) {
	q := url.Values{}
	if gateway != "" {
		q.Set("gateway", gateway)
	}
	if all {
		q.Set("all", "1")
	}
	var resp struct {
		Devices []devices.Discovered `json:"devices"`
	}
	err := c.call(request{method: http.MethodGet, path: "/api/v1/devices/discovered", query: q, auth: true}, &resp)
	return resp.Devices, err
}

func (c *cli) devicesDiscovered(args []string) error {
	fs := c.newFlags("devices discovered", "devices discovered [-gateway ID] [-all] [-json]")
	gateway := fs.String("gateway", "", "only this bridge's devices")
	all := fs.Bool("all", false, "the bound ones too")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ds, err := c.discovered(*gateway, *all)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(map[string]any{"devices": ds})
	}
	if len(ds) == 0 {
		fmt.Fprintln(c.stdout, "No unbound devices reported by the bridges.")
		return nil
	}
	var tb table
	tb.add("#", "BRIDGE", "NAME", "MODEL", "KIND", "IEEE", "BOUND TO")
	for i, d := range ds {
		tb.add(strconv.Itoa(i+1), d.Gateway, d.FriendlyName, dash(d.Model), dash(string(d.Kind)), d.IEEE, dash(d.DeviceID))
	}
	if err := tb.print(c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "Bind one with: hubctl devices bind -gateway BRIDGE -name NAME -id ID -community C [location flags]")
	return nil
}

func (c *cli) devicesBind(args []string) error {
	fs := c.newFlags("devices bind", "devices bind -gateway BRIDGE -name NAME -id ID -community C [flags]")
	var d devices.Device
	name := fs.String("name", "", "the device's friendly name on the bridge, as devices discovered lists it (required)")
	fs.StringVar(&d.Gateway, "gateway", "", "the bridge (required)")
	fs.StringVar(&d.ID, "id", "", "the device ID to register it as (required)")
	installerFlags(fs, &d)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if d.Gateway == "" || *name == "" || d.ID == "" || d.Location.Community == "" {
		return usagef("devices bind: -gateway, -name, -id and -community are required")
	}
	ds, err := c.discovered(d.Gateway, true)
	if err != nil {
		return err
	}
	var found *devices.Discovered
	for i := range ds {
		if ds[i].FriendlyName == *name {
			found = &ds[i]
		}
	}
	switch {
	case found == nil:
		return fmt.Errorf("bridge %s reports no device named %q (see hubctl devices discovered)", d.Gateway, *name)
	case found.DeviceID != "":
		return fmt.Errorf("%q on bridge %s is already bound to device %s", *name, d.Gateway, found.DeviceID)
	case found.Kind == "":
		return fmt.Errorf("%q is a %s %s, a model the hub does not know (see docs/protocol.md)", *name, found.Vendor, found.Model)
	}
	d.Source, d.Address, d.Model, d.Vendor, d.Kind = devices.SourceZigbee2MQTT, found.IEEE, found.Model, found.Vendor, found.Kind
	var resp struct {
		Device   *devices.Device   `json:"device"`
		Warnings []devices.Warning `json:"warnings"`
	}
	if err := c.call(request{method: http.MethodPost, path: "/api/v1/devices", body: jsonBody(d), contentType: "application/json", auth: true}, &resp); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Bound %q (%s %s, %s) on bridge %s as device %s (%s) at %s.\n",
		*name, found.Vendor, found.Model, found.IEEE, d.Gateway, resp.Device.ID, resp.Device.Kind, resp.Device.Location)
	printWarnings(c.stderr, resp.Warnings, deviceAt)
	return nil
}

func (c *cli) devicesSelfTest(args []string) error {
	pos, err := parse(c.newFlags("devices selftest", "devices selftest ID"), args, "ID")
	if err != nil {
		return err
	}
	if err := c.call(request{method: http.MethodPost, path: devicePath(pos[0], "/selftest"), auth: true}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Self-test sent to %s; its result is recorded as a test, never a real alert.\n", pos[0])
	return nil
}
