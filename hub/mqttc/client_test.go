package mqttc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// fakeToken is a paho.Token (and a SUBACK result).
type fakeToken struct {
	done   chan struct{}
	err    error
	result map[string]byte
}

func doneToken(err error, result map[string]byte) *fakeToken {
	t := &fakeToken{done: make(chan struct{}), err: err, result: result}
	close(t.done)
	return t
}

func (t *fakeToken) Wait() bool { <-t.done; return true }
func (t *fakeToken) WaitTimeout(d time.Duration) bool {
	select {
	case <-t.done:
		return true
	case <-time.After(d):
		return false
	}
}
func (t *fakeToken) Done() <-chan struct{}   { return t.done }
func (t *fakeToken) Error() error            { return t.err }
func (t *fakeToken) Result() map[string]byte { return t.result }

// fakeMessage is a paho.Message that counts its acks.
type fakeMessage struct {
	topic         string
	acks          *atomic.Int64
	dup, retained bool
}

func (m *fakeMessage) Duplicate() bool   { return m.dup }
func (m *fakeMessage) Qos() byte         { return 1 }
func (m *fakeMessage) Retained() bool    { return m.retained }
func (m *fakeMessage) Topic() string     { return m.topic }
func (m *fakeMessage) MessageID() uint16 { return 1 }
func (m *fakeMessage) Payload() []byte   { return []byte(m.topic) }
func (m *fakeMessage) Ack()              { m.acks.Add(1) }

// fakePaho stands in for paho's client: Connect "connects" at once (or
// never, if hang), and SUBSCRIBE answers with codes[i] on the i-th call.
type fakePaho struct {
	opts        *paho.ClientOptions
	hang        bool
	codes       []byte
	subscribes  atomic.Int64
	disconnects atomic.Int64
	open        atomic.Bool
	acks        atomic.Int64

	mu  sync.Mutex
	ops []string // "sub a/+", "unsub b/+ c/+", in order
}

func (f *fakePaho) Connect() paho.Token {
	if f.hang {
		f.opts.OnConnectionNotification(nil, paho.ConnectionNotificationFailed{Reason: errors.New("not Authorized")})
		return &fakeToken{done: make(chan struct{})}
	}
	f.open.Store(true)
	go f.opts.OnConnect(nil)
	return doneToken(nil, nil)
}

func (f *fakePaho) Disconnect(uint)        { f.disconnects.Add(1); f.open.Store(false) }
func (f *fakePaho) IsConnectionOpen() bool { return f.open.Load() }
func (f *fakePaho) Publish(string, byte, bool, any) paho.Token {
	return doneToken(nil, nil)
}

func (f *fakePaho) Unsubscribe(topics ...string) paho.Token {
	f.record("unsub " + strings.Join(topics, " "))
	return doneToken(nil, nil)
}

func (f *fakePaho) record(op string) {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	f.mu.Unlock()
}

func (f *fakePaho) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

func (f *fakePaho) SubscribeMultiple(filters map[string]byte, _ paho.MessageHandler) paho.Token {
	keys := slices.Sorted(maps.Keys(filters))
	f.record("sub " + strings.Join(keys, " "))
	n := int(f.subscribes.Add(1)) - 1
	code := byte(1)
	if n < len(f.codes) {
		code = f.codes[n]
	}
	res := map[string]byte{}
	for k := range filters {
		res[k] = code
	}
	return doneToken(nil, res)
}

// deliver hands a message to the client on a goroutine of its own, so a
// test can have more messages offered than the client takes.
func (f *fakePaho) deliver(topic string) {
	go f.opts.DefaultPublishHandler(nil, &fakeMessage{topic: topic, acks: &f.acks})
}

