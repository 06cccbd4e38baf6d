package broker

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.etcd.io/bbolt"
)

// The mochi hook methods of store: what is written when, and how it is read
// back on start.

// OnSessionEstablish stores a persistent client before mochi adds it to the
// client list, so no message can be stored for a session whose record is
// not yet durable (mochi's restore skips messages of unknown clients).
func (s *store) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	if persistent(cl) {
		s.put(bucketClients, cl.ID, clientRecord(cl), true)
	}
}

// OnWillSent updates the client record, whose will has now been used.
func (s *store) OnWillSent(cl *mqtt.Client, _ packets.Packet) {
	if persistent(cl) {
		s.put(bucketClients, cl.ID, clientRecord(cl), false)
	}
}

// OnDisconnect forgets a session that ends with its connection.
func (s *store) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	if expire && cl.StopCause() != packets.ErrSessionTakenOver {
		s.del(bucketClients, cl.ID, false)
	}
}

// OnClientExpired forgets an expired session with its subscriptions and
// messages (mochi's bolt hook leaves the last two behind).
func (s *store) OnClientExpired(cl *mqtt.Client) {
	s.mu.Lock()
	for k := range s.inflight {
		if strings.HasPrefix(k, sep(cl.ID)) {
			delete(s.inflight, k)
		}
	}
	s.mu.Unlock()
	s.del(bucketClients, cl.ID, false)
	s.del(bucketSubs, sep(cl.ID), true)
	s.del(bucketInflight, sep(cl.ID), true)
}

// OnSubscribed stores the granted filters of a persistent session; refused
// ones (return code 0x80 and up) are not stored, so a restart cannot turn
// them into subscriptions.
func (s *store) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	if !persistent(cl) {
		return
	}
	for i, f := range pk.Filters {
		if i >= len(codes) || codes[i] >= packets.ErrUnspecifiedError.Code {
			continue
		}
		s.put(bucketSubs, sep(cl.ID)+f.Filter, &storage.Subscription{
			ID: cl.ID + ":" + f.Filter, T: storage.SubscriptionKey, Client: cl.ID,
			Qos: codes[i], Filter: f.Filter, Identifier: f.Identifier, NoLocal: f.NoLocal,
			RetainHandling: f.RetainHandling, RetainAsPublished: f.RetainAsPublished,
		}, true)
	}
}

// OnUnsubscribed removes filters.
func (s *store) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	for _, f := range pk.Filters {
		s.del(bucketSubs, sep(cl.ID)+f.Filter, false)
	}
}

// OnRetainMessage stores or (r == -1) deletes a retained message.
func (s *store) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	if r == -1 {
		s.del(bucketRetained, pk.TopicName, false)
		return
	}
	m := messageRecord(pk)
	m.ID, m.T, m.Client = storage.RetainedKey+"_"+pk.TopicName, storage.RetainedKey, cl.ID
	s.put(bucketRetained, pk.TopicName, m, false)
}

// OnRetainedExpired deletes an expired retained message.
func (s *store) OnRetainedExpired(topic string) {
	s.del(bucketRetained, topic, false)
}

