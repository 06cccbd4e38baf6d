package brokeracct

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// registry is an in-memory Source: accounts by ID.
type registry struct {
	mu       sync.Mutex
	accounts map[string]Account
}

func (r *registry) LoadAccounts(_ context.Context, fn func(Account) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.accounts {
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func (r *registry) Account(_ context.Context, id string) (Account, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.accounts[id]
	return a, ok, nil
}

func (r *registry) put(a Account) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accounts[a.Principal.ID] = a
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.accounts, id)
}

func native(id, password string) Account {
	return Account{Principal: devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}, Hash: devices.HashPassword(password)}
}

func bridge(id, base, password string) Account {
	return Account{Principal: devices.Principal{Role: devices.RoleGateway, ID: id, Source: devices.SourceZigbee2MQTT, Root: base}, Hash: devices.HashPassword(password)}
}

// testAccounts holds a native device, a bridge and a Zigbee device behind
// it, with the hub's service account "hub".
func testAccounts(t testing.TB) (*Accounts, *registry) {
	t.Helper()
	reg := &registry{accounts: map[string]Account{}}
	reg.put(native("sos-0001", "pw-sos-0001"))
	reg.put(bridge("zb-1", "zigbee2mqtt", "pw-zb-1"))
	reg.put(Account{Principal: devices.Principal{Role: devices.RoleDevice, ID: "smoke-z1", Source: devices.SourceZigbee2MQTT}, Hash: devices.HashPassword("x")})
	a, err := New(Config{
		Source: reg, Policy: vendors.Policy, ServiceUser: "hub", ServicePassword: "hub-secret",
		Roots: func() []devices.Root { return []devices.Root{{Source: devices.SourceZigbee2MQTT, Root: "zigbee2mqtt"}} },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, reg
}

func TestAuthenticate(t *testing.T) {
	a, reg := testAccounts(t)
	if a.Len() != 2 {
		t.Errorf("%d accounts, want 2: the Zigbee device behind its bridge has none", a.Len())
	}
	cases := []struct {
		client, user, pw string
		want             string
	}{
		{"sos-0001", "sos-0001", "pw-sos-0001", Allow},
		{"sos-0001", "sos-0001", "pw-sos-0001", Allow}, // from memory this time
		{"sos-0001", "sos-0001", "wrong", Deny},
		{"other", "sos-0001", "pw-sos-0001", Deny}, // not its own session
		{"zb-1", "zb-1", "pw-zb-1", Allow},
		{"smoke-z1", "smoke-z1", "x", Deny}, // speaks through its bridge only
		{"sos-9999", "sos-9999", "pw", Deny},
		{"shouwang-hub-alarm", "hub", "hub-secret", Allow},
		{"shouwang-hub", "hub", "nope", Deny},
		{"anything", "", "", Ignore},
	}
	for _, c := range cases {
		if d := a.Authenticate(c.client, c.user, c.pw); d.Result != c.want {
			t.Errorf("Authenticate(%q, %q, %q) = %+v, want %s", c.client, c.user, c.pw, d, c.want)
		}
	}

	// A new password: the old one, verified before, is refused at once.
	reg.put(native("sos-0001", "pw-new"))
	if err := a.Changed(context.Background(), "sos-0001"); err != nil {
		t.Fatal(err)
	}
	if d := a.Authenticate("sos-0001", "sos-0001", "pw-sos-0001"); d.Result != Deny {
		t.Errorf("the rotated-out password: %+v", d)
	}
	if d := a.Authenticate("sos-0001", "sos-0001", "pw-new"); d.Result != Allow {
		t.Errorf("the new password: %+v", d)
	}
	// Deleted: refused.
	reg.remove("sos-0001")
	if err := a.Changed(context.Background(), "sos-0001"); err != nil {
		t.Fatal(err)
	}
	if d := a.Authenticate("sos-0001", "sos-0001", "pw-new"); d.Result != Deny || d.Reason != string(devices.ReasonUnregistered) {
		t.Errorf("a deleted device: %+v", d)
	}
	// Registered: admitted without a reload of everything.
	reg.put(native("sos-0002", "pw-2"))
	if err := a.Changed(context.Background(), "sos-0002"); err != nil {
		t.Fatal(err)
	}
	if d := a.Authenticate("sos-0002", "sos-0002", "pw-2"); d.Result != Allow {
		t.Errorf("a new device: %+v", d)
	}
}

func TestAuthorizeFromThePolicy(t *testing.T) {
	a, _ := testAccounts(t)
	cases := []struct {
		client, user, topic, action string
		want                        string
	}{
		{"sos-0001", "sos-0001", "shouwang/v1/sos-0001/event", "publish", Allow},
		{"sos-0001", "sos-0001", "shouwang/v1/sos-0002/event", "publish", Deny},
		{"sos-0001", "sos-0001", "shouwang/v1/sos-0001/cmd", "subscribe", Allow},
		{"sos-0001", "sos-0001", "shouwang/v1/+/cmd", "subscribe", Deny},
		{"sos-0001", "sos-0001", "shouwang/v1/sos-0001/cmd", "publish", Deny},
		{"x", "sos-0001", "shouwang/v1/sos-0001/event", "publish", Deny},
		{"zb-1", "zb-1", "zigbee2mqtt/kitchen", "publish", Allow},
		{"zb-1", "zb-1", "zigbee2mqtt_b2/kitchen", "publish", Deny},
		{"shouwang-hub", "hub", "shouwang/v1/+/event", "subscribe", Allow},
		{"shouwang-hub", "hub", "$share/shouwang/shouwang/v1/+/telemetry", "subscribe", Allow},
		{"shouwang-hub", "hub", "zigbee2mqtt/#", "subscribe", Allow},
		{"shouwang-hub", "hub", "shouwang/v1/sos-0001/cmd", "publish", Allow},
		{"shouwang-hub", "hub", "elsewhere/#", "subscribe", Deny},
		{"sos-9999", "sos-9999", "shouwang/v1/sos-9999/event", "publish", Deny},
		{"sos-0001", "sos-0001", "shouwang/v1/sos-0001/event", "all", Deny},
		{"c", "", "t", "publish", Ignore},
	}
	for _, c := range cases {
		if d := a.Authorize(c.client, c.user, c.topic, c.action); d.Result != c.want {
			t.Errorf("Authorize(%q, %q, %q, %q) = %+v, want %s", c.client, c.user, c.topic, c.action, d, c.want)
		}
	}
	// The same answers as the policy itself gives, by construction: a
	// spoofed topic is named so.
	if d := a.Authorize("sos-0001", "sos-0001", "shouwang/v1/sos-0002/event", "publish"); d.Reason != string(devices.ReasonSpoofed) {
		t.Errorf("publishing as another device: reason %q, want %q", d.Reason, devices.ReasonSpoofed)
	}
}
