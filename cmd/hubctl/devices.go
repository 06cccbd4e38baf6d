package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

func (c *cli) devices(args []string) error {
	if len(args) == 0 {
		return usagef("devices: missing subcommand (list, get, create, delete, import, rotate-password, unregistered, discovered, bind, selftest)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return c.devicesList(args)
	case "get":
		return c.devicesGet(args)
	case "create":
		return c.devicesCreate(args)
	case "delete":
		return c.devicesDelete(args)
	case "import":
		return c.devicesImport(args)
	case "rotate-password":
		return c.devicesRotate(args)
	case "unregistered":
		return c.devicesUnregistered(args)
	case "discovered":
		return c.devicesDiscovered(args)
	case "bind":
		return c.devicesBind(args)
	case "selftest":
		return c.devicesSelfTest(args)
	}
	return usagef("devices: unknown subcommand %q", sub)
}

func devicePath(id string, rest ...string) string {
	return "/api/v1/devices/" + url.PathEscape(id) + strings.Join(rest, "")
}

func (c *cli) devicesList(args []string) error {
	fs := c.newFlags("devices list", "devices list [flags]")
	q := url.Values{}
	for _, name := range []string{"community", "grid", "building", "kind", "online", "q", "offset", "limit"} {
		fs.Func(name, "only devices whose "+name+" is this", func(v string) error { q.Set(name, v); return nil })
	}
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var resp struct {
		Devices []*devices.Device `json:"devices"`
		Total   int               `json:"total"`
	}
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/devices", query: q, auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	var tb table
	tb.add("ID", "KIND", "LOCATION", "RESIDENT", "STATUS", "LAST SEEN")
	for _, d := range resp.Devices {
		tb.add(d.ID, string(d.Kind), dash(d.Location.String()), dash(d.Resident.Name), status(d.Health), when(d.Health.LastSeen))
	}
	if err := tb.print(c.stdout); err != nil {
		return err
	}
	if len(resp.Devices) < resp.Total {
		offset, _ := strconv.Atoi(q.Get("offset"))
		fmt.Fprintf(c.stdout, "Showing %d-%d of %d devices; page with -offset and -limit.\n", offset+1, offset+len(resp.Devices), resp.Total)
	} else {
		fmt.Fprintf(c.stdout, "%s.\n", countDevices(resp.Total))
	}
	return nil
}

func (c *cli) devicesGet(args []string) error {
	fs := c.newFlags("devices get", "devices get ID [-json]")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	pos, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	var resp struct {
		Device   *devices.Device   `json:"device"`
		Refusals []devices.Refusal `json:"refusals"`
	}
	if err := c.call(request{method: http.MethodGet, path: devicePath(pos[0]), auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	c.printDevice(resp.Device)
	c.printRefusals(resp.Refusals)
	return nil
}

func (c *cli) printDevice(d *devices.Device) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("ID", d.ID)
	row("Kind", string(d.Kind))
	row("Vendor", strings.TrimSpace(d.Vendor+" "+d.Model))
	row("Capabilities", strings.Join(d.Capabilities, ", "))
	row("Source", string(d.Source))
	row("Gateway", d.Gateway)
	row("Address", d.Address)
	row("Location", d.Location.String())
	r := d.Resident
	var about []string
	if r.BirthYear != 0 {
		about = append(about, fmt.Sprintf("born %d", r.BirthYear))
	}
	if r.LivesAlone {
		about = append(about, "lives alone")
	}
	if r.Language != "" {
		about = append(about, "speaks "+r.Language)
	}
	if len(about) > 0 {
		row("Resident", strings.TrimSpace(r.Name+" ("+strings.Join(about, ", ")+")"))
	} else {
		row("Resident", r.Name)
	}
	row("Care notes", strings.ReplaceAll(r.CareNotes, "\n", " / "))
	for i, ct := range d.Contacts {
		label := ""
		if i == 0 {
			label = "Contacts:"
		}
		if ct.Relation != "" {
			ct.Name += " (" + ct.Relation + ")"
		}
		fmt.Fprintf(tw, "%s\t%s %s\n", label, ct.Name, ct.Phone)
	}
	row("Grid worker", strings.TrimSpace(d.GridWorker.Name+" "+d.GridWorker.Phone))
	health := status(d.Health)
	if !d.Health.LastSeen.IsZero() {
		health += ", last seen " + when(d.Health.LastSeen)
	}
	if d.Health.Battery != nil {
		health += fmt.Sprintf(", battery %.0f%%", *d.Health.Battery)
	}
	if d.Health.Signal != nil {
		health += fmt.Sprintf(", signal %.0f dBm", *d.Health.Signal)
	}
	row("Health", health)
	if !d.CreatedAt.IsZero() {
		row("Registered", when(d.CreatedAt))
	}
	tw.Flush()
}

func (c *cli) devicesCreate(args []string) error {
	fs := c.newFlags("devices create", "devices create -id ID -kind KIND -community C [flags]")
	var d devices.Device
	fs.StringVar(&d.ID, "id", "", "device ID, also its MQTT username (required)")
	fs.Func("kind", "device kind: sos_button, smoke, gas, co, air, or gateway for a bridge (required, but for a vendor device with -model)", func(v string) error { d.Kind = devices.Kind(v); return nil })
	fs.StringVar(&d.Vendor, "vendor", "", "vendor")
	fs.StringVar(&d.Model, "model", "", "model (a vendor device's model id: its kind follows from it)")
	fs.Func("source", "what the device speaks: native (default), zigbee2mqtt (a bridge, -kind gateway) or shelly", func(v string) error {
		d.Source = devices.Source(v)
		return nil
	})
	fs.StringVar(&d.Gateway, "gateway", "", "the bridge a Zigbee device is paired with")
	fs.StringVar(&d.Address, "address", "", "a bridge's base topic, a Shelly's MQTT prefix, a Zigbee device's IEEE address")
	installerFlags(fs, &d)
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var missing []string
	kind := string(d.Kind)
	if d.Source == devices.SourceShelly || d.Source == devices.SourceZigbee2MQTT && d.Model != "" {
		kind = "from -model"
	}
	for _, f := range []struct{ name, v string }{{"-id", d.ID}, {"-kind", kind}, {"-community", d.Location.Community}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return usagef("devices create: %s required", strings.Join(missing, ", "))
	}
	var resp struct {
		Device       *devices.Device   `json:"device"`
		Password     string            `json:"password"`
		MQTTUsername string            `json:"mqtt_username"`
		Warnings     []devices.Warning `json:"warnings,omitempty"`
	}
	if err := c.call(request{method: http.MethodPost, path: "/api/v1/devices", body: jsonBody(d), contentType: "application/json", auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	fmt.Fprintf(c.stdout, "Created device %s (%s) at %s.\n", resp.Device.ID, resp.Device.Kind, resp.Device.Location)
	printWarnings(c.stderr, resp.Warnings, deviceAt)
	if d.Source == devices.SourceZigbee2MQTT && d.Kind != devices.KindGateway {
		fmt.Fprintf(c.stdout, "It reaches the hub through bridge %s; it needs no MQTT account of its own.\n", d.Gateway)
		return nil
	}
	c.printCredentials(resp.MQTTUsername, resp.Password)
	return nil
}

// installerFlags registers the flags of the fields an installer gives every
// device: capabilities, location, resident, contacts, grid worker.
func installerFlags(fs *flag.FlagSet, d *devices.Device) {
	fs.Func("capabilities", "capabilities, comma-separated (voice)", func(v string) error {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				d.Capabilities = append(d.Capabilities, c)
			}
		}
		return nil
	})
	fs.StringVar(&d.Location.Community, "community", "", "community 社区 (required)")
	fs.StringVar(&d.Location.Grid, "grid", "", "grid 网格")
	fs.StringVar(&d.Location.Building, "building", "", "building 楼栋")
	fs.StringVar(&d.Location.Unit, "unit", "", "unit 单元")
	fs.StringVar(&d.Location.Floor, "floor", "", "floor")
	fs.StringVar(&d.Location.Household, "household", "", "household 户")
	fs.StringVar(&d.Resident.Name, "resident", "", "resident's name")
	fs.IntVar(&d.Resident.BirthYear, "birth-year", 0, "resident's year of birth")
	fs.BoolVar(&d.Resident.LivesAlone, "lives-alone", false, "the resident lives alone")
	fs.StringVar(&d.Resident.CareNotes, "care-notes", "", "what responders should know")
	fs.StringVar(&d.Resident.Language, "language", "", "resident's language or dialect")
	fs.Func("contact", "a contact as name|relation|phone (repeatable)", func(v string) error {
		p := strings.Split(v, "|")
		if len(p) != 3 {
			return fmt.Errorf("want name|relation|phone")
		}
		d.Contacts = append(d.Contacts, devices.Contact{Name: p[0], Relation: p[1], Phone: p[2]})
		return nil
	})
	fs.StringVar(&d.GridWorker.Name, "grid-worker", "", "grid worker 网格员")
	fs.StringVar(&d.GridWorker.Phone, "grid-worker-phone", "", "grid worker's phone")
}

func (c *cli) printCredentials(user, pw string) {
	fmt.Fprintf(c.stdout, "MQTT username: %s\nMQTT password: %s\n", user, pw)
	fmt.Fprintf(c.stdout, "The password is shown only this once: store it now. If it is lost, replace it with 'hubctl devices rotate-password %s'.\n", user)
}

func (c *cli) devicesDelete(args []string) error {
	pos, err := parse(c.newFlags("devices delete", "devices delete ID"), args, "ID")
	if err != nil {
		return err
	}
	if err := c.call(request{method: http.MethodDelete, path: devicePath(pos[0]), auth: true}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Deleted device %s.\n", pos[0])
	return nil
}

func (c *cli) devicesRotate(args []string) error {
	pos, err := parse(c.newFlags("devices rotate-password", "devices rotate-password ID"), args, "ID")
	if err != nil {
		return err
	}
	var resp struct {
		Password     string `json:"password"`
		MQTTUsername string `json:"mqtt_username"`
	}
	if err := c.call(request{method: http.MethodPost, path: devicePath(pos[0], "/password"), auth: true}, &resp); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "New password for device %s; the old one no longer works.\n", pos[0])
	c.printCredentials(pos[0], resp.Password)
	return nil
}

func (c *cli) devicesUnregistered(args []string) error {
	fs := c.newFlags("devices unregistered", "devices unregistered [-json]")
	asJSON := fs.Bool("json", false, "print the server's JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var resp struct {
		Devices []devices.Unregistered `json:"devices"`
	}
	if err := c.call(request{method: http.MethodGet, path: "/api/v1/devices/unregistered", auth: true}, &resp); err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(resp)
	}
	if len(resp.Devices) == 0 {
		fmt.Fprintln(c.stdout, "No unregistered devices seen.")
		return nil
	}
	var tb table
	tb.add("ID", "FIRST SEEN", "LAST SEEN", "COUNT", "LAST DETAIL")
	for _, u := range resp.Devices {
		tb.add(u.ID, when(u.FirstSeen), when(u.LastSeen), strconv.FormatInt(u.Count, 10), dash(u.Detail))
	}
	return tb.print(c.stdout)
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func status(h devices.Health) string {
	switch {
	case h.LastSeen.IsZero() && !h.Online:
		return "never seen"
	case h.Online:
		return "online"
	}
	return "offline"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
