package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/devices/vendors"
)

// api sends a JSON request with a bearer token and decodes the answer.
func api(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// bridgeClient is a real MQTT client playing a Zigbee2MQTT bridge: its
// own account, its base topic, a retained bridge/state with the bridge's
// will on it, as Zigbee2MQTT sets them up.
type bridgeClient struct {
	t    *testing.T
	base string
	c    paho.Client
}

func connectBridge(t *testing.T, brokerURL, id, password, base string) *bridgeClient {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(id).SetUsername(id).SetPassword(password).
		SetCleanSession(true).SetConnectTimeout(10*time.Second).SetAutoReconnect(false).
		SetWill(base+"/bridge/state", `{"state":"offline"}`, 1, true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("bridge %s connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	b := &bridgeClient{t: t, base: base, c: c}
	b.publish("bridge/state", `{"state":"online"}`, true)
	return b
}

// publish sends payload on <base>/<sub> at QoS 1 and waits for the PUBACK.
func (b *bridgeClient) publish(sub, payload string, retained bool) {
	b.t.Helper()
	tok := b.c.Publish(b.base+"/"+sub, 1, retained, payload)
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		b.t.Fatalf("publish %s/%s: %v", b.base, sub, tok.Error())
	}
}

// bridgeDevices is a bridge/devices payload listing devices as
// Zigbee2MQTT 2.x does: the coordinator first, each with its definition.
func bridgeDevices(ds ...[3]string) string { // ieee, friendly name, model
	list := []map[string]any{{"ieee_address": "0x00124b002226a5f4", "type": "Coordinator", "friendly_name": "Coordinator",
		"supported": true, "definition": nil, "interview_completed": true}}
	for _, d := range ds {
		list = append(list, map[string]any{"ieee_address": d[0], "type": "EndDevice", "friendly_name": d[1],
			"supported": true, "interview_completed": true, "power_source": "Battery",
			"definition": map[string]any{"model": d[2], "vendor": "HEIMAN", "description": "test device", "exposes": []any{}}})
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// alertsOf lists a device's alerts of one kind.
func alertsOf(t *testing.T, base, token, id string, kind alerts.Kind) []*alerts.Alert {
	t.Helper()
	var out struct {
		Alerts []*alerts.Alert `json:"alerts"`
	}
	if code := api(t, http.MethodGet, fmt.Sprintf("%s/api/v1/alerts?device=%s&kind=%s", base, id, kind), token, nil, &out); code != http.StatusOK {
		t.Fatalf("list alerts: %d", code)
	}
	return out.Alerts
}

// deviceBattery is the battery a device last reported, -1 when none.
func deviceBattery(t *testing.T, base, token, id string) float64 {
	t.Helper()
	var out struct {
		Device devices.Device `json:"device"`
	}
	api(t, http.MethodGet, base+"/api/v1/devices/"+id, token, nil, &out)
	if out.Device.Health.Battery == nil {
		return -1
	}
	return *out.Device.Health.Battery
}

// refusalsOf lists the refusals a device's page shows.
func refusalsOf(t *testing.T, base, token, id string) []devices.Refusal {
	t.Helper()
	var out struct {
		Refusals []devices.Refusal `json:"refusals"`
	}
	api(t, http.MethodGet, base+"/api/v1/devices/"+id, token, nil, &out)
	return out.Refusals
}

func hasReason(rs []devices.Refusal, reasons ...devices.Reason) bool {
	for _, r := range rs {
		for _, want := range reasons {
			if r.Reason == want {
				return true
			}
		}
	}
	return false
}

// mosquittoFiles writes a password file and an ACL file for mosquitto
// from the domain's topic policy: the hub's account and each bridge's.
func mosquittoFiles(t *testing.T, hubPassword string, bridges map[string][2]string) (pwFile, aclFile string) {
	t.Helper()
	dir := t.TempDir()
	pwFile, aclFile = filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	if err := os.WriteFile(pwFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	add := func(user, pw string) {
		if out, err := exec.Command("mosquitto_passwd", "-b", pwFile, user, pw).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
	}
	var acl strings.Builder
	write := func(user string, p devices.Principal) {
		fmt.Fprintf(&acl, "user %s\n", user)
		for _, r := range vendors.Policy.Rules(p) {
			access := map[devices.Access]string{devices.AccessRead: "read", devices.AccessWrite: "write", devices.AccessBoth: "readwrite"}[r.Access]
			fmt.Fprintf(&acl, "topic %s %s\n", access, r.Filter)
		}
		acl.WriteString("\n")
	}
	add("hub", hubPassword)
	svc := devices.Principal{Role: devices.RoleService}
	for id, b := range bridges { // password, base
		add(id, b[0])
		svc.Roots = append(svc.Roots, devices.Root{Source: devices.SourceZigbee2MQTT, Root: b[1]})
		write(id, devices.Principal{Role: devices.RoleGateway, ID: id, Source: devices.SourceZigbee2MQTT, Root: b[1]})
	}
	write("hub", svc)
	if err := os.WriteFile(aclFile, []byte(acl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return pwFile, aclFile
}

// buildHubctl builds the installer's CLI.
func buildHubctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hubctl")
	out, err := exec.Command("go", "build", "-o", bin, "../hubctl").CombinedOutput()
	if err != nil {
		t.Fatalf("go build hubctl: %v\n%s", err, out)
	}
	return bin
}

func runHubctl(t *testing.T, bin, base, token string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-server", base, "-token", token}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hubctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}
