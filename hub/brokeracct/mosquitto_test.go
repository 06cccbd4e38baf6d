package brokeracct

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

func TestMosquittoFilesFromThePolicy(t *testing.T) {
	a, _ := testAccounts(t)
	passwd, acl := a.MosquittoFiles()
	lines := strings.Split(strings.TrimSpace(string(passwd)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "hub:$7$") || !strings.HasPrefix(lines[1], "sos-0001:$7$") || !strings.HasPrefix(lines[2], "zb-1:$7$") {
		t.Errorf("password file:\n%s", passwd)
	}
	for _, l := range lines {
		user, hash, _ := strings.Cut(l, ":")
		if user == "hub" && !devices.CheckPassword(hash, "hub-secret") {
			t.Error("the service account's line does not hold its password")
		}
	}
	// Every rule the policy gives each account, and nothing else.
	text := string(acl)
	for user, p := range map[string]devices.Principal{
		"sos-0001": {Role: devices.RoleDevice, ID: "sos-0001", Source: devices.SourceNative},
		"zb-1":     {Role: devices.RoleGateway, ID: "zb-1", Source: devices.SourceZigbee2MQTT, Root: "zigbee2mqtt"},
		"hub":      a.service(),
	} {
		block := aclBlock(t, text, user)
		rules := vendors.Policy.Rules(p)
		if len(rules) == 0 {
			t.Fatalf("no rules for %s", user)
		}
		for _, r := range rules {
			access := map[devices.Access]string{devices.AccessRead: "read", devices.AccessWrite: "write", devices.AccessBoth: "readwrite"}[r.Access]
			if !strings.Contains(block, "topic "+access+" "+r.Filter+"\n") {
				t.Errorf("%s's ACL lacks %s %s:\n%s", user, access, r.Filter, block)
			}
		}
		extra := 0
		if user == "hub" {
			extra = 1 // $SYS/broker/store/messages/count, the backlog watch
		}
		if n := strings.Count(block, "\ntopic "); n != len(rules)+extra {
			t.Errorf("%s's ACL has %d rules, the policy %d (+%d)", user, n, len(rules), extra)
		}
	}
	if strings.Contains(text, "smoke-z1") || strings.Contains(string(passwd), "smoke-z1") {
		t.Error("the Zigbee device behind its bridge has an account")
	}
	// Without the service password the hub's line is left for the operator.
	b, err := New(Config{Source: &registry{accounts: map[string]Account{}}, Policy: vendors.Policy, ServiceUser: "hub"}, a.log)
	if err != nil {
		t.Fatal(err)
	}
	if passwd, acl := b.MosquittoFiles(); len(passwd) != 0 || !strings.Contains(string(acl), "user hub\n") {
		t.Errorf("without a service password: passwd %q, acl %q", passwd, acl)
	}
}

// aclBlock returns the "user NAME" block of an ACL file.
func aclBlock(t *testing.T, acl, user string) string {
	t.Helper()
	i := strings.Index(acl, "\nuser "+user+"\n")
	if i < 0 {
		t.Fatalf("no block for %s in:\n%s", user, acl)
	}
	block := acl[i+1:]
	if j := strings.Index(block, "\n\n"); j >= 0 {
		block = block[:j+1]
	}
	return block
}

// Sync writes both files (replaced, never edited in place) and sends
// mosquitto — here this test process, by its PID file — SIGHUP; a second
// Sync with nothing changed writes nothing and signals nothing; Run writes
// again after a change.
func TestMosquittoSyncWritesAndSignals(t *testing.T) {
	hup := make(chan os.Signal, 4)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "mosquitto.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, reg := testAccounts(t)
	m, err := a.NewMosquitto(MosquittoConfig{Dir: filepath.Join(dir, "mosquitto"), PIDFile: pidFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	waitHUP := func(what string) {
		t.Helper()
		select {
		case <-hup:
		case <-time.After(10 * time.Second):
			t.Fatalf("no SIGHUP after %s", what)
		}
	}
	waitHUP("the first write")
	passwdPath := filepath.Join(dir, "mosquitto", PasswordFile)
	before, err := os.Stat(passwdPath)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "mosquitto", ACLFile)); st == nil || st.Mode().Perm() != 0o640 || before.Mode().Perm() != 0o640 {
		t.Errorf("file modes: passwd %v", before.Mode())
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hup:
		t.Error("SIGHUP although nothing changed")
	case <-time.After(200 * time.Millisecond): // a signal would have come by now
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	reg.put(native("sos-0002", "pw-2"))
	if err := a.Changed(ctx, "sos-0002"); err != nil {
		t.Fatal(err)
	}
	waitHUP("a device was registered")
	b, _ := os.ReadFile(passwdPath)
	if !strings.Contains(string(b), "\nsos-0002:$7$") {
		t.Errorf("the new device is not in the password file:\n%s", b)
	}
	after, _ := os.Stat(passwdPath)
	if os.SameFile(before, after) {
		t.Error("the password file was rewritten in place: mosquitto could read half of it")
	}

	// A PID file that names no process: the write stands, the error says so.
	os.WriteFile(pidFile, []byte("nonsense"), 0o644)
	reg.put(native("sos-0003", "pw-3"))
	a.Changed(ctx, "sos-0003")
	m2, _ := a.NewMosquitto(MosquittoConfig{Dir: t.TempDir(), PIDFile: pidFile})
	if err := m2.Sync(); err == nil || !strings.Contains(err.Error(), "not a process ID") {
		t.Errorf("a bad PID file: %v", err)
	}
}
