package broker

import (
	"context"
	"fmt"
	"github.com/shouwang-hub/shouwang/internal/testenv"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
)

const (
	svcUser = "shouwang-hub-service"
	svcPass = "service-secret"
	hubID   = "shouwang-hub"
)

// fakeAuth is a registry of device passwords.
type fakeAuth struct {
	mu    sync.Mutex
	pw    map[string]string
	calls atomic.Int64
}

func (a *fakeAuth) CheckDevice(_ context.Context, id, password string) (bool, bool, error) {
	a.calls.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	pw, ok := a.pw[id]
	return ok && pw == password, ok, nil
}

type rejection struct {
	reason      devices.Reason
	who, detail string
}

// rejects records OnReject calls.
type rejects struct {
	mu   sync.Mutex
	list []rejection
}

func (r *rejects) add(reason devices.Reason, who, detail string) {
	r.mu.Lock()
	r.list = append(r.list, rejection{reason, who, detail})
	r.mu.Unlock()
}

// wait returns the first rejection of who, failing the test if none comes.
func (r *rejects) wait(t *testing.T, who string) rejection {
	t.Helper()
	var got rejection
	eventually(t, "a rejection of "+who, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, x := range r.list {
			if x.who == who {
				got = x
				return true
			}
		}
		return false
	})
	return got
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testBroker struct {
	*Broker
	auth    *fakeAuth
	rejects *rejects
	dir     string
}

