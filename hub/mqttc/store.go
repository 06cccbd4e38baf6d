package mqttc

import (
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
func NewStore() paho.Store { return &store{paho.NewMemoryStore()} }

type store struct{ *paho.MemoryStore }

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
