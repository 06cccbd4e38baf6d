package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// deviceConnect connects as device id with password, and returns why the
// broker refused it, if it did.
func deviceConnect(brokerURL, id, password string) error {
	return connectOnce(paho.NewClientOptions().AddBroker(brokerURL).SetClientID(id).SetUsername(id).SetPassword(password).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(true))
}

// emqxAuthn asks the hub's EMQX authentication endpoint, as EMQX would
// (the shared secret is its bearer token).
func emqxAuthn(t *testing.T, base, secret, id, password string) string {
	t.Helper()
	var out struct{ Result string }
	body := map[string]string{"clientid": id, "username": id, "password": password}
	if code := api(t, http.MethodPost, base+"/api/v1/broker/emqx/authn", secret, body, &out); code != http.StatusOK {
		t.Fatalf("EMQX authn: %d", code)
	}
	return out.Result
}

// TestBrokerAccountsFollowTheRegistry runs the hub against Debian's
// mosquitto configured with the password and ACL files the hub keeps
// (-mosquitto-dir), which start empty: the hub writes its own account and
// signals mosquitto before it connects. A device registered through the API
// is admitted within seconds, kept to its own topics; with a new password
// the old one is refused; deleted, it is refused — and mosquitto is never
// restarted. The EMQX endpoints answer the same from memory.
func TestBrokerAccountsFollowTheRegistry(t *testing.T) {
	testenv.ToolPath(t, "mosquitto")
	influx := testenv.Influx(t)
	dir := t.TempDir()
	mdir := filepath.Join(dir, "mosquitto")
	if err := os.Mkdir(mdir, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"passwd", "acl"} {
		if err := os.WriteFile(filepath.Join(mdir, f), nil, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	mq := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: filepath.Join(mdir, "passwd"), ACLFile: filepath.Join(mdir, "acl")})
	pid := mq.Pid()
	pidFile := filepath.Join(dir, "mosquitto.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "emqx-secret-for-the-e2e-test"
	m := startHub(t, hubOptions{Influx: influx, MQTTURL: mq.URL(), Args: []string{
		"-mqtt-username", "hub", "-mqtt-password", "hub-secret",
		"-mosquitto-dir", mdir, "-mosquitto-pidfile", pidFile, "-emqx-secret", secret,
	}})
	// Run returned: mosquitto took the hub's own account from the files.
	base := "http://" + m.HTTPAddr()
	token := login(t, base)

	var created struct{ Password string }
	d := devices.Device{ID: "sos-m1", Kind: devices.KindSOSButton, Location: devices.Location{Community: "阳光社区", Household: "1-1-101"}}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, d, &created); code != http.StatusCreated || created.Password == "" {
		t.Fatalf("register: %d", code)
	}
	registered := time.Now()
	eventually(t, 10*time.Second, "mosquitto to admit the device registered through the API", func() (bool, string) {
		err := deviceConnect(mq.URL(), "sos-m1", created.Password)
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("registered → admitted by mosquitto in %v", time.Since(registered).Round(time.Millisecond))
	if r := emqxAuthn(t, base, secret, "sos-m1", created.Password); r != "allow" {
		t.Errorf("EMQX authn of the registered device: %s", r)
	}

	// Kept to its own topics by the ACL from the topic policy: mosquitto
	// grants any subscription but delivers only what the device may read.
	// sos-m1 listens on sos-m2's cmd topic and its own; sos-m2 presses, and
	// only sos-m2 hears the hub's acknowledgement.
	var m2 struct{ Password string }
	d2 := devices.Device{ID: "sos-m2", Kind: devices.KindSOSButton, Location: d.Location}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", token, d2, &m2); code != http.StatusCreated {
		t.Fatalf("register sos-m2: %d", code)
	}
	eaves := listen(t, mq.URL(), "sos-m1", created.Password, devices.Topic("sos-m2", devices.ChannelCmd), devices.Topic("sos-m1", devices.ChannelCmd))
	var owner *listener
	eventually(t, 10*time.Second, "sos-m2 admitted", func() (bool, string) {
		l, err := tryListen(mq.URL(), "sos-m2", m2.Password, devices.Topic("sos-m2", devices.ChannelCmd))
		owner = l
		return err == nil, fmt.Sprint(err)
	})
	t.Cleanup(owner.close)
	// The hub publishes both acknowledgements on one connection, in order:
	// had the first reached sos-m1, it would be there before sos-m1's own.
	if err := publishPress(mq.URL(), "sos-m2", m2.Password); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "sos-m2 to hear its acknowledgement", func() (bool, string) {
		return owner.count() == 1, fmt.Sprint(owner.count())
	})
	if err := publishPress(mq.URL(), "sos-m1", created.Password); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "sos-m1 to hear its own acknowledgement", func() (bool, string) {
		return eaves.count() >= 1, fmt.Sprint(eaves.count())
	})
	if got := eaves.topics(); len(got) != 1 || got[0] != devices.Topic("sos-m1", devices.ChannelCmd) {
		t.Errorf("sos-m1 heard %v: another device's acknowledgement passed the ACL", got)
	}
	eaves.close()

	// A new password: the old one is refused.
	var rotated struct{ Password string }
	if code := api(t, http.MethodPost, base+"/api/v1/devices/sos-m1/password", token, nil, &rotated); code != http.StatusOK || rotated.Password == "" {
		t.Fatalf("rotate: %d", code)
	}
	eventually(t, 10*time.Second, "mosquitto to refuse the old password", func() (bool, string) {
		err := deviceConnect(mq.URL(), "sos-m1", created.Password)
		return err != nil, fmt.Sprint(err)
	})
	if err := deviceConnect(mq.URL(), "sos-m1", rotated.Password); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if r := emqxAuthn(t, base, secret, "sos-m1", created.Password); r != "deny" {
		t.Errorf("EMQX authn of the old password: %s", r)
	}

	// Deleted: refused.
	if code := api(t, http.MethodDelete, base+"/api/v1/devices/sos-m1", token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	eventually(t, 10*time.Second, "mosquitto to refuse the deleted device", func() (bool, string) {
		err := deviceConnect(mq.URL(), "sos-m1", rotated.Password)
		return err != nil, fmt.Sprint(err)
	})
	if r := emqxAuthn(t, base, secret, "sos-m1", rotated.Password); r != "deny" {
		t.Errorf("EMQX authn of the deleted device: %s", r)
	}

	if now := mq.Pid(); now != pid {
		t.Errorf("mosquitto was restarted: pid %d, then %d", pid, now)
	}
	if ok, why := lanesConnected(m.lanes); !ok {
		t.Errorf("the hub's sessions: %s", why)
	}
	b, _ := os.ReadFile(filepath.Join(mdir, "passwd"))
	if strings.Contains(string(b), "sos-m1") || !strings.HasPrefix(string(b), "hub:$7$") {
		t.Errorf("the password file after the delete:\n%s", b)
	}

	// hubctl exports the same files once, for a mosquitto set up by hand.
	out := filepath.Join(dir, "export")
	runHubctl(t, buildHubctl(t), base, token, "broker", "export", "-passwd", out+".passwd", "-acl", out+".acl")
	for _, f := range []string{"passwd", "acl"} {
		got, _ := os.ReadFile(out + "." + f)
		want, _ := os.ReadFile(filepath.Join(mdir, f))
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("hubctl broker export's %s differs from the file the hub keeps:\n%s\n----\n%s", f, got, want)
		}
	}
}

