package devices

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-hub/shouwang"
)

// Kind is the kind of a device. Each kind has its own telemetry fields,
// event types and supervision interval.
type Kind string

// The kinds of native protocol v1.
const (
	KindSOSButton Kind = "sos_button"
	KindSmoke     Kind = "smoke"
	KindGas       Kind = "gas"
	KindAir       Kind = "air"
	KindCO        Kind = "co" // carbon monoxide alarm
	// KindDoor is a door contact and KindMotion a motion (PIR) sensor:
	// they raise no alarms, but their changes show a resident living alone
	// is up and about (check-ins).
	KindDoor   Kind = "door"
	KindMotion Kind = "motion"
	// KindGateway is a bridge that publishes for other devices (a
	// Zigbee2MQTT bridge): it has credentials and a base topic, and raises
	// no alerts of its own.
	KindGateway Kind = "gateway"
)

// Kinds lists every known kind in a stable order.
var Kinds = []Kind{KindSOSButton, KindSmoke, KindGas, KindAir, KindCO, KindGateway, KindDoor, KindMotion}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Capabilities a device may declare.
const (
	CapVoice = "voice" // can place a one-button voice call over WebRTC
)

// KnownCapabilities lists the capabilities the hub understands.
var KnownCapabilities = []string{CapVoice}

// Location places a device in the grid of community governance: street →
// community → grid → building → unit → floor → household.
type Location struct {
	Community string `json:"community"`
	Grid      string `json:"grid"`
	Building  string `json:"building"`
	Unit      string `json:"unit"`
	Floor     string `json:"floor"`
	Household string `json:"household"`
}

// String renders the location as an address, from community down.
func (l Location) String() string {
	parts := make([]string, 0, 6)
	for _, p := range []string{l.Community, l.Grid, l.Building, l.Unit, l.Floor, l.Household} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " / ")
}

// Resident is the person a device watches over.
type Resident struct {
	Name       string `json:"name"`
	BirthYear  int    `json:"birth_year,omitempty"`
	LivesAlone bool   `json:"lives_alone"`
	CareNotes  string `json:"care_notes,omitempty"`
	Language   string `json:"language,omitempty"`
	// Phone is the resident's own number, for the duty room and the grid
	// worker to call.
	Phone string `json:"phone,omitempty"`
}

// Contact is somebody to call about a resident: family, a neighbour.
type Contact struct {
	Name     string `json:"name"`
	Relation string `json:"relation,omitempty"`
	Phone    string `json:"phone"`
	// NotifySOS says the household opted this contact in to be told (by
	// text message) when the resident raises an SOS.
	NotifySOS bool `json:"notify_sos,omitempty"`
}

// GridWorker is the grid worker (网格员) who looks after a device's grid.
type GridWorker struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Health is what the hub last learned from a device itself.
type Health struct {
	LastSeen time.Time `json:"last_seen,omitzero"`
	Online   bool      `json:"online"`
	Battery  *float64  `json:"battery,omitempty"` // percent
	Signal   *float64  `json:"signal,omitempty"`  // dBm
}