func newTestBroker(t *testing.T, dir string) *testBroker {
	t.Helper()
	tb := &testBroker{
		auth:    &fakeAuth{pw: map[string]string{"d1": "pw1", "d2": "pw2", "d3": "pw3"}},
		rejects: &rejects{},
		dir:     dir,
	}
	b, err := New(Config{
		Listen: "127.0.0.1:0", DataDir: dir,
		ServiceUser: svcUser, ServicePassword: svcPass,
		Auth: tb.auth, OnReject: tb.rejects.add,
	}, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.Broker = b
	t.Cleanup(func() { b.Close() })
	return tb
}

func startTestBroker(t *testing.T) *testBroker {
	t.Helper()
	tb := newTestBroker(t, t.TempDir())
	if err := tb.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tb
}

// inbox collects messages delivered to a paho client.
type inbox struct {
	ch chan paho.Message
}

func newInbox() *inbox { return &inbox{ch: make(chan paho.Message, 10_000)} }

func (in *inbox) handler(_ paho.Client, m paho.Message) { in.ch <- m }

// next waits for the next message.
func (in *inbox) next(t *testing.T) paho.Message {
	t.Helper()
	select {
	case m := <-in.ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

func clientOpts(addr, clientID, user, pass string) *paho.ClientOptions {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second)
	return o
}

// connect connects a paho client and disconnects it when the test ends.
func connect(t *testing.T, o *paho.ClientOptions) (paho.Client, error) {
	t.Helper()
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func mustConnect(t *testing.T, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c, err := connect(t, o)
	if err != nil {
		t.Fatalf("connect %s: %v", o.ClientID, err)
	}
	return c
}

func device(t *testing.T, addr, id, pass string) paho.Client {
	t.Helper()
	o := clientOpts(addr, id, id, pass).SetCleanSession(true).
		SetWill(devices.Topic(id, devices.ChannelStatus), `{"state":"offline"}`, 1, true)
	return mustConnect(t, o)
}

// hubClient connects the service client with a persistent session.
func hubClient(t *testing.T, addr string, in *inbox, autoAck bool) paho.Client {
	t.Helper()
	o := clientOpts(addr, hubID, svcUser, svcPass).SetCleanSession(false).
		SetAutoAckDisabled(!autoAck).SetOrderMatters(false)
	if in != nil {
		o.SetDefaultPublishHandler(in.handler)
	}
	return mustConnect(t, o)
}

func subscribe(t *testing.T, c paho.Client, filters ...string) map[string]byte {
	t.Helper()
	m := map[string]byte{}
	for _, f := range filters {
		m[f] = 1
	}
	tok := c.SubscribeMultiple(m, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %v: %v", filters, tok.Error())
	}
	return tok.(*paho.SubscribeToken).Result()
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, retained bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

var hubFilters = []string{
	"shouwang/v1/+/event", "shouwang/v1/+/telemetry", "shouwang/v1/+/status", "shouwang/v1/+/call/#",
}

// eventually polls cond until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, what, cond)
}

func TestDevicePublishesReachTheHub(t *testing.T) {
	b := startTestBroker(t)
	in := newInbox()
	hub := hubClient(t, b.Addr(), in, true)
	codes := subscribe(t, hub, hubFilters...)
	for f, c := range codes {
		if c != 1 {
			t.Errorf("hub subscription %s: return code %#x, want 1", f, c)
		}
	}
	d1 := device(t, b.Addr(), "d1", "pw1")
	publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, `{"seq":1}`)
	publish(t, d1, devices.Topic("d1", devices.ChannelTelemetry), 0, false, `{"seq":2}`)
	publish(t, d1, devices.Topic("d1", devices.ChannelStatus), 1, true, `{"state":"online"}`)
	publish(t, d1, "shouwang/v1/d1/call/offer", 1, false, `{"sdp":"x"}`)

	want := map[string]string{
		"shouwang/v1/d1/event":      `{"seq":1}`,
		"shouwang/v1/d1/telemetry":  `{"seq":2}`,
		"shouwang/v1/d1/status":     `{"state":"online"}`,
		"shouwang/v1/d1/call/offer": `{"sdp":"x"}`,
	}
	for range want {
		m := in.next(t)
		if want[m.Topic()] != string(m.Payload()) {
			t.Errorf("hub got %s %q, want %q", m.Topic(), m.Payload(), want[m.Topic()])
		}
		delete(want, m.Topic())
	}
	if s := b.Stats(); s.ClientsConnected != 2 || s.ConnectsRefused != 0 {
		t.Errorf("stats: %+v, want 2 clients connected and no refusals", s)
	}
}

func TestConnectRefusals(t *testing.T) {
	b := startTestBroker(t)
	tests := []struct {
		name   string
		opts   *paho.ClientOptions
		who    string
		reason devices.Reason
	}{
		{"wrong password", clientOpts(b.Addr(), "d1", "d1", "nope"), "d1", ReasonBadCredentials},
		{"unknown device", clientOpts(b.Addr(), "ghost", "ghost", "pw"), "ghost", devices.ReasonUnregistered},
		{"anonymous", clientOpts(b.Addr(), "anon-1", "", ""), "anon-1", ReasonBadCredentials},
		{"client id is not the device id", clientOpts(b.Addr(), "d2", "d3", "pw3"), "d3", devices.ReasonSpoofed},
		{"will on another device's topic", clientOpts(b.Addr(), "d2", "d2", "pw2").
			SetWill("shouwang/v1/d1/status", `{"state":"offline"}`, 1, true), "d2", devices.ReasonSpoofed},
		{"will on its own event topic", clientOpts(b.Addr(), "d1", "d1", "pw1").
			SetWill("shouwang/v1/d1/event", `{}`, 1, false), "d1", devices.ReasonBadTopic},
		{"service user with a wrong password", clientOpts(b.Addr(), "x", svcUser, "nope"), svcUser, ReasonBadCredentials},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.rejects.mu.Lock()
			b.rejects.list = nil
			b.rejects.mu.Unlock()
			if _, err := connect(t, tt.opts); err == nil {
				t.Fatal("connected; want refused")
			}
			r := b.rejects.wait(t, tt.who)
			if r.reason != tt.reason {
				t.Errorf("reason %q (%s), want %q", r.reason, r.detail, tt.reason)
			}
			if got := b.Stats().ConnectsRefused; got != int64(i+1) {
				t.Errorf("ConnectsRefused = %d, want %d", got, i+1)
			}
		})
	}
	// A device's client ID cannot take over the hub's session either.
	hubClient(t, b.Addr(), nil, true)
	b.auth.mu.Lock()
	b.auth.pw[hubID] = "pwh"
	b.auth.mu.Unlock()
	if _, err := connect(t, clientOpts(b.Addr(), hubID, hubID, "pwh")); err == nil {
		t.Error("a device named like the hub's client ID took over its session")
	}
}