// publishPress publishes a press as the device, QoS 1.
func publishPress(brokerURL, id, password string) error {
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(id + "-press").SetUsername(id).SetPassword(password).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	tok := c.Publish(devices.Topic(id, devices.ChannelEvent), 1, false, fmt.Appendf(nil, `{"seq":1,"ts":%d,"type":"sos"}`, time.Now().UnixMilli()))
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("publish: %v", tok.Error())
	}
	return nil
}

// listener is a device's connection that keeps what it receives.
type listener struct {
	c    paho.Client
	mu   sync.Mutex
	msgs []string // topics
}

func (l *listener) count() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.msgs) }

func (l *listener) topics() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

func (l *listener) close() {
	if l != nil {
		l.c.Disconnect(100)
	}
}

// tryListen connects as device id and subscribes to filters.
func tryListen(brokerURL, id, password string, filters ...string) (*listener, error) {
	l := &listener{}
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(id).SetUsername(id).SetPassword(password).
		SetConnectTimeout(10 * time.Second).SetAutoReconnect(false).SetCleanSession(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			l.mu.Lock()
			l.msgs = append(l.msgs, m.Topic())
			l.mu.Unlock()
		})
	l.c = paho.NewClient(o)
	if tok := l.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("connect: %v", tok.Error())
	}
	for _, f := range filters {
		if tok := l.c.Subscribe(f, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			l.close()
			return nil, fmt.Errorf("subscribe %s: %v", f, tok.Error())
		}
	}
	return l, nil
}

func listen(t *testing.T, brokerURL, id, password string, filters ...string) *listener {
	t.Helper()
	l, err := tryListen(brokerURL, id, password, filters...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	return l
}
