package testenv_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
	"github.com/shouwang-hub/shouwang/hub/brokeracct"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// writeFile writes content to a new file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMosquittoAcceptsRegistryHashes checks that the registry's password
// hashes are in the format mosquitto reads: a password file of
// "ID:"+devices.HashPassword(pw) lines lets that password in and no other.
func TestMosquittoAcceptsRegistryHashes(t *testing.T) {
	pw := devices.NewPassword()
	pwfile := writeFile(t, "passwd", "d-0001:"+devices.HashPassword(pw)+"\n")
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwfile})

	for _, tc := range []struct {
		name, user, pass string
		accept           bool
	}{
		{"right password", "d-0001", pw, true},
		{"wrong password", "d-0001", pw + "x", false},
		{"unknown user", "d-0002", pw, false},
		{"no password", "d-0001", "", false},
		{"anonymous", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := connack(m.Addr(), "c-"+tc.user, tc.user, tc.pass)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			if got := rc == 0; got != tc.accept {
				t.Fatalf("CONNACK code %d: accepted = %t, want %t", rc, got, tc.accept)
			}
		})
	}
}

// TestRegistryChecksMosquittoHashes is the other direction: a hash written by
// mosquitto_passwd is one devices.CheckPassword verifies.
func TestRegistryChecksMosquittoHashes(t *testing.T) {
	tool := testenv.ToolPath(t, "mosquitto_passwd")
	pwfile := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command(tool, "-c", "-b", pwfile, "d-0001", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	b, err := os.ReadFile(pwfile)
	if err != nil {
		t.Fatal(err)
	}
	hash, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "d-0001:")
	if !ok || !strings.HasPrefix(hash, "$7$") {
		t.Fatalf("mosquitto_passwd wrote %q, want d-0001:$7$...", b)
	}
	if !devices.CheckPassword(hash, "s3cret") {
		t.Errorf("CheckPassword(%q, right password) = false", hash)
	}
	if devices.CheckPassword(hash, "s3cres") {
		t.Errorf("CheckPassword(%q, wrong password) = true", hash)
	}
}

// docBlock returns the fenced code block in docs/operations.md whose first
// line is first, so the tests check exactly what the operator copies.
func docBlock(t *testing.T, first string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatalf("read docs: %v", err)
	}
	_, after, ok := strings.Cut(string(b), "```\n"+first+"\n")
	if !ok {
		t.Fatalf("docs/operations.md has no code block starting %q", first)
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatalf("docs/operations.md: unterminated code block %q", first)
	}
	return first + "\n" + block
}

// accountList is a fixed registry of native devices for the hub's writer of
// mosquitto's files.
type accountList map[string]string // device ID → password

func (l accountList) LoadAccounts(_ context.Context, fn func(brokeracct.Account) error) error {
	for id, pw := range l {
		if err := fn(brokeracct.Account{Principal: devices.Principal{Role: devices.RoleDevice, ID: id, Source: devices.SourceNative}, Hash: devices.HashPassword(pw)}); err != nil {
			return err
		}
	}
	return nil
}

func (l accountList) Account(context.Context, string) (brokeracct.Account, bool, error) {
	return brokeracct.Account{}, false, nil
}

