package mqttc

import (
	"strings"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// NewStore returns the memory store for a paho client with a persistent
// session (CleanSession false): the hub's Client and the device simulator
// use it.
//
// paho's MemoryStore hands out the very packet it keeps, and paho's resume
// on every (re)connect sets the DUP flag on each stored PUBLISH it sends
// again. A Publish made as the connection comes up puts its packet in the
// store and on the way to the socket; when resume finds it there it writes
// DUP while the writer is encoding the same packet — a data race inside paho
// (eclipse-paho/paho.mqtt.golang#703, open in v1.5.1), seen under -race in
// the device simulator, whose devices publish on a timer through broker
// restarts. This store gives out a copy of a stored PUBLISH, so resume marks
// and sends its own copy; the packet being written is never changed.
//
// It also leaves out what paho stores of each QoS 1 message it receives.
// paho puts every inbound QoS 1 PUBLISH in the store until its PUBACK is
// sent, and deletes it then, but never reads it back: its resume discards
// an inbound PUBLISH it finds (a broker resends what was not acknowledged
// itself, with DUP). For a subscriber that takes tens of thousands of
// messages a second that was a locked map insert and delete per message,
// and a warning line formatted per message had the delete not found it;
// here both are skipped. Inbound QoS 2 state (PUBREL) is kept as paho
// keeps it.
func NewStore() paho.Store { return &store{MemoryStore: paho.NewMemoryStore()} }

type store struct {
	*paho.MemoryStore
	// inbound holds the keys of the inbound packets in the store (QoS 2's
	// only), so the delete paho makes for every PUBACK goes to the
	// MemoryStore only when it has the key.
	mu      sync.Mutex
	inbound map[string]bool
}

// inboundPrefix is how paho's keys of inbound packets begin ("i.<id>").
const inboundPrefix = "i."

// Put stores a packet, but not an inbound QoS 1 PUBLISH (see NewStore).
func (s *store) Put(key string, m packets.ControlPacket) {
	if strings.HasPrefix(key, inboundPrefix) {
		if p, ok := m.(*packets.PublishPacket); ok && p.Qos == 1 {
			return
		}
		s.mu.Lock()
		if s.inbound == nil {
			s.inbound = map[string]bool{}
		}
		s.inbound[key] = true
		s.mu.Unlock()
	}
	s.MemoryStore.Put(key, m)
}

// Del deletes a packet; an inbound key only if it was stored.
func (s *store) Del(key string) {
	if strings.HasPrefix(key, inboundPrefix) {
		s.mu.Lock()
		stored := s.inbound[key]
		delete(s.inbound, key)
		s.mu.Unlock()
		if !stored {
			return
		}
	}
	s.MemoryStore.Del(key)
}

// Reset empties the store.
func (s *store) Reset() {
	s.mu.Lock()
	clear(s.inbound)
	s.mu.Unlock()
	s.MemoryStore.Reset()
}

// Get returns the packet stored under key, a PUBLISH as a fresh copy. It
// reads only what nothing writes once the packet is stored: the writer
// sets the stored packet's RemainingLength as it encodes it (the copy's is
// set when it is encoded in turn), and the payload is shared, never written.
func (s *store) Get(key string) packets.ControlPacket {
	p := s.MemoryStore.Get(key)
	pub, ok := p.(*packets.PublishPacket)
	if !ok {
		return p
	}
	cp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	cp.Dup, cp.Qos, cp.Retain = pub.Dup, pub.Qos, pub.Retain
	cp.TopicName, cp.MessageID, cp.Payload = pub.TopicName, pub.MessageID, pub.Payload
	return cp
}