// Device is a registered device: what it is, where it is, who it watches
// over and how it is doing.
type Device struct {
	ID           string   `json:"id"`
	Kind         Kind     `json:"kind"`
	Vendor       string   `json:"vendor,omitempty"`
	Model        string   `json:"model,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
	// Source is the dialect the device speaks: "" (native protocol v1),
	// zigbee2mqtt or shelly.
	Source Source `json:"source,omitempty"`
	// Gateway is, for a device behind a bridge (Zigbee2MQTT), the ID of the
	// bridge's gateway device.
	Gateway string `json:"gateway,omitempty"`
	// Address is where the device's messages come from, by source: a Zigbee
	// device's IEEE address (friendly names change and may contain '/'), a
	// Shelly's MQTT topic prefix, a bridge's base topic.
	Address    string     `json:"address,omitempty"`
	Location   Location   `json:"location"`
	Resident   Resident   `json:"resident"`
	Contacts   []Contact  `json:"contacts,omitempty"`
	GridWorker GridWorker `json:"grid_worker"`
	Health     Health     `json:"health"`
	CreatedAt  time.Time  `json:"created_at,omitzero"`
	UpdatedAt  time.Time  `json:"updated_at,omitzero"`
}

// HasCapability reports whether the device declares capability c.
func (d *Device) HasCapability(c string) bool { return slices.Contains(d.Capabilities, c) }

// ValidID reports whether id may name a device: 1-64 characters of ASCII
// letters, digits, '.', '_' and '-', starting with a letter or digit. IDs
// are used as MQTT topic levels and usernames, so they exclude '/', '+',
// '#' and spaces. (Written out rather than a regular expression: the
// broker checks it on every packet.)
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// IsReservedID reports whether id is kept for the hub's own use: its MQTT
// accounts ("hub", anything starting with "shouwang-"), which broker ACLs
// treat differently from devices, and names the API uses as paths.
func IsReservedID(id string) bool {
	l := strings.ToLower(id)
	return l == "hub" || l == "unregistered" || l == "import" || l == "summary" || strings.HasPrefix(l, "shouwang-")
}

// Limits on free-text fields, so one bad import cannot bloat the store.
const (
	maxShortText = 128
	maxLongText  = 2000
	maxContacts  = 10
)

// Validate checks the fields an installer supplies and returns an EINVALID
// error naming the first bad field. Health and timestamps are not checked:
// the hub owns them.
func (d *Device) Validate() error {
	if !ValidID(d.ID) {
		return shouwang.Errorf(shouwang.EINVALID, "id %q: must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit", d.ID).With("device.bad_id")
	}
	if IsReservedID(d.ID) {
		return shouwang.Errorf(shouwang.EINVALID, "id %q: reserved for the hub's own MQTT account", d.ID).With("device.reserved_id", "id", d.ID)
	}
	if !d.Kind.Valid() {
		return shouwang.Errorf(shouwang.EINVALID, "kind %q: must be one of %s", d.Kind, kindList()).With("device.bad_kind")
	}
	if err := d.validateSource(); err != nil {
		return err
	}
	for _, c := range d.Capabilities {
		if !slices.Contains(KnownCapabilities, c) {
			return shouwang.Errorf(shouwang.EINVALID, "capabilities: unknown capability %q (known: %s)", c, strings.Join(KnownCapabilities, ", "))
		}
	}
	short := map[string]string{
		"vendor": d.Vendor, "model": d.Model,
		"location.community": d.Location.Community, "location.grid": d.Location.Grid,
		"location.building": d.Location.Building, "location.unit": d.Location.Unit,
		"location.floor": d.Location.Floor, "location.household": d.Location.Household,
		"resident.name": d.Resident.Name, "resident.language": d.Resident.Language, "resident.phone": d.Resident.Phone,
		"grid_worker.name": d.GridWorker.Name, "grid_worker.phone": d.GridWorker.Phone,
	}
	for _, name := range sortedKeys(short) {
		if err := checkText(name, short[name], maxShortText); err != nil {
			return err
		}
	}
	if d.Location.Community == "" {
		return shouwang.Errorf(shouwang.EINVALID, "location.community: required").With("field.required", "field", "location.community")
	}
	if err := checkText("resident.care_notes", d.Resident.CareNotes, maxLongText); err != nil {
		return err
	}
	if y := d.Resident.BirthYear; y != 0 && (y < 1900 || y > time.Now().Year()) {
		return shouwang.Errorf(shouwang.EINVALID, "resident.birth_year %d: must be between 1900 and this year", y).With("device.bad_birth_year")
	}
	if len(d.Contacts) > maxContacts {
		return shouwang.Errorf(shouwang.EINVALID, "contacts: at most %d", maxContacts).With("device.too_many_contacts", "max", strconv.Itoa(maxContacts))
	}
	for i, c := range d.Contacts {
		if c.Name == "" || c.Phone == "" {
			return shouwang.Errorf(shouwang.EINVALID, "contacts[%d]: name and phone are required", i).With("device.contact_incomplete", "n", strconv.Itoa(i+1))
		}
		for field, v := range map[string]string{"name": c.Name, "relation": c.Relation, "phone": c.Phone} {
			if err := checkText("contacts["+strconv.Itoa(i)+"]."+field, v, maxShortText); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateSource checks source, gateway and address together.
func (d *Device) validateSource() error {
	switch d.Source {
	case "", SourceNative:
		if d.Kind == KindGateway {
			return shouwang.Errorf(shouwang.EINVALID, "kind gateway: a gateway is a bridge of another source (zigbee2mqtt)")
		}
		if d.Gateway != "" || d.Address != "" {
			return shouwang.Errorf(shouwang.EINVALID, "gateway, address: a native device has neither (its topics are %s<id>/...)", TopicPrefix)
		}
	case SourceZigbee2MQTT:
		if d.Kind == KindGateway {
			if !ValidRoot(d.Address) {
				return shouwang.Errorf(shouwang.EINVALID, "address %q: a bridge's base topic: levels without wildcards, not under %s", d.Address, TopicPrefix)
			}
			if d.Gateway != "" {
				return shouwang.Errorf(shouwang.EINVALID, "gateway: a bridge has none")
			}
			break
		}
		if !ValidID(d.Gateway) {
			return shouwang.Errorf(shouwang.EINVALID, "gateway %q: the ID of the bridge the device is paired with", d.Gateway)
		}
		if !ValidIEEE(d.Address) {
			return shouwang.Errorf(shouwang.EINVALID, "address %q: the device's IEEE address, 0x and 16 lowercase hex digits", d.Address)
		}
	case SourceShelly:
		if d.Kind == KindGateway {
			return shouwang.Errorf(shouwang.EINVALID, "kind gateway: a Shelly is a device of its own")
		}
		if d.Gateway != "" {
			return shouwang.Errorf(shouwang.EINVALID, "gateway: a Shelly connects itself")
		}
		if !ValidRoot(d.Address) {
			return shouwang.Errorf(shouwang.EINVALID, "address %q: the Shelly's MQTT topic prefix, levels without wildcards, not under %s", d.Address, TopicPrefix)
		}
	default:
		return shouwang.Errorf(shouwang.EINVALID, "source %q: must be native, zigbee2mqtt or shelly", d.Source)
	}
	return nil
}

var ieeePattern = regexp.MustCompile(`^0x[0-9a-f]{16}$`)

// ValidIEEE reports whether s is an IEEE address as Zigbee2MQTT writes it:
// 0x and 16 lowercase hex digits.
func ValidIEEE(s string) bool { return ieeePattern.MatchString(s) }

// ValidRoot reports whether r may be a vendor topic root (a bridge's base
// topic, a Shelly's prefix): non-empty levels without wildcards, not a
// $-topic, neither under nor above the native prefix.
func ValidRoot(r string) bool {
	if r == "" || len(r) > 128 || strings.ContainsAny(r, "+#\x00") || strings.HasPrefix(r, "$") ||
		strings.HasPrefix(r+"/", TopicPrefix) || strings.HasPrefix(TopicPrefix, r+"/") {
		return false
	}
	for _, l := range strings.Split(r, "/") {
		if l == "" {
			return false
		}
	}
	return true
}

// RootsOverlap reports whether two roots share topics: one is the other or
// lies under it.
func RootsOverlap(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

func checkText(name, v string, max int) error {
	if !utf8.ValidString(v) {
		return shouwang.Errorf(shouwang.EINVALID, "%s: not valid UTF-8", name).With("field.invalid_text", "field", name)
	}
	if utf8.RuneCountInString(v) > max {
		return shouwang.Errorf(shouwang.EINVALID, "%s: longer than %d characters", name, max).With("field.too_long", "field", name, "max", strconv.Itoa(max))
	}
	for _, r := range v {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
			return shouwang.Errorf(shouwang.EINVALID, "%s: contains a control character", name).With("field.invalid_text", "field", name)
		}
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Filter selects devices in a listing. Empty fields match everything.
type Filter struct {
	Community string
	Grid      string
	Building  string
	Kind      Kind
	Online    *bool
	Query     string // substring of id, resident name or household
	Offset    int
	Limit     int // 0 means the store's default
}