// deliverFlagged is deliver for a message the broker flags as resent
// (DUP) or retained.
func (f *fakePaho) deliverFlagged(topic string, dup, retained bool) {
	go f.opts.DefaultPublishHandler(nil, &fakeMessage{topic: topic, acks: &f.acks, dup: dup, retained: retained})
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newFake(t *testing.T, cfg Config, f *fakePaho) *Client {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = "tcp://127.0.0.1:1883"
	}
	cfg.ClientID = "hub"
	if cfg.Subscriptions == nil {
		cfg.Subscriptions = []string{"a/+"}
	}
	if _, err := New(cfg, discard()); err != nil { // validates and fills defaults
		t.Fatal(err)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	cfg.ConnectTimeout = time.Second
	c := newClient(cfg, discard(), func(o *paho.ClientOptions) pahoClient { f.opts = o; return f })
	t.Cleanup(c.Stop)
	return c
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, d, what, cond)
}

func TestNewValidates(t *testing.T) {
	h := func(*Message) {}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{ClientID: "c", Subscriptions: []string{"a"}, Handler: h}, "URL"},
		{Config{URL: "http://x:1", ClientID: "c", Subscriptions: []string{"a"}, Handler: h}, "URL"},
		{Config{URL: "tcp://x:1", Subscriptions: []string{"a"}, Handler: h}, "ClientID"},
		{Config{URL: "tcp://x:1", ClientID: "c", Subscriptions: []string{""}, Handler: h}, "Subscriptions"},
		{Config{URL: "tcp://x:1", ClientID: "c", Subscriptions: []string{"a"}}, "Handler"},
		{Config{URL: "tcp://x:1", ClientID: "c", Subscriptions: []string{"a"}, Handler: h, MaxInFlight: -1}, "MaxInFlight"},
		{Config{URL: "tcp://x:1", ClientID: "c", Subscriptions: []string{"a"}, Handler: h, Unsubscribe: []string{""}}, "Unsubscribe"},
		{Config{URL: "tcp://x:1", ClientID: "c", Optional: []string{"$SYS/x"}}, "Handler"},
		{Config{URL: "tcp://x:1", ClientID: "c", Optional: []string{""}, Handler: h}, "Optional"},
		{Config{URL: "tcp://x:1", ClientID: "c", Subscriptions: []string{"a"}, Handler: h, Unsubscribe: []string{"a"}}, "Unsubscribe"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg, discard())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
}

func TestHandlerConcurrencyIsBounded(t *testing.T) {
	var active, peak, calls atomic.Int64
	release := make(chan struct{})
	f := &fakePaho{}
	c := newFake(t, Config{MaxInFlight: 3, Handler: func(m *Message) {
		calls.Add(1)
		n := active.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		active.Add(-1)
		m.Ack()
	}}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		f.deliver(fmt.Sprint("a/", i))
	}
	waitFor(t, "all 20 messages to reach the client", 10*time.Second, func() bool { return c.received.Load() == 20 })
	waitFor(t, "3 handlers to run", 10*time.Second, func() bool { return active.Load() == 3 })
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d handler calls started with MaxInFlight 3", n)
	}
	close(release)
	waitFor(t, "every message to be acknowledged", 10*time.Second, func() bool { return f.acks.Load() == 20 })
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}

func TestStopWaitsForRunningHandlersAndLeavesTheRestUnacked(t *testing.T) {
	var calls atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	f := &fakePaho{}
	c := newFake(t, Config{MaxInFlight: 1, Handler: func(m *Message) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		m.Ack()
	}}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		f.deliver(fmt.Sprint("a/", i))
	}
	<-started
	waitFor(t, "the other messages to wait for a slot", 10*time.Second, func() bool { return c.received.Load() == 3 })
	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	waitFor(t, "Stop to begin", 10*time.Second, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.stopping })
	select {
	case <-stopped:
		t.Fatal("Stop returned while a handler was running")
	default:
	}
	if f.disconnects.Load() != 0 {
		t.Fatal("disconnected while a handler was running")
	}
	close(release)
	<-stopped
	if n := calls.Load(); n != 1 {
		t.Errorf("%d handler calls, want 1: waiting messages must not start after Stop", n)
	}
	if n := f.acks.Load(); n != 1 {
		t.Errorf("%d acks, want 1", n)
	}
	if n := f.disconnects.Load(); n != 1 {
		t.Errorf("%d disconnects, want 1", n)
	}
	c.Stop() // idempotent
	if n := f.disconnects.Load(); n != 1 {
		t.Errorf("second Stop disconnected again")
	}
}

