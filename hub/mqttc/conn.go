package mqttc

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Sizes of a connection's buffers.
const (
	readBufferSize  = 64 << 10
	maxPendingWrite = 256 << 10 // Write blocks while this much waits to be sent
	closeFlushLimit = time.Second
)

// Dialer returns an OpenConnectionFunc for paho (tcp:// and tls:// brokers)
// whose connections read through a buffer and batch their writes (see
// batchConn); timeout bounds the dial and each write to the socket. The
// Client uses it; so can other paho clients that move many messages, such
// as the benchmark's publishers.
func Dialer(timeout time.Duration) paho.OpenConnectionFunc { return dialer(timeout, connHooks{}) }

// connHooks are what a Client's connections report to it; nil ones are
// left out.
type connHooks struct {
	sent func() // after each successful write to the socket
	// publish, if set, takes every QoS 1 PUBLISH the connection reads
	// instead of paho (inbound.go); it may block, which stops reading.
	publish func(b *batchConn, p inboundPublish) error
	// malformed, if set, is told of each packet the connection refuses
	// (inbound.go) before the refusal drops the connection.
	malformed func(b *batchConn, err error)
}

// dialer is Dialer whose connections report to hooks.
func dialer(timeout time.Duration, hooks connHooks) paho.OpenConnectionFunc {
	return func(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
		d := &net.Dialer{Timeout: timeout}
		var conn net.Conn
		var err error
		switch u.Scheme {
		case "tcp", "mqtt":
			conn, err = d.Dial("tcp", u.Host)
		case "ssl", "tls", "mqtts":
			tc := &tls.Config{}
			if o.TLSConfig != nil {
				tc = o.TLSConfig.Clone()
			}
			if tc.ServerName == "" {
				tc.ServerName = u.Hostname()
			}
			conn, err = tls.DialWithDialer(d, "tcp", u.Host, tc)
		default:
			return nil, fmt.Errorf("mqttc: unsupported scheme %q", u.Scheme)
		}
		if err != nil {
			return nil, err
		}
		return newBatchConn(conn, timeout, hooks), nil
	}
}

// batchConn is the broker connection as paho sees it, shaped for
// throughput. paho reads a packet's fixed header a byte at a time and
// writes every packet — each PUBACK — with a system call of its own; here
// reads go through a buffer, and writes are queued and sent by a goroutine
// of the connection's own, so the acknowledgements of a committed batch
// leave together in a few writes (and the broker reads them together).
//
// A write error is remembered and returned by the next Write, which makes
// paho drop the connection and reconnect; whatever was queued is then lost,
// which for acknowledgements means the broker redelivers those messages.
type batchConn struct {
	net.Conn
	r       *bufio.Reader
	timeout time.Duration // bound on one write to the socket
	hooks   connHooks

	// fwd is how many bytes of the packet being read are still paho's to
	// read (inbound.go); only paho's one reader goroutine reads.
	fwd int

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte // queued, not yet handed to the socket
	spare   []byte
	err     error // sticky: the first write failure
	closing bool
	done    chan struct{} // closed when the flusher has returned

	closeOnce sync.Once
	closeErr  error
}

func newBatchConn(conn net.Conn, timeout time.Duration, hooks connHooks) *batchConn {
	b := &batchConn{
		Conn: conn, r: bufio.NewReaderSize(conn, readBufferSize), timeout: timeout, hooks: hooks,
		done: make(chan struct{}),
	}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

// Write queues p. It blocks only while maxPendingWrite bytes wait.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) >= maxPendingWrite && b.err == nil && !b.closing {
		b.cond.Wait()
	}
	switch {
	case b.err != nil:
		return 0, b.err
	case b.closing:
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	b.cond.Broadcast()
	return len(p), nil
}

// puback queues the PUBACK of the QoS 1 message with packet ID id. After
// the connection failed or closed it is dropped (the broker redelivers the
// message on the next connection); like Write it blocks only while
// maxPendingWrite bytes wait.
func (b *batchConn) puback(id uint16) {
	_, _ = b.Write([]byte{packets.Puback << 4, 2, byte(id >> 8), byte(id)})
}

// SetWriteDeadline is ignored: paho sets one around each Write, which here
// only queues; the flusher bounds each socket write by itself.
func (b *batchConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets only the read deadline, for the same reason.
func (b *batchConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

// flush sends what is queued until the connection closes, and then what is
// still queued, within closeFlushLimit.
func (b *batchConn) flush() {
	defer close(b.done)
	for {
		b.mu.Lock()
		for len(b.pending) == 0 && !b.closing && b.err == nil {
			b.cond.Wait()
		}
		if b.err != nil || len(b.pending) == 0 { // failed, or closing with nothing left
			b.mu.Unlock()
			return
		}
		out := b.pending
		b.pending, b.spare = b.spare[:0], nil
		closing := b.closing
		b.mu.Unlock()

		limit := b.timeout
		if closing {
			limit = min(limit, closeFlushLimit)
		}
		err := b.Conn.SetWriteDeadline(time.Now().Add(limit))
		if err == nil {
			_, err = b.Conn.Write(out)
		}
		if err == nil && b.hooks.sent != nil {
			b.hooks.sent()
		}

		b.mu.Lock()
		if err != nil && b.err == nil {
			b.err = err
		}
		b.spare = out[:0]
		b.cond.Broadcast()
		b.mu.Unlock()
	}
}

// Close sends what is queued (paho's DISCONNECT, the last acknowledgements),
// waiting up to closeFlushLimit, and closes the socket.
func (b *batchConn) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closing = true
		b.cond.Broadcast()
		b.mu.Unlock()
		select {
		case <-b.done:
		case <-time.After(closeFlushLimit + 100*time.Millisecond):
		}
		b.closeErr = b.Conn.Close()
		<-b.done // the socket's close ends a write in progress
		if errors.Is(b.closeErr, net.ErrClosed) {
			b.closeErr = nil
		}
	})
	return b.closeErr
}