// OnQosPublish stores a message mochi holds for a client until the client
// acknowledges it, and returns once it is committed.
func (s *store) OnQosPublish(cl *mqtt.Client, pk packets.Packet, sent int64, _ int) {
	if !persistent(cl) {
		return // lost with the connection anyway
	}
	key := inflightKey(cl.ID, pk.PacketID)
	s.mu.Lock()
	if pk.FixedHeader.Type == packets.Puback {
		// The ack mochi keeps while it answers an incoming QoS 1 publish;
		// it is completed within the same call and never needs restoring.
		s.acks[key] = struct{}{}
		s.mu.Unlock()
		return
	}
	fp := fingerprint(pk)
	if prev, ok := s.inflight[key]; ok && prev.fp == fp {
		s.mu.Unlock() // a resend of what is stored
		return
	}
	if cl.IsTakenOver() {
		// mochi routes a message by client ID, and a new connection taking
		// over the session is in its client list only after it has copied
		// the old connection's messages: what is offered to the old one
		// from then on is in neither connection's queue once it closes,
		// and its packet ID, picked on the old connection, may name a
		// message of the new one under the same key. Not stored: the
		// publisher is not acknowledged and sends it again.
		s.mu.Unlock()
		s.strays.Add(1)
		return
	}
	// A stamp that grows even when the clock steps back, and after a
	// restart stays past every stamp restored.
	s.lastOrder = max(s.lastOrder+1, time.Now().UnixNano())
	s.inflight[key] = stored{fp: fp, order: s.lastOrder}
	m := messageRecord(pk)
	m.ID, m.T, m.Client, m.Sent = storage.InflightKey+"_"+key, storage.InflightKey, cl.ID, s.lastOrder
	val, err := m.MarshalBinary()
	if err != nil {
		delete(s.inflight, key)
		s.mu.Unlock()
		s.failures.Add(1)
		s.log.Error("encode inflight message", "client", cl.ID, "err", err)
		return
	}
	s.send(storeOp{bucket: bucketInflight, key: []byte(key), val: val}, true)
}

// OnPacketSent puts a resumed session's messages back in the order they were
// first sent, once mochi has told the client the session is present and
// before it resends them: the CONNACK is written on the connection's own
// goroutine, which resends next and has read nothing from the client yet,
// so no acknowledgement can change the session's messages meanwhile. A
// vendor device's states must reach the hub in order: a gas alarm
// redelivered before the all-clear that preceded it would end as a false
// clear and a second alarm.
func (s *store) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type == packets.Connack && pk.SessionPresent && persistent(cl) {
		s.resendInOrder(cl)
	}
}

// resendInOrder renumbers the Created times of cl's inflight messages so
// that mochi's sort (by the low 16 bits of Created) yields them in the order
// they were stored. Created is used by nothing else here: the broker sets
// no maximum message expiry (capabilities), and an MQTT 5 message's own
// expiry is kept apart from it.
func (s *store) resendInOrder(cl *mqtt.Client) {
	pks := cl.State.Inflight.GetAll(false)
	if len(pks) < 2 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	order := func(pk packets.Packet) int64 {
		if st, ok := s.inflight[inflightKey(cl.ID, pk.PacketID)]; ok && pk.FixedHeader.Type == packets.Publish {
			return st.order
		}
		return math.MaxInt64 // not stored here: after those that are
	}
	slices.SortStableFunc(pks, func(a, b packets.Packet) int {
		return cmp.Or(cmp.Compare(order(a), order(b)), cmp.Compare(a.Created, b.Created), cmp.Compare(a.PacketID, b.PacketID))
	})
	base := pks[0].Created &^ 0xffff
	for _, pk := range pks {
		base = min(base, pk.Created&^0xffff)
	}
	for i, pk := range pks {
		pk.Created = base + int64(i)
		cl.State.Inflight.Set(pk)
		key := inflightKey(cl.ID, pk.PacketID)
		if st, ok := s.inflight[key]; ok {
			st.fp = fingerprint(pk) // so the resend is known as one
			s.inflight[key] = st
		}
	}
}

// OnQosComplete removes an acknowledged message.
func (s *store) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	key := inflightKey(cl.ID, pk.PacketID)
	s.mu.Lock()
	if _, ok := s.acks[key]; ok {
		delete(s.acks, key)
		s.mu.Unlock()
		return
	}
	if _, ok := s.inflight[key]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.inflight, key)
	s.send(storeOp{bucket: bucketInflight, key: []byte(key)}, false)
}

// OnQosDropped removes a message mochi gave up on. When a session is taken
// over by a new connection, mochi moves the old client's messages to the
// new one and then "drops" them from the old one: those stay stored.
func (s *store) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	if cl.IsTakenOver() {
		return
	}
	s.OnQosComplete(cl, pk)
}

