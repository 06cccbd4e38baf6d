package broker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shouwang-hub/shouwang/devices"
)

// restart closes b and starts a new broker on the same data directory.
func restart(t *testing.T, b *testBroker) *testBroker {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	nb := newTestBroker(t, b.dir)
	if err := nb.Start(); err != nil {
		t.Fatalf("Start after restart: %v", err)
	}
	return nb
}

// receiveAll waits for n distinct event payloads and returns them sorted.
// Other messages (such as a device's will, sent when a broker stops) are
// skipped.
func receiveAll(t *testing.T, in *inbox, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < n {
		if m := in.next(t); strings.HasSuffix(m.Topic(), "/event") {
			seen[string(m.Payload())] = true
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
}

func payloads(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf(`{"seq":%03d}`, i))
	}
	slices.Sort(out)
	return out
}

func TestRestartKeepsHubSessionAndQueuedMessages(t *testing.T) {
	b := startTestBroker(t)
	hub := hubClient(t, b.Addr(), nil, true)
	subscribe(t, hub, hubFilters...)
	hub.Disconnect(250)

	// Queued while the hub is away: each PUBACK means "stored".
	d1 := device(t, b.Addr(), "d1", "pw1")
	for _, p := range payloads(1, 50) {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, p)
	}
	if got := b.Stats().Stored; got != 50 {
		t.Errorf("Stats().Stored = %d, want 50", got)
	}

	b = restart(t, b)
	in := newInbox()
	hubClient(t, b.Addr(), in, true) // no SUBSCRIBE: the session must have kept them
	if got, want := receiveAll(t, in, 50), payloads(1, 50); !slices.Equal(got, want) {
		t.Fatalf("after restart the hub got %v, want %v", got, want)
	}
	// The restored subscriptions deliver new messages too.
	d1 = device(t, b.Addr(), "d1", "pw1")
	publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, "after restart")
	for m := in.next(t); string(m.Payload()) != "after restart"; m = in.next(t) {
		// redeliveries of the first 50 may still be arriving
	}
	eventually(t, "acknowledged messages to leave the store", func() bool { return b.Stats().Stored == 0 })
}

func TestRestartRedeliversUnacknowledged(t *testing.T) {
	b := startTestBroker(t)
	in := newInbox()
	hub := hubClient(t, b.Addr(), in, false) // connected, but never acknowledges
	subscribe(t, hub, hubFilters...)
	d1 := device(t, b.Addr(), "d1", "pw1")
	for _, p := range payloads(1, 20) {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, p)
	}
	receiveAll(t, in, 20) // delivered, not acknowledged
	hub.Disconnect(250)

	b = restart(t, b)
	in = newInbox()
	hubClient(t, b.Addr(), in, true)
	if got, want := receiveAll(t, in, 20), payloads(1, 20); !slices.Equal(got, want) {
		t.Fatalf("after restart the hub got %v, want %v", got, want)
	}
}

// orderSpy records when the hub's copy of a message is stored and when the
// device is acknowledged. It is added after the store hook, so its
// OnQosPublish runs after the store has committed.
type orderSpy struct {
	mqtt.HookBase
	mu     sync.Mutex
	events []string
}