func TestStartReportsTheLastConnectError(t *testing.T) {
	f := &fakePaho{hang: true}
	c := newFake(t, Config{Handler: func(m *Message) { m.Ack() }}, f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not Authorized") {
		t.Errorf("Start = %v, want the deadline and the last error", err)
	}
	if f.disconnects.Load() == 0 {
		t.Error("paho's connect retry was not stopped")
	}
}

func TestRefusedSubscriptionIsRetried(t *testing.T) {
	f := &fakePaho{codes: []byte{0x80}}
	c := newFake(t, Config{Handler: func(m *Message) { m.Ack() }}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.subscribes.Load(); n != 2 {
		t.Errorf("%d SUBSCRIBEs, want 2 (refused, then granted)", n)
	}
	if !strings.Contains(c.lastErrText(), "refused") {
		t.Errorf("last error %q, want the refusal", c.lastErrText())
	}
}

func TestPanickingHandlerDoesNotAckOrStopTheClient(t *testing.T) {
	f := &fakePaho{}
	var mu sync.Mutex
	var handled []string
	c := newFake(t, Config{Handler: func(m *Message) {
		if m.Topic == "a/bad" {
			panic("boom")
		}
		mu.Lock()
		handled = append(handled, m.Topic)
		mu.Unlock()
		m.Ack()
	}}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.deliver("a/bad")
	waitFor(t, "the bad message", 10*time.Second, func() bool { return c.received.Load() == 1 })
	f.deliver("a/good")
	waitFor(t, "the good message to be acknowledged", 10*time.Second, func() bool { return f.acks.Load() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 || handled[0] != "a/good" {
		t.Errorf("handled %v, want [a/good]", handled)
	}
}

// TestUnsubscribeBeforeSubscribeOnEveryConnect checks the order a session
// whose filters moved elsewhere needs: the old filters are removed before
// the new ones are made, on the first connect and on every reconnect.
func TestUnsubscribeBeforeSubscribeOnEveryConnect(t *testing.T) {
	f := &fakePaho{}
	c := newFake(t, Config{Subscriptions: []string{"t/+"}, Unsubscribe: []string{"e/+", "s/+"},
		Handler: func(m *Message) { m.Ack() }}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.opts.OnConnect(nil) // a reconnect
	want := []string{"unsub e/+ s/+", "sub t/+", "unsub e/+ s/+", "sub t/+"}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("operations %q, want %q", got, want)
	}
}

func TestStatsCountRedeliveredAndRetained(t *testing.T) {
	f := &fakePaho{}
	c := newFake(t, Config{Handler: func(m *Message) { m.Ack() }}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.deliverFlagged("a/1", true, false)
	f.deliverFlagged("a/2", false, true)
	f.deliverFlagged("a/3", false, false)
	waitFor(t, "three acks", 10*time.Second, func() bool { return f.acks.Load() == 3 })
	if got, want := c.Stats(), (Stats{Received: 3, Redelivered: 1, Retained: 1}); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// TestOptionalSubscriptionRefusedIsNotRetried: a refused optional filter
// does not hold up Start or the required subscriptions, and is not
// retried on the same connection.
func TestOptionalSubscriptionRefusedIsNotRetried(t *testing.T) {
	f := &fakePaho{codes: []byte{1, 0x80}} // required granted, optional refused
	c := newFake(t, Config{Optional: []string{"$SYS/broker/store/messages/count"}, Handler: func(m *Message) { m.Ack() }}, f)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the optional SUBSCRIBE", func() bool { return f.subscribes.Load() == 2 })
	want := []string{"sub a/+", "sub $SYS/broker/store/messages/count"}
	if got := f.recorded(); !slices.Equal(got, want) {
		t.Errorf("operations %q, want %q", got, want)
	}
}