// hubWrittenFiles returns the password and ACL files the hub writes for
// mosquitto (hub/brokeracct) with its account "hub" and the devices.
func hubWrittenFiles(t *testing.T, hubPassword string, devs accountList) (passwd, acl string) {
	t.Helper()
	a, err := brokeracct.New(brokeracct.Config{Source: devs, Policy: vendors.Policy, ServiceUser: "hub", ServicePassword: hubPassword},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, c := a.MosquittoFiles()
	return string(p), string(c)
}

// TestOperationsShowsTheWrittenACL: the ACL docs/operations.md shows is
// what the hub writes, for its account and one device.
func TestOperationsShowsTheWrittenACL(t *testing.T) {
	_, acl := hubWrittenFiles(t, "", accountList{"sos-0001": "x"})
	if doc := docBlock(t, "# Written by the Shouwang hub from its registry and topic policy, and"); doc != acl {
		t.Errorf("docs/operations.md shows:\n%s\nthe hub writes:\n%s", doc, acl)
	}
}

// TestMosquittoHubWrittenACL runs the files the hub writes for mosquitto:
// each device only on its own topics, the hub reading uplink and writing
// downlink. Denied publishes are dropped silently, so each is followed by an
// allowed one from the same client: the receiver must get the allowed one
// first.
func TestMosquittoHubWrittenACL(t *testing.T) {
	pw := map[string]string{"hub": "hub-pw", "d1": "d1-pw", "d2": "d2-pw"}
	passwd, aclText := hubWrittenFiles(t, pw["hub"], accountList{"d1": pw["d1"], "d2": pw["d2"]})
	acl := writeFile(t, "acl", aclText)
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: writeFile(t, "passwd", passwd), ACLFile: acl})

	hub := dial(t, m.URL(), "hub", "hub", pw["hub"], true)
	hub.subscribe(t, "shouwang/v1/+/event", "shouwang/v1/+/telemetry", "shouwang/v1/+/status", "shouwang/v1/+/call/#")
	d1 := dial(t, m.URL(), "d1", "d1", pw["d1"], true)
	d1.subscribe(t, "shouwang/v1/d1/cmd", "shouwang/v1/d1/call/#")
	d2 := dial(t, m.URL(), "d2", "d2", pw["d2"], true)
	granted := d2.subscribe(t, "shouwang/v1/d1/cmd", "shouwang/v1/d2/cmd")
	t.Logf("d2's SUBACK codes: %v (128 = refused)", granted)

	expect := func(c *client, who, topic, payload string) {
		t.Helper()
		if got := c.next(t); got != (message{topic, payload}) {
			t.Fatalf("%s got %q on %s, want %q on %s", who, got.payload, got.topic, payload, topic)
		}
	}

	// Uplink: d1 may publish on its own topics, not on d2's.
	d1.publish(t, "shouwang/v1/d2/event", "spoofed")
	d1.publish(t, "shouwang/v1/d1/event", "press")
	expect(hub, "hub", "shouwang/v1/d1/event", "press")
	d1.publish(t, "shouwang/v1/d1/telemetry", "t")
	expect(hub, "hub", "shouwang/v1/d1/telemetry", "t")
	d2.publish(t, "shouwang/v1/d2/status", "online")
	expect(hub, "hub", "shouwang/v1/d2/status", "online")

	// The hub may not forge uplink messages.
	hub.publish(t, "shouwang/v1/d1/event", "forged")
	d1.publish(t, "shouwang/v1/d1/event", "real")
	expect(hub, "hub", "shouwang/v1/d1/event", "real")

	// Downlink: the hub writes each device's cmd; d2 cannot read d1's.
	hub.publish(t, "shouwang/v1/d1/cmd", "ack-1")
	hub.publish(t, "shouwang/v1/d2/cmd", "ack-2")
	expect(d1, "d1", "shouwang/v1/d1/cmd", "ack-1")
	expect(d2, "d2", "shouwang/v1/d2/cmd", "ack-2")

	// Devices may not write commands to each other.
	d2.publish(t, "shouwang/v1/d1/cmd", "evil")
	hub.publish(t, "shouwang/v1/d1/cmd", "ack-3")
	expect(d1, "d1", "shouwang/v1/d1/cmd", "ack-3")

	// Calls go both ways.
	hub.publish(t, "shouwang/v1/d1/call/offer", "sdp")
	expect(d1, "d1", "shouwang/v1/d1/call/offer", "sdp")
	expect(hub, "hub (its own offer)", "shouwang/v1/d1/call/offer", "sdp")
	d1.publish(t, "shouwang/v1/d1/call/answer", "sdp")
	expect(hub, "hub", "shouwang/v1/d1/call/answer", "sdp")
	expect(d1, "d1 (its own answer)", "shouwang/v1/d1/call/answer", "sdp")

	// Nothing else was delivered to anyone.
	for who, c := range map[string]*client{"hub": hub, "d1": d1, "d2": d2} {
		select {
		case got := <-c.msgs:
			t.Errorf("%s got an unexpected %q on %s", who, got.payload, got.topic)
		default:
		}
	}
}
