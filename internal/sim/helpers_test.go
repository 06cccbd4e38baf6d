package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/broker"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// waitTimeout bounds every wait for something the broker delivers. It is a
// deadline for failure, not a speed assertion.
const waitTimeout = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// eventually polls cond until it holds or waitTimeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, what, cond)
}

// brokerEnv is a running broker that knows a community's devices, and the
// account the test subscriber uses (one that may read every device's
// uplink topics and publish on their cmd topics).
type brokerEnv struct {
	name     string
	url      string
	user, pw string
}

// forEachBroker runs f as a subtest against each broker.
func forEachBroker(t *testing.T, specs []DeviceSpec, f func(t *testing.T, b brokerEnv)) {
	for _, start := range []struct {
		name  string
		start func(*testing.T) brokerEnv
	}{
		{"embedded", func(t *testing.T) brokerEnv { return embeddedEnv(t, specs) }},
		{"mosquitto", func(t *testing.T) brokerEnv { return mosquittoEnv(t, specs).brokerEnv }},
	} {
		t.Run(start.name, func(t *testing.T) { f(t, start.start(t)) })
	}
}

// mosquittoBroker is a mosquitto brokerEnv, which tests can also stop and
// restart.
type mosquittoBroker struct {
	brokerEnv
	*testenv.MosquittoServer
}

// mosquittoEnv starts mosquitto with a password file holding specs'
// passwords and a "watcher" account for the test subscriber.
func mosquittoEnv(t *testing.T, specs []DeviceSpec) mosquittoBroker {
	t.Helper()
	watcherPW := devices.NewPassword()
	var b strings.Builder
	fmt.Fprintf(&b, "watcher:%s\n", devices.HashPassword(watcherPW))
	for _, s := range specs {
		fmt.Fprintf(&b, "%s:%s\n", s.Device.ID, devices.HashPassword(s.Password))
	}
	pwfile := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(pwfile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwfile})
	return mosquittoBroker{brokerEnv{"mosquitto", m.URL(), "watcher", watcherPW}, m}
}

// registry answers the embedded broker's credential checks from specs.
type registry map[string]string

func (r registry) CheckDevice(_ context.Context, id, password string) (ok, registered bool, err error) {
	pw, registered := r[id]
	return registered && pw == password, registered, nil
}

// embeddedEnv starts the hub's embedded broker on a free loopback port; the
// test subscriber is the hub's service account.
func embeddedEnv(t *testing.T, specs []DeviceSpec) brokerEnv {
	t.Helper()
	reg := registry{}
	for _, s := range specs {
		reg[s.Device.ID] = s.Password
	}
	svcPW := devices.NewPassword()
	b, err := broker.New(broker.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		ServiceUser: "shouwang-hub", ServicePassword: svcPW, Auth: reg,
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	return brokerEnv{"embedded", "tcp://" + b.Addr(), "shouwang-hub", svcPW}
}

// community returns a small seeded community with fresh passwords.
func community(t testing.TB, buildings, households int, seed uint64) []DeviceSpec {
	t.Helper()
	ds := Community("阳光社区", buildings, households, rand.New(rand.NewPCG(seed, seed)))
	specs := make([]DeviceSpec, len(ds))
	for i, d := range ds {
		specs[i] = DeviceSpec{Device: d, Password: devices.NewPassword()}
	}
	return specs
}

// msg is one message the watcher received.
type msg struct {
	id       string
	ch       devices.Channel
	payload  []byte
	retained bool
}

// watcher is a plain paho subscriber to every device topic.
type watcher struct {
	mu   sync.Mutex
	msgs []msg
}

func watch(t *testing.T, b brokerEnv) *watcher {
	t.Helper()
	w := &watcher{}
	o := mqtt.NewClientOptions().AddBroker(b.url).SetClientID(fmt.Sprintf("watcher-%d", time.Now().UnixNano())).
		SetUsername(b.user).SetPassword(b.pw).SetCleanSession(true).SetOrderMatters(true)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	filters := map[string]byte{}
	for _, ch := range []devices.Channel{devices.ChannelEvent, devices.ChannelTelemetry, devices.ChannelStatus} {
		filters[devices.Topic("+", ch)] = 1
	}
	tok := c.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) {
		id, ch, _, err := devices.ParseTopic(m.Topic())
		if err != nil {
			t.Errorf("watcher: %v", err)
			return
		}
		w.mu.Lock()
		w.msgs = append(w.msgs, msg{id, ch, append([]byte(nil), m.Payload()...), m.Retained()})
		w.mu.Unlock()
	})
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("watcher subscribe: %v", tok.Error())
	}
	return w
}

// sendCmd publishes a downlink payload to a device, as the hub does.
func sendCmd(t *testing.T, b brokerEnv, id string, payload []byte) {
	t.Helper()
	topic := devices.Topic(id, devices.ChannelCmd)
	o := mqtt.NewClientOptions().AddBroker(b.url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetUsername(b.user).SetPassword(b.pw)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// snapshot returns the messages received so far matching keep.
func (w *watcher) snapshot(keep func(msg) bool) []msg {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []msg
	for _, m := range w.msgs {
		if keep == nil || keep(m) {
			out = append(out, m)
		}
	}
	return out
}

func (w *watcher) count(keep func(msg) bool) int { return len(w.snapshot(keep)) }

// await waits for a message matching keep and returns the first one.
func (w *watcher) await(t *testing.T, what string, keep func(msg) bool) msg {
	t.Helper()
	var got msg
	eventually(t, what, func() bool {
		ms := w.snapshot(keep)
		if len(ms) > 0 {
			got = ms[0]
		}
		return len(ms) > 0
	})
	return got
}

// header is the part of a payload every check needs.
type header struct {
	Seq   uint64 `json:"seq"`
	State string `json:"state"`
	Type  string `json:"type"`
}

func parseHeader(t testing.TB, p []byte) header {
	t.Helper()
	var h header
	if err := json.Unmarshal(p, &h); err != nil {
		t.Fatalf("payload %s: %v", p, err)
	}
	return h
}

func isStatus(id, state string) func(msg) bool {
	return func(m msg) bool {
		if m.id != id || m.ch != devices.ChannelStatus {
			return false
		}
		var h header
		return json.Unmarshal(m.payload, &h) == nil && h.State == state
	}
}

// runSim starts s.Run in the background; the returned function cancels it
// and returns Run's error.
func runSim(t *testing.T, s *Sim) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitTimeout):
				err = fmt.Errorf("run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	wctx, wcancel := context.WithTimeout(ctx, waitTimeout)
	defer wcancel()
	if err := s.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	return stop
}

func firstOfKind(t testing.TB, specs []DeviceSpec, k devices.Kind) string {
	t.Helper()
	for _, s := range specs {
		if s.Device.Kind == k {
			return s.Device.ID
		}
	}
	t.Fatalf("no %s in the community", k)
	return ""
}

func kindOf(specs []DeviceSpec) map[string]devices.Kind {
	m := map[string]devices.Kind{}
	for _, s := range specs {
		m[s.Device.ID] = s.Device.Kind
	}
	return m
}
