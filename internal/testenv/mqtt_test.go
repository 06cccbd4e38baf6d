package testenv_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// connack sends a bare MQTT 3.1.1 CONNECT over a fresh TCP connection and
// returns the CONNACK return code (0 accepted, 4 bad username or password,
// 5 not authorised). A broker that closes the connection instead is an error.
func connack(addr, clientID, username, password string) (byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))

	str := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		return append(b, s...)
	}
	flags := byte(0x02) // clean session
	var body []byte
	body = str(body, "MQTT")
	body = append(body, 4) // protocol level 3.1.1
	if username != "" {
		flags |= 0x80
	}
	if password != "" {
		flags |= 0x40
	}
	body = append(body, flags, 0, 30) // keep alive 30 s
	body = str(body, clientID)
	if username != "" {
		body = str(body, username)
	}
	if password != "" {
		body = str(body, password)
	}
	pkt := []byte{0x10}
	for n := len(body); ; { // remaining length, variable-length encoded
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 0x80
		}
		pkt = append(pkt, d)
		if n == 0 {
			break
		}
	}
	if _, err := c.Write(append(pkt, body...)); err != nil {
		return 0, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(bufio.NewReader(c), ack[:]); err != nil {
		return 0, fmt.Errorf("read connack: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return 0, fmt.Errorf("not a CONNACK: % x", ack)
	}
	return ack[3], nil
}

type message struct {
	topic, payload string
}

// client is a paho client whose received messages arrive, in order, on msgs.
type client struct {
	mqtt.Client
	msgs chan message
}

// dial connects a paho client and disconnects it when the test ends.
func dial(t *testing.T, url, id, username, password string, clean bool) *client {
	t.Helper()
	c := &client{msgs: make(chan message, 10000)}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).
		SetUsername(username).SetPassword(password).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			c.msgs <- message{m.Topic(), string(m.Payload())}
		})
	c.Client = mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s as %q: %v", url, username, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func (c *client) subscribe(t *testing.T, filters ...string) map[string]byte {
	t.Helper()
	m := make(map[string]byte, len(filters))
	for _, f := range filters {
		m[f] = 1
	}
	tok := c.SubscribeMultiple(m, nil)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %v: %v", filters, tok.Error())
	}
	return tok.(*mqtt.SubscribeToken).Result()
}

func (c *client) publish(t *testing.T, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// next returns the next message the client received, failing the test if none
// comes within the deadline.
func (c *client) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
		return message{}
	}
}
