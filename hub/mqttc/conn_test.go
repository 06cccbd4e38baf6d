package mqttc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestBatchConnKeepsOrderAndFlushesOnClose(t *testing.T) {
	raw, peer := tcpPair(t)
	b := newBatchConn(raw, 5*time.Second, connHooks{})
	var want bytes.Buffer
	for i := range 10000 {
		p := fmt.Appendf(nil, "packet %d;", i)
		want.Write(p)
		if n, err := b.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	want.WriteString("DISCONNECT")
	if _, err := b.Write([]byte("DISCONNECT")); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { all, _ := io.ReadAll(peer); got <- all }()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if g := <-got; !bytes.Equal(g, want.Bytes()) {
		t.Fatalf("the peer read %d bytes, want the %d written, in order", len(g), want.Len())
	}
	if _, err := b.Write([]byte("late")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestBatchConnReadsThroughItsBuffer(t *testing.T) {
	raw, peer := tcpPair(t)
	b := newBatchConn(raw, 5*time.Second, connHooks{})
	defer b.Close()
	go peer.Write([]byte("\x30\x05hello"))
	var hdr [2]byte
	if _, err := io.ReadFull(b, hdr[:]); err != nil || hdr != [2]byte{0x30, 5} {
		t.Fatalf("header %x, %v", hdr, err)
	}
	body := make([]byte, 5)
	if _, err := io.ReadFull(b, body); err != nil || string(body) != "hello" {
		t.Fatalf("body %q, %v", body, err)
	}
}

// A failed socket write is reported by a later Write, so paho drops the
// connection and reconnects.
func TestBatchConnReportsAWriteFailure(t *testing.T) {
	raw, peer := tcpPair(t)
	b := newBatchConn(raw, 5*time.Second, connHooks{})
	defer b.Close()
	peer.(*net.TCPConn).SetLinger(0)
	peer.Close() // the peer resets the connection
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := b.Write(make([]byte, 1024))
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write failed with %v, want the socket's error", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Write kept succeeding after the peer reset the connection")
		}
		time.Sleep(time.Millisecond) // let the flusher meet the reset
	}
}

// A PUBACK queued by Message.Ack is the MQTT 3.1.1 packet paho would write,
// in order with paho's own packets; after Close it is dropped.
func TestBatchConnPubackIsTheWirePacket(t *testing.T) {
	raw, peer := tcpPair(t)
	b := newBatchConn(raw, 5*time.Second, connHooks{})
	b.puback(0x1234)
	if _, err := b.Write([]byte{0xc0, 0}); err != nil { // a PINGREQ of paho's
		t.Fatal(err)
	}
	b.puback(7)
	got := make(chan []byte, 1)
	go func() { all, _ := io.ReadAll(peer); got <- all }()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.puback(8) // after Close: dropped, not written, no panic
	want := []byte{0x40, 2, 0x12, 0x34, 0xc0, 0, 0x40, 2, 0, 7}
	if g := <-got; !bytes.Equal(g, want) {
		t.Fatalf("the peer read % x, want % x", g, want)
	}
}

// The connection tells paho's keepalive when it wrote to the socket, since
// the acknowledgements it writes bypass paho (Client.sent).
func TestBatchConnReportsItsWrites(t *testing.T) {
	raw, peer := tcpPair(t)
	wrote := make(chan struct{}, 1)
	b := newBatchConn(raw, 5*time.Second, connHooks{sent: func() {
		select {
		case wrote <- struct{}{}:
		default:
		}
	}})
	defer b.Close()
	b.puback(1)
	buf := make([]byte, 4)
	if _, err := io.ReadFull(peer, buf); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the write was not reported")
	}
	// Client.sent and Client.publish rely on paho's client having these.
	if _, ok := paho.NewClient(paho.NewClientOptions()).(interface {
		UpdateLastSent()
		UpdateLastReceived()
	}); !ok {
		t.Fatal("paho's client lacks UpdateLastSent or UpdateLastReceived: the Client cannot keep its keepalive informed")
	}
}