func TestAuthenticatorResultsAreCached(t *testing.T) {
	b := startTestBroker(t)
	for range 3 {
		c := device(t, b.Addr(), "d1", "pw1")
		c.Disconnect(0)
	}
	if n := b.auth.calls.Load(); n != 1 {
		t.Errorf("Authenticator called %d times for 3 connects with the same password, want 1", n)
	}
	if _, err := connect(t, clientOpts(b.Addr(), "d1", "d1", "wrong")); err == nil {
		t.Error("a wrong password was accepted while the right one is cached")
	}
}

func TestSpoofedPublishIsNotDelivered(t *testing.T) {
	b := startTestBroker(t)
	in := newInbox()
	hub := hubClient(t, b.Addr(), in, true)
	subscribe(t, hub, hubFilters...)

	lost := make(chan struct{})
	o := clientOpts(b.Addr(), "d1", "d1", "pw1").SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	d1 := mustConnect(t, o)
	d1.Publish(devices.Topic("d2", devices.ChannelEvent), 1, false, `{"spoofed":true}`)
	select {
	case <-lost: // mochi disconnects an MQTT 3.1.1 client for a refused QoS 1 publish
	case <-time.After(10 * time.Second):
		t.Fatal("d1 was not disconnected after a spoofed QoS 1 publish")
	}
	r := b.rejects.wait(t, "d1")
	if r.reason != devices.ReasonSpoofed {
		t.Errorf("reason %q (%s), want spoofed", r.reason, r.detail)
	}

	// A message published afterwards arrives; the spoofed one, had it been
	// delivered, would have been queued to the hub before it.
	d2 := device(t, b.Addr(), "d2", "pw2")
	publish(t, d2, devices.Topic("d2", devices.ChannelEvent), 1, false, `{"marker":true}`)
	if m := in.next(t); string(m.Payload()) != `{"marker":true}` {
		t.Fatalf("hub got %s %q, want only the marker", m.Topic(), m.Payload())
	}
	if got := b.Stats().PublishesRefused; got != 1 {
		t.Errorf("PublishesRefused = %d, want 1", got)
	}
}

func TestDeviceSubscriptions(t *testing.T) {
	b := startTestBroker(t)
	hub := hubClient(t, b.Addr(), nil, true)
	in := newInbox()
	o := clientOpts(b.Addr(), "d1", "d1", "pw1").SetDefaultPublishHandler(in.handler)
	d1 := mustConnect(t, o)

	codes := subscribe(t, d1, "shouwang/v1/d1/cmd", "shouwang/v1/d2/cmd")
	if codes["shouwang/v1/d1/cmd"] != 1 || codes["shouwang/v1/d2/cmd"] != 0x80 {
		t.Fatalf("SUBACK codes %v: want own cmd granted at QoS 1 and d2's refused (0x80)", codes)
	}
	r := b.rejects.wait(t, "d1")
	if r.reason != devices.ReasonSpoofed {
		t.Errorf("reason %q (%s), want spoofed", r.reason, r.detail)
	}
	publish(t, hub, "shouwang/v1/d2/cmd", 1, false, "for d2")
	publish(t, hub, "shouwang/v1/d1/cmd", 1, false, "for d1")
	if m := in.next(t); m.Topic() != "shouwang/v1/d1/cmd" {
		t.Errorf("d1 got %s %q, want only its own cmd", m.Topic(), m.Payload())
	}
	if got := b.Stats().SubscribesRefused; got != 1 {
		t.Errorf("SubscribesRefused = %d, want 1", got)
	}
}

func TestServiceClientTopics(t *testing.T) {
	b := startTestBroker(t)
	hub := hubClient(t, b.Addr(), nil, true)
	codes := subscribe(t, hub, "shouwang/v1/+/cmd", "shouwang/v1/#", "shouwang/v1/d1/event")
	if codes["shouwang/v1/+/cmd"] != 0x80 || codes["shouwang/v1/#"] != 0x80 || codes["shouwang/v1/d1/event"] != 1 {
		t.Errorf("SUBACK codes %v: want cmd and # refused, a narrower event filter granted", codes)
	}
}
