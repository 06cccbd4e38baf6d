package mqttc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// publishBytes encodes a PUBLISH as a broker sends it.
func publishBytes(t *testing.T, topic string, qos byte, id uint16, dup, retain bool, payload string) []byte {
	t.Helper()
	p := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	p.TopicName, p.Qos, p.MessageID, p.Dup, p.Retain, p.Payload = topic, qos, id, dup, retain, []byte(payload)
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The connection takes the QoS 1 PUBLISHes for the Client and gives paho
// every other packet whole, in order.
func TestInboundTakesQoS1PublishesAndForwardsTheRest(t *testing.T) {
	raw, peer := tcpPair(t)
	var got []inboundPublish
	b := newBatchConn(raw, 5*time.Second, connHooks{publish: func(_ *batchConn, p inboundPublish) error {
		got = append(got, p)
		return nil
	}})
	defer b.Close()
	long := strings.Repeat("x", 300) // a two-byte remaining length
	var stream bytes.Buffer
	stream.Write([]byte{0x20, 2, 0, 0}) // CONNACK
	stream.Write(publishBytes(t, "shouwang/v1/d1/event", 1, 0x0102, true, false, `{"a":1}`))
	stream.Write([]byte{0xd0, 0}) // PINGRESP
	stream.Write(publishBytes(t, "$SYS/broker/x", 0, 0, false, true, "7"))
	stream.Write(publishBytes(t, "shouwang/v1/d2/telemetry", 1, 0xfffe, false, true, long))
	stream.Write([]byte{0x90, 3, 0, 9, 1}) // SUBACK
	go func() { peer.Write(stream.Bytes()); peer.Close() }()

	var paho []string
	for {
		cp, err := packets.ReadPacket(b)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("paho's read: %v", err)
			}
			break
		}
		s := fmt.Sprintf("%T", cp)
		if p, ok := cp.(*packets.PublishPacket); ok {
			s += fmt.Sprintf(" %s q%d %q", p.TopicName, p.Qos, p.Payload)
		}
		paho = append(paho, s)
	}
	wantPaho := []string{"*packets.ConnackPacket", "*packets.PingrespPacket",
		`*packets.PublishPacket $SYS/broker/x q0 "7"`, "*packets.SubackPacket"}
	if fmt.Sprint(paho) != fmt.Sprint(wantPaho) {
		t.Errorf("paho read %q, want %q", paho, wantPaho)
	}
	want := []inboundPublish{
		{topic: "shouwang/v1/d1/event", payload: []byte(`{"a":1}`), id: 0x0102, dup: true},
		{topic: "shouwang/v1/d2/telemetry", payload: []byte(long), id: 0xfffe, retained: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the Client took %+v, want %+v", got, want)
	}
}

// A packet the connection cannot read is an error for paho's reader,
// which drops the connection; nothing is handed on, and the refusal is
// reported to the malformed hook, once. A connection that ends inside a
// packet is not a malformed packet.
func TestInboundRefusesAMalformedPublish(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		bytes        []byte
		refused      bool
	}{
		{"topic past the end", "PUBLISH of 6 bytes with a topic of 10", []byte{0x32, 6, 0, 10, 'a', 'b', 0, 1}, true},
		{"no room for the packet ID", "PUBLISH of 3 bytes with a topic of 1", []byte{0x32, 3, 0, 1, 'a'}, true},
		{"too short for a topic length", "PUBLISH of 1 bytes", []byte{0x3a, 1, 0}, true},
		{"remaining length of 5 bytes", "remaining length longer than 4 bytes", []byte{0x32, 0x80, 0x80, 0x80, 0x80, 0x01}, true},
		{"a SUBACK's remaining length of 5 bytes", "remaining length longer than 4 bytes", []byte{0x90, 0xff, 0xff, 0xff, 0xff, 0x7f}, true},
		{"QoS 3", "PUBLISH with QoS 3", []byte{0x36, 5, 0, 1, 'a', 0, 1}, true},
		{"the connection ends inside a PUBLISH", "", []byte{0x32, 20, 0, 1, 'a'}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, peer := tcpPair(t)
			called := false
			var refused []error
			b := newBatchConn(raw, 5*time.Second, connHooks{
				publish: func(*batchConn, inboundPublish) error {
					called = true
					return nil
				},
				malformed: func(conn *batchConn, err error) {
					if conn == nil {
						t.Error("the malformed hook was not given the connection")
					}
					refused = append(refused, err)
				},
			})
			defer b.Close()
			go func() { peer.Write(tc.bytes); peer.Close() }()
			_, err := packets.ReadPacket(b)
			if err == nil {
				t.Fatal("a malformed packet read without error")
			}
			if called {
				t.Fatal("a malformed PUBLISH was handed to the Client")
			}
			if !tc.refused {
				if len(refused) != 0 || errors.Is(err, errMalformed) {
					t.Fatalf("a connection's end was taken for a malformed packet: %v (reported %v)", err, refused)
				}
				return
			}
			if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("paho's reader got %v, want errMalformed naming %q", err, tc.reason)
			}
			if len(refused) != 1 || refused[0] != err {
				t.Errorf("the malformed hook was told %v, want once %v", refused, err)
			}
		})
	}
}

// FuzzParsePublish holds the connection's PUBLISH parser to paho's: for
// any body of a QoS 1 PUBLISH, both refuse it or both read the same topic,
// packet ID and payload.
func FuzzParsePublish(f *testing.F) {
	f.Add(byte(0x32), []byte{0, 3, 'a', '/', 'b', 1, 2, 'h', 'i'})
	f.Add(byte(0x3b), []byte{0, 0, 0, 1})
	f.Add(byte(0x32), []byte{0, 9, 'a', 1})
	f.Add(byte(0x32), []byte{0})
	f.Fuzz(func(t *testing.T, first byte, body []byte) {
		first = first&0x09 | 0x32 // a QoS 1 PUBLISH, any DUP and RETAIN
		ours, err := parsePublish(first, body)
		cp, perr := packets.NewControlPacketWithHeader(packets.FixedHeader{
			MessageType: packets.Publish, Qos: 1, Dup: first&0x08 != 0, Retain: first&0x01 != 0,
			RemainingLength: len(body),
		})
		if perr != nil {
			t.Fatal(perr)
		}
		perr = cp.Unpack(bytes.NewBuffer(body)) // as paho's ReadPacket unpacks
		if (err != nil) != (perr != nil) {
			t.Fatalf("ours: %v, paho's: %v", err, perr)
		}
		if err != nil {
			return
		}
		p := cp.(*packets.PublishPacket)
		if ours.topic != p.TopicName || ours.id != p.MessageID || !bytes.Equal(ours.payload, p.Payload) ||
			ours.dup != p.Dup || ours.retained != p.Retain {
			t.Fatalf("ours %+v, paho's %s %d %q dup %v retain %v", ours, p.TopicName, p.MessageID, p.Payload, p.Dup, p.Retain)
		}
	})
}
