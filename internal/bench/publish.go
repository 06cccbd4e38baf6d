package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/hub/mqttc"
)

// ackTimeout bounds the wait for one PUBACK.
const ackTimeout = 60 * time.Second

// Publisher is one MQTT connection that publishes at QoS 1 for many
// devices (a topic per device) with a bounded window of unacknowledged
// messages: Publish blocks while the window is full. Call Publish from one
// goroutine at a time.
type Publisher struct {
	c      paho.Client
	window chan struct{}
	tokens chan pending
	done   chan struct{}

	closeOnce sync.Once
	acked     atomic.Int64
	failed    atomic.Int64
	errMu     sync.Mutex
	err       error
}

type pending struct {
	tok    paho.Token
	onAck  func(time.Time)
	failed func(error)
}

// NewPublisher connects a clean-session client to the broker at url with
// the given client ID and window.
func NewPublisher(ctx context.Context, url, clientID string, window int) (*Publisher, error) {
	return NewPublisherAs(ctx, url, clientID, "", "", window)
}

// NewPublisherAs is NewPublisher with credentials: a device on a broker
// that checks them (the embedded one) is its own client, username =
// client ID = device ID.
func NewPublisherAs(ctx context.Context, url, clientID, username, password string, window int) (*Publisher, error) {
	if window <= 0 {
		return nil, fmt.Errorf("publisher: window %d: must be positive", window)
	}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(username).SetPassword(password).
		SetCleanSession(true).SetAutoReconnect(false).SetKeepAlive(30 * time.Second).
		SetConnectTimeout(10 * time.Second).SetWriteTimeout(ackTimeout).SetOrderMatters(false).
		// Buffered reads and batched writes, as the hub's own client: the
		// load generator shares the two cores with what it measures.
		SetCustomOpenConnectionFn(mqttc.Dialer(10 * time.Second))
	c := paho.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, fmt.Errorf("publisher %s: connect: %w", clientID, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("publisher %s: connect: %w", clientID, err)
	}
	p := &Publisher{c: c, window: make(chan struct{}, window), tokens: make(chan pending, window), done: make(chan struct{})}
	go p.collect()
	return p, nil
}

// collect waits for acknowledgements in publish order, freeing the window.
func (p *Publisher) collect() {
	defer close(p.done)
	for pd := range p.tokens {
		var err error
		if !pd.tok.WaitTimeout(ackTimeout) {
			err = errors.New("no PUBACK within " + ackTimeout.String())
		} else {
			err = pd.tok.Error()
		}
		at := time.Now()
		<-p.window
		if err != nil {
			p.failed.Add(1)
			p.errMu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.errMu.Unlock()
			if pd.failed != nil {
				pd.failed(err)
			}
			continue
		}
		p.acked.Add(1)
		if pd.onAck != nil {
			pd.onAck(at)
		}
	}
}

// Publish sends payload on topic at QoS 1, waiting for room in the
// window. onAck, if not nil, is called with the moment the broker's
// PUBACK was seen.
func (p *Publisher) Publish(topic string, payload []byte, onAck func(time.Time)) {
	p.window <- struct{}{}
	p.tokens <- pending{tok: p.c.Publish(topic, 1, false, payload), onAck: onAck}
}

// Acked returns how many publishes the broker acknowledged.
func (p *Publisher) Acked() int64 { return p.acked.Load() }

// Failed returns how many publishes failed, and the first error.
func (p *Publisher) Failed() (int64, error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.failed.Load(), p.err
}

// Close waits for the outstanding acknowledgements and disconnects. Do
// not Publish after Close. It is idempotent.
func (p *Publisher) Close() {
	p.closeOnce.Do(func() {
		close(p.tokens)
		<-p.done
		p.c.Disconnect(250)
	})
}

// Pool is a few Publishers sharing the load.
type Pool struct {
	Pubs []*Publisher
}

// NewPool connects n publishers named prefix-0 … prefix-(n-1).
func NewPool(ctx context.Context, url, prefix string, n, window int) (*Pool, error) {
	p := &Pool{}
	for i := range n {
		pub, err := NewPublisher(ctx, url, prefix+"-"+strconv.Itoa(i), window)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.Pubs = append(p.Pubs, pub)
	}
	return p, nil
}

// Acked returns the publishes acknowledged over all connections.
func (p *Pool) Acked() int64 {
	var n int64
	for _, pub := range p.Pubs {
		n += pub.Acked()
	}
	return n
}

// Failed returns the failed publishes over all connections and the first
// error.
func (p *Pool) Failed() (int64, error) {
	var n int64
	var first error
	for _, pub := range p.Pubs {
		f, err := pub.Failed()
		n += f
		if first == nil {
			first = err
		}
	}
	return n, first
}

// Close closes every publisher, waiting for outstanding acknowledgements.
func (p *Pool) Close() {
	var wg sync.WaitGroup
	for _, pub := range p.Pubs {
		wg.Go(pub.Close)
	}
	wg.Wait()
}

// BrokerDropped reads mosquitto's $SYS/broker/publish/messages/dropped
// (published every sys_interval, retained).
func BrokerDropped(ctx context.Context, url string) (int64, error) {
	opts := paho.NewClientOptions().AddBroker(url).SetClientID("bench-sys-" + strconv.FormatInt(time.Now().UnixNano(), 36)).
		SetCleanSession(true).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("broker $SYS: connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	got := make(chan string, 1)
	tok := c.Subscribe("$SYS/broker/publish/messages/dropped", 0, func(_ paho.Client, m paho.Message) {
		select {
		case got <- string(m.Payload()):
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("broker $SYS: subscribe: %v", tok.Error())
	}
	select {
	case v := <-got:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("broker $SYS dropped %q: %w", v, err)
		}
		return n, nil
	case <-time.After(5 * time.Second):
		return 0, errors.New("broker $SYS: no messages/dropped within 5 s")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
