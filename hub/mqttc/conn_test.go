package mqttc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
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
	b := newBatchConn(raw, 5*time.Second)
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
	b := newBatchConn(raw, 5*time.Second)
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
	b := newBatchConn(raw, 5*time.Second)
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