// StoredClients returns the stored sessions.
func (s *store) StoredClients() ([]storage.Client, error) {
	var out []storage.Client
	err := s.each(bucketClients, func(_, v []byte) error {
		var c storage.Client
		if err := c.UnmarshalBinary(v); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// StoredSubscriptions returns the stored subscriptions.
func (s *store) StoredSubscriptions() ([]storage.Subscription, error) {
	var out []storage.Subscription
	err := s.each(bucketSubs, func(_, v []byte) error {
		var sub storage.Subscription
		if err := sub.UnmarshalBinary(v); err != nil {
			return err
		}
		out = append(out, sub)
		return nil
	})
	return out, err
}

// StoredInflightMessages returns the stored unacknowledged messages and
// remembers their fingerprints.
func (s *store) StoredInflightMessages() ([]storage.Message, error) {
	var out []storage.Message
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.each(bucketInflight, func(k, v []byte) error {
		var m storage.Message
		if err := m.UnmarshalBinary(v); err != nil {
			return err
		}
		out = append(out, m)
		// Sent is the order stamp (records written before stamps hold
		// the time in seconds there, which still orders them first).
		s.inflight[string(k)] = stored{fp: fingerprint(m.ToPacket()), order: m.Sent}
		s.lastOrder = max(s.lastOrder, m.Sent)
		return nil
	})
	return out, err
}

// StoredRetainedMessages returns the stored retained messages, deleting
// instead those dropRetained refuses (kept by a broker from before that
// rule, they would be replayed to every new subscription).
func (s *store) StoredRetainedMessages() ([]storage.Message, error) {
	var out []storage.Message
	var drop []string
	err := s.each(bucketRetained, func(k, v []byte) error {
		var m storage.Message
		if err := m.UnmarshalBinary(v); err != nil {
			return err
		}
		if s.dropRetained != nil && s.dropRetained(m.TopicName) {
			drop = append(drop, string(k))
			return nil
		}
		out = append(out, m)
		return nil
	})
	for _, k := range drop {
		s.del(bucketRetained, k, false)
	}
	if len(drop) > 0 {
		s.log.Warn("deleted retained messages on topics that may not be retained", "count", len(drop), "first", clip(drop[0]))
	}
	return out, err
}

func (s *store) each(bucket []byte, fn func(k, v []byte) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(fn)
	})
}

// stored is the number of unacknowledged messages on disk.
func (s *store) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight)
}

func clientRecord(cl *mqtt.Client) *storage.Client {
	props := cl.Properties.Props.Copy(false)
	return &storage.Client{
		ID: cl.ID, T: storage.ClientKey, Remote: cl.Net.Remote, Listener: cl.Net.Listener,
		Username: bytes.Clone(cl.Properties.Username), Clean: cl.Properties.Clean,
		ProtocolVersion: cl.Properties.ProtocolVersion,
		Properties: storage.ClientProperties{
			SessionExpiryInterval: props.SessionExpiryInterval, SessionExpiryIntervalFlag: props.SessionExpiryIntervalFlag,
			AuthenticationMethod: props.AuthenticationMethod, AuthenticationData: props.AuthenticationData,
			RequestProblemInfo: props.RequestProblemInfo, RequestProblemInfoFlag: props.RequestProblemInfoFlag,
			RequestResponseInfo: props.RequestResponseInfo, ReceiveMaximum: props.ReceiveMaximum,
			TopicAliasMaximum: props.TopicAliasMaximum, User: props.User, MaximumPacketSize: props.MaximumPacketSize,
		},
		Will: storage.ClientWill(cl.Properties.Will),
	}
}

func messageRecord(pk packets.Packet) *storage.Message {
	props := pk.Properties.Copy(false)
	return &storage.Message{
		FixedHeader: pk.FixedHeader, TopicName: pk.TopicName, Payload: pk.Payload,
		Created: pk.Created, Origin: pk.Origin, PacketID: pk.PacketID,
		Properties: storage.MessageProperties{
			PayloadFormat: props.PayloadFormat, PayloadFormatFlag: props.PayloadFormatFlag,
			MessageExpiryInterval: props.MessageExpiryInterval, ContentType: props.ContentType,
			ResponseTopic: props.ResponseTopic, CorrelationData: props.CorrelationData,
			SubscriptionIdentifier: props.SubscriptionIdentifier, TopicAlias: props.TopicAlias,
			User: props.User,
		},
	}
}