func (s *orderSpy) ID() string { return "order-spy" }
func (s *orderSpy) Provides(b byte) bool {
	return b == mqtt.OnQosPublish || b == mqtt.OnPacketSent
}
func (s *orderSpy) OnQosPublish(cl *mqtt.Client, pk packets.Packet, _ int64, _ int) {
	if cl.ID == hubID && pk.FixedHeader.Type == packets.Publish {
		s.add("stored " + string(pk.Payload))
	}
}
func (s *orderSpy) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if cl.ID == "d1" && pk.FixedHeader.Type == packets.Puback {
		s.add(fmt.Sprintf("puback %d", pk.PacketID))
	}
}
func (s *orderSpy) add(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func TestPubackOnlyAfterStoredForTheHub(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	spy := &orderSpy{}
	if err := b.server.AddHook(spy, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	hub := hubClient(t, b.Addr(), nil, true)
	subscribe(t, hub, hubFilters...)
	hub.Disconnect(250)
	d1 := device(t, b.Addr(), "d1", "pw1")
	for i := range 3 {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, fmt.Sprint(i))
	}
	eventually(t, "the last PUBACK to be recorded", func() bool {
		spy.mu.Lock()
		defer spy.mu.Unlock()
		return len(spy.events) >= 6
	})
	spy.mu.Lock()
	defer spy.mu.Unlock()
	want := []string{"stored 0", "puback 1", "stored 1", "puback 2", "stored 2", "puback 3"}
	if !slices.Equal(spy.events, want) {
		t.Errorf("events %q, want %q", spy.events, want)
	}
}

func TestHubPublishDoesNotDropItsUnackedMessages(t *testing.T) {
	b := startTestBroker(t)
	in := newInbox()
	hub := hubClient(t, b.Addr(), in, false)
	subscribe(t, hub, hubFilters...)
	d1 := device(t, b.Addr(), "d1", "pw1")
	for _, p := range payloads(1, 5) {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, p)
	}
	receiveAll(t, in, 5) // broker packet IDs 1-5, unacknowledged
	for range 3 {        // the hub's own packet IDs start low too and collide
		publish(t, hub, devices.Topic("d1", devices.ChannelCmd), 1, false, "ack")
	}
	// mochi writes the PUBACK before it finishes with the publish (and
	// the policy puts the shadowed message back): a packet the hub sends
	// next is read only once that is done, so its answer is the barrier.
	subscribe(t, hub, devices.Topic("d1", devices.ChannelCmd))
	cl, ok := b.server.Clients.Get(hubID)
	if !ok {
		t.Fatal("hub session not found")
	}
	if n := cl.State.Inflight.Len(); n != 5 {
		t.Fatalf("hub has %d unacknowledged messages after publishing, want 5", n)
	}
	hub.Disconnect(250)
	in = newInbox()
	hubClient(t, b.Addr(), in, true)
	if got, want := receiveAll(t, in, 5), payloads(1, 5); !slices.Equal(got, want) {
		t.Fatalf("redelivered %v, want %v", got, want)
	}
}

func TestFullHubBacklogRefusesDevicePublishes(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	b.server.Options.Capabilities.MaximumInflight = backlogMargin + 3 // room for 3
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	hub := hubClient(t, b.Addr(), nil, true)
	subscribe(t, hub, hubFilters...)
	hub.Disconnect(250)
	d1 := device(t, b.Addr(), "d1", "pw1")
	for _, p := range payloads(1, 3) {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, p)
	}
	tok := d1.Publish(devices.Topic("d1", devices.ChannelEvent), 1, false, "one too many")
	if tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
		t.Fatal("the 4th publish was acknowledged with the hub's backlog full")
	}
	eventually(t, "the refusal to be counted", func() bool { return b.Stats().BacklogRefused == 1 })

	in := newInbox()
	hubClient(t, b.Addr(), in, true)
	if got, want := receiveAll(t, in, 3), payloads(1, 3); !slices.Equal(got, want) {
		t.Fatalf("hub got %v, want %v", got, want)
	}
}

// takeoverSpy has a device publish while the hub's session is being taken
// over: mochi calls OnQosDropped for the old connection's messages after
// it has copied them to the new connection and before the new connection
// is in the client list, so a publish now is routed to the old one.
type takeoverSpy struct {
	mqtt.HookBase
	once    sync.Once
	publish func()
}

func (s *takeoverSpy) ID() string           { return "takeover-spy" }
func (s *takeoverSpy) Provides(b byte) bool { return b == mqtt.OnQosDropped }
func (s *takeoverSpy) OnQosDropped(cl *mqtt.Client, _ packets.Packet) {
	if cl.ID == hubID && cl.IsTakenOver() {
		s.once.Do(s.publish)
	}
}

