package devices

import (
	"context"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
)

// Registry is where devices are registered. The hub reads it to route and
// authorise messages; installers write it through the console and hubctl.
// Implementations return *shouwang.Error with ENOTFOUND, ECONFLICT or EINVALID for
// the failures a caller can act on.
type Registry interface {
	// CreateDevice registers d with the hash of its MQTT password.
	CreateDevice(ctx context.Context, d *Device, passwordHash string) error
	// ImportDevices registers all of ds, or none of them on any error.
	// hashes[i] is the password hash of ds[i].
	ImportDevices(ctx context.Context, ds []*Device, hashes []string) error
	// FindDevice returns one device by ID.
	FindDevice(ctx context.Context, id string) (*Device, error)
	// ListDevices returns the devices matching f and the total number that
	// match it before Offset and Limit are applied.
	ListDevices(ctx context.Context, f Filter) ([]*Device, int, error)
	// UpdateDevice replaces the installer-supplied fields of a device.
	UpdateDevice(ctx context.Context, d *Device) error
	// DeleteDevice removes a device and its credentials.
	DeleteDevice(ctx context.Context, id string) error
	// SetPasswordHash replaces a device's MQTT password hash.
	SetPasswordHash(ctx context.Context, id, hash string) error
	// PasswordHash returns a device's MQTT password hash.
	PasswordHash(ctx context.Context, id string) (hash string, err error)
	// UpdateHealth records what devices last reported about themselves.
	UpdateHealth(ctx context.Context, updates []HealthUpdate) error
	// RecordUnregistered notes that an unregistered device ID tried to
	// connect or publish, so installers can see it.
	RecordUnregistered(ctx context.Context, id, detail string, at time.Time) error
	// ListUnregistered returns the IDs seen but not registered, newest first.
	ListUnregistered(ctx context.Context) ([]Unregistered, error)
}

// HealthUpdate is what one device last reported. Nil pointers leave the
// stored value as it was.
type HealthUpdate struct {
	ID       string
	LastSeen time.Time
	Online   *bool
	Battery  *float64
	Signal   *float64
}

// Unregistered is a device ID the hub has seen but that nobody registered.
type Unregistered struct {
	ID        string    `json:"id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int64     `json:"count"`
	Detail    string    `json:"detail"` // what it did last: connect, publish on a topic
}

// ValidateImport checks a batch before a Registry writes any of it: as many
// password hashes as devices, no device missing, each device valid, no
// hash empty. Every Registry calls it, so they refuse alike.
func ValidateImport(ds []*Device, hashes []string) error {
	if len(ds) != len(hashes) {
		return shouwang.Errorf(shouwang.EINVALID, "%d devices but %d password hashes", len(ds), len(hashes))
	}
	for i, d := range ds {
		if d == nil {
			return shouwang.Errorf(shouwang.EINVALID, "device %d: missing", i)
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if hashes[i] == "" {
			return shouwang.Errorf(shouwang.EINVALID, "device %q: empty password hash", d.ID)
		}
	}
	return nil
}

// Bounds on what RecordUnregistered keeps of a stranger's ID and detail.
const (
	MaxUnregisteredID     = 128
	MaxUnregisteredDetail = 256
)

// ClipText makes text from strangers safe to keep: valid UTF-8 (bad bytes
// become U+FFFD), no NUL (PostgreSQL's TEXT holds none; U+FFFD too), and at
// most n runes.
func ClipText(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// Discovered is a device a bridge reports (Zigbee2MQTT's bridge/devices),
// registered or not, so an installer can bind it without typing its
// address.
type Discovered struct {
	Gateway      string    `json:"gateway"`
	IEEE         string    `json:"ieee"`
	FriendlyName string    `json:"friendly_name"`
	Model        string    `json:"model,omitempty"`
	Vendor       string    `json:"vendor,omitempty"`
	Description  string    `json:"description,omitempty"`
	Supported    bool      `json:"supported"`
	SeenAt       time.Time `json:"seen_at"`
	// DeviceID is the registered device at this address, "" while unbound.
	DeviceID string `json:"device_id,omitempty"`
	// Kind is what the hub would register it as, from its model ("" for a
	// model the hub does not know).
	Kind Kind `json:"kind,omitempty"`
}

// Refusal is one message or connection the hub refused from a device or a
// bridge, kept so an installer can see why.
type Refusal struct {
	At     time.Time `json:"at"`
	Reason Reason    `json:"reason"`
	Detail string    `json:"detail"` // what was refused: a clipped topic or payload, and why
}
