package mqttc

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestStoreResumeAndPublish: a QoS 1 publish made just as a persistent
// session's connection comes up is both on its way to the socket and in
// the store that paho's resume sends again (with DUP set). With paho's own
// MemoryStore, resume writes DUP into the packet the writer is encoding,
// which -race reports (eclipse-paho/paho.mqtt.golang#703); NewStore gives
// resume a copy. The hook below makes the publish at the moment resume
// reads the store's keys, on each of several connections to a real broker,
// and each message must be acknowledged.
func TestStoreResumeAndPublish(t *testing.T) {
	e := embedded(t)
	for i := range 10 {
		h := &resumeHook{Store: NewStore(), put: make(chan struct{}, 1), published: make(chan paho.Token, 1)}
		o := paho.NewClientOptions().AddBroker(e.url).SetClientID(fmt.Sprintf("resume-%d", i)).
			SetUsername(e.hubUser).SetPassword(e.hubPass).SetProtocolVersion(4).
			SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetStore(h)
		h.c = paho.NewClient(o)
		if tok := h.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %d: %v", i, tok.Error())
		}
		var tok paho.Token
		select {
		case tok = <-h.published:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: resume never read the store while connected", i)
		}
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connection %d: publish: %v", i, tok.Error())
		}
		// Both sends (the publish's and resume's) are acknowledged and
		// leave the store.
		testenv.Eventually(t, 10*time.Second, "the store empty", func() bool { return len(h.Store.All()) == 0 })
		h.c.Disconnect(250)
	}
}

// resumeHook is a paho.Store that publishes, once, when the store's keys are
// read while the client is connected — as resume does right after the
// connection comes up — and returns the keys once that publish is stored.
type resumeHook struct {
	paho.Store
	c         paho.Client // set before Connect
	once      sync.Once
	put       chan struct{}
	published chan paho.Token
}

func (h *resumeHook) Put(key string, m packets.ControlPacket) {
	h.Store.Put(key, m)
	if _, ok := m.(*packets.PublishPacket); ok {
		select {
		case h.put <- struct{}{}:
		default:
		}
	}
}

func (h *resumeHook) All() []string {
	if h.c.IsConnectionOpen() {
		h.once.Do(func() {
			go func() {
				h.published <- h.c.Publish(devices.Topic("d1", devices.ChannelCmd), 1, false, `{"type":"ping"}`)
			}()
			select {
			case <-h.put:
			case <-time.After(10 * time.Second): // the test fails waiting for published
			}
		})
	}
	return h.Store.All()
}

// TestStoreSkipsInboundQoS1: paho stores every QoS 1 PUBLISH it receives
// until its PUBACK goes out and never reads it back; NewStore leaves it
// out (and the delete paho makes for the PUBACK finds nothing to do),
// while inbound QoS 2 state and outbound packets are kept as before.
func TestStoreSkipsInboundQoS1(t *testing.T) {
	s := NewStore()
	s.Open()
	defer s.Close()
	pub := func(qos byte, id uint16) *packets.PublishPacket {
		p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		p.Qos, p.MessageID, p.TopicName, p.Payload = qos, id, "t", []byte("x")
		return p
	}
	s.Put("i.1", pub(1, 1))
	if got := s.All(); len(got) != 0 {
		t.Fatalf("after an inbound QoS 1 publish the store holds %v, want nothing", got)
	}
	s.Del("i.1") // the PUBACK's delete
	s.Put("i.2", pub(2, 2))
	s.Put("o.3", pub(1, 3))
	if got := s.All(); len(got) != 2 {
		t.Fatalf("store holds %v, want the inbound QoS 2 publish and the outbound one", got)
	}
	if p, ok := s.Get("i.2").(*packets.PublishPacket); !ok || p.MessageID != 2 || p.Qos != 2 {
		t.Fatalf("Get(i.2) = %v, want the QoS 2 publish", s.Get("i.2"))
	}
	s.Del("i.2")
	s.Del("o.3")
	if got := s.All(); len(got) != 0 {
		t.Fatalf("after deleting both the store holds %v", got)
	}
	s.Put("i.4", pub(2, 4))
	s.Reset()
	s.Del("i.4")
	if got := s.All(); len(got) != 0 {
		t.Fatalf("after Reset the store holds %v", got)
	}
}