// TestPublishDuringHubTakeover: a device publish that reaches the hub's
// session while a new connection takes it over is either delivered on the
// new connection or not acknowledged (so the device sends it again). mochi
// stored such a message for the old connection only and acknowledged it:
// the hub never received it (TestHubKilledMidStream/embedded lost readings
// this way when the hub came back after a kill while devices published).
func TestPublishDuringHubTakeover(t *testing.T) {
	b := newTestBroker(t, t.TempDir())
	spy := &takeoverSpy{}
	if err := b.server.AddHook(spy, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	hub := hubClient(t, b.Addr(), nil, true)
	subscribe(t, hub, hubFilters...)
	hub.Disconnect(250)
	d1 := device(t, b.Addr(), "d1", "pw1")
	topic := devices.Topic("d1", devices.ChannelEvent)
	publish(t, d1, topic, 1, false, "before") // the session now holds a message

	var acked atomic.Bool
	spy.publish = func() {
		tok := d1.Publish(topic, 1, false, "during")
		if !tok.WaitTimeout(5 * time.Second) {
			t.Error("the publish during the takeover was neither acknowledged nor refused")
			return
		}
		acked.Store(tok.Error() == nil)
	}
	in := newInbox()
	hubClient(t, b.Addr(), in, true) // takes the session over
	if !acked.Load() {
		// Refused: the device was disconnected, and sends it again.
		d1 = device(t, b.Addr(), "d1", "pw1")
		publish(t, d1, topic, 1, false, "during")
	}
	got := map[string]bool{}
	for !got["before"] || !got["during"] {
		select {
		case m := <-in.ch:
			got[string(m.Payload())] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("the hub got %v, want before and during (the publish during the takeover was acknowledged: %v)",
				slices.Sorted(maps.Keys(got)), acked.Load())
		}
	}
}

// TestRedeliveryKeepsTheOrder: messages the hub has not acknowledged come
// again in the order they were first sent (MQTT 3.1.1 4.6), whether the
// hub's session resumes on the running broker or after a restart. mochi
// alone resends them sorted by the second they were created, in any order
// within one: a vendor device's gas alarm could then come again before the
// all-clear that preceded it.
func TestRedeliveryKeepsTheOrder(t *testing.T) {
	const n = 40
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	// inOrder connects the hub with handlers called in arrival order; the
	// function returned waits for the first n event payloads it gets.
	inOrder := func(addr string, ack bool) (paho.Client, func() []string) {
		in := newInbox()
		o := clientOpts(addr, hubID, svcUser, svcPass).SetCleanSession(false).
			SetAutoAckDisabled(!ack).SetOrderMatters(true).SetDefaultPublishHandler(in.handler)
		c := mustConnect(t, o)
		return c, func() []string {
			var got []string
			for len(got) < n {
				if m := in.next(t); strings.HasSuffix(m.Topic(), "/event") {
					got = append(got, string(m.Payload()))
				}
			}
			return got
		}
	}
	b := startTestBroker(t)
	hub := hubClient(t, b.Addr(), nil, true)
	subscribe(t, hub, hubFilters...)
	hub.Disconnect(250)
	hub, first := inOrder(b.Addr(), false) // delivered, not acknowledged
	// mochi resends a session's messages after its CONNACK: one published
	// in between would come twice (QoS 1 allows it). The SUBACK is sent
	// once the connection reads, after the resend.
	subscribe(t, hub, hubFilters...)
	d1 := device(t, b.Addr(), "d1", "pw1")
	for _, p := range want {
		publish(t, d1, devices.Topic("d1", devices.ChannelEvent), 1, false, p)
	}
	if got := first(); !slices.Equal(got, want) {
		t.Fatalf("first delivery %v, want %v", got, want)
	}
	hub.Disconnect(250)

	hub, again := inOrder(b.Addr(), false) // the session resumes on the running broker
	if got := again(); !slices.Equal(got, want) {
		t.Errorf("redelivered on resuming %v, want %v", got, want)
	}
	hub.Disconnect(250)

	b = restart(t, b)
	_, again = inOrder(b.Addr(), true) // and after a restart
	if got := again(); !slices.Equal(got, want) {
		t.Errorf("redelivered after a restart %v, want %v", got, want)
	}
}
