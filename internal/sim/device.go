package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
)

// receivedCap bounds how many downlink payloads a device keeps.
const receivedCap = 256

// device is one simulated device: its own MQTT client, sequence counter and
// sensor state.
type device struct {
	s        *Sim
	id       string
	kind     devices.Kind
	password string

	seq atomic.Uint64 // the last sequence number used

	// connMu serialises connection attempts, so a device never has two
	// clients (which the broker would see as a takeover).
	connMu sync.Mutex

	mu       sync.Mutex // guards what follows
	client   mqtt.Client
	conn     net.Conn // the live network connection, closed by Silence
	silenced bool
	everUp   bool
	rng      *rand.Rand
	state    *readings
	gas      bool // in gas alarm

	recvMu   sync.Mutex
	received [][]byte

	callMu  sync.Mutex
	calls   map[string]*Call // by call ID, until each has ended
	waiters []chan struct{}  // Calls waiting for a call_request (AutoCallback)
}

func newDevice(s *Sim, spec DeviceSpec, rng *rand.Rand) *device {
	d := &device{
		s:        s,
		id:       spec.Device.ID,
		kind:     spec.Device.Kind,
		password: spec.Password,
		rng:      rng,
		state:    newReadings(spec.Device.Kind, rng),
	}
	d.seq.Store(s.cfg.SeqStart)
	return d
}

// run connects the device, retrying with backoff, then reports telemetry
// until ctx is done.
func (d *device) run(ctx context.Context) {
	for backoff := time.Second; ; backoff = min(2*backoff, 30*time.Second) {
		err := d.connectBounded(ctx)
		if err == nil || errors.Is(err, ErrSilenced) {
			break
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		d.s.connErr.Add(1)
		d.s.log.Warn("device connect failed", "device", d.id, "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
	}
	if d.s.cfg.EventsOnly {
		<-ctx.Done()
		return
	}
	d.mu.Lock()
	first := time.Duration(d.rng.Float64() * float64(d.s.cfg.TelemetryEvery[d.kind]))
	d.mu.Unlock()
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.tick(ctx)
		d.mu.Lock()
		next := d.s.interval(d.kind, d.rng)
		d.mu.Unlock()
		t.Reset(next)
	}
}

// tick publishes one report, or reconnects a device that lost its client
// (a Resume whose connection failed).
func (d *device) tick(ctx context.Context) {
	d.mu.Lock()
	silenced, client := d.silenced, d.client
	d.mu.Unlock()
	switch {
	case silenced:
	case client == nil:
		if err := d.connectBounded(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			d.s.connErr.Add(1)
			d.s.log.Warn("device reconnect failed", "device", d.id, "err", err)
		}
	default:
		if _, err := d.publishTelemetry(); err != nil && !errors.Is(err, ErrSilenced) {
			d.s.log.Debug("telemetry not sent", "device", d.id, "err", err)
		}
	}
}

func (d *device) connectBounded(ctx context.Context) error {
	select {
	case d.s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.s.sem }()
	return d.connect(ctx)
}

// connect makes a fresh MQTT client and connects it. It returns once the
// client has subscribed to its commands and announced itself online.
func (d *device) connect(ctx context.Context) error {
	d.connMu.Lock()
	defer d.connMu.Unlock()
	if d.s.closing.Load() {
		return ErrClosed
	}
	d.mu.Lock()
	silenced, connected := d.silenced, d.client != nil
	d.mu.Unlock()
	if silenced {
		return fmt.Errorf("device %s: %w", d.id, ErrSilenced)
	} else if connected {
		return nil
	}
	up := make(chan struct{}, 1)
	client := mqtt.NewClient(d.options(up))
	tok := client.Connect()
	ctx, cancel := context.WithTimeout(ctx, 2*d.s.cfg.ConnectTimeout)
	defer cancel()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		client.Disconnect(0)
		return fmt.Errorf("connect %s: %w", d.id, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("connect %s: %w", d.id, err)
	}
	select {
	case <-up:
	case <-ctx.Done():
		client.Disconnect(0)
		return fmt.Errorf("connect %s: announce: %w", d.id, ctx.Err())
	}
	d.mu.Lock()
	if d.silenced || d.s.closing.Load() {
		d.mu.Unlock()
		client.Disconnect(0)
		return fmt.Errorf("device %s: %w", d.id, ErrSilenced)
	}
	d.client = client
	first := !d.everUp
	d.everUp = true
	d.mu.Unlock()
	if first {
		d.s.markUp()
	}
	return nil
}

func (d *device) options(up chan struct{}) *mqtt.ClientOptions {
	cfg := d.s.cfg
	o := mqtt.NewClientOptions().
		AddBroker(d.s.broker.String()).
		SetClientID(d.id).
		SetUsername(d.id).
		SetPassword(d.password).
		// A persistent session keeps the device's command subscription and
		// queues acknowledgements while it is away, as a real device wants.
		SetCleanSession(false).
		// paho's resume on a reconnect must not mark DUP in a packet a
		// telemetry publish is writing (mqttc.NewStore says how).
		SetStore(mqttc.NewStore()).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(cfg.MaxReconnectInterval).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetWriteTimeout(cfg.PublishTimeout).
		SetKeepAlive(cfg.KeepAlive).
		SetTLSConfig(cfg.TLSConfig).
		SetCustomOpenConnectionFn(d.dial).
		SetOnConnectHandler(func(c mqtt.Client) { d.onConnect(c, up) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			d.mu.Lock()
			silenced := d.silenced
			d.mu.Unlock()
			if !silenced && !d.s.closing.Load() {
				d.s.log.Info("device connection lost", "device", d.id, "err", err)
			}
		})
	if !cfg.EventsOnly {
		o.SetBinaryWill(devices.Topic(d.id, devices.ChannelStatus), offlinePayload, 1, true)
	}
	return o
}

// dial opens the network connection and keeps hold of it, so Silence can
// drop it without an MQTT DISCONNECT and the broker publishes the will.
func (d *device) dial(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d.mu.Lock()
	silenced := d.silenced
	d.mu.Unlock()
	if silenced {
		return nil, ErrSilenced
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout}
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "tls", "ssl", "mqtts":
		conn, err = tls.DialWithDialer(dialer, "tcp", u.Host, o.TLSConfig)
	default:
		conn, err = dialer.Dial("tcp", u.Host)
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.silenced {
		conn.Close()
		return nil, ErrSilenced
	}
	d.conn = conn
	return conn, nil
}

// onConnect runs on every (re)connection: subscribe to commands and to the
// device's call signalling, then announce online, which replaces a will the
// broker may have published.
func (d *device) onConnect(c mqtt.Client, up chan struct{}) {
	cmd, call := devices.Topic(d.id, devices.ChannelCmd), devices.Topic(d.id, devices.ChannelCall)+"/#"
	tok := c.SubscribeMultiple(map[string]byte{cmd: 1, call: 1}, func(c mqtt.Client, m mqtt.Message) {
		if _, ch, _, err := devices.ParseTopic(m.Topic()); err == nil && ch == devices.ChannelCall {
			d.onCall(c, m)
		} else {
			d.onCmd(c, m)
		}
	})
	if !tok.WaitTimeout(d.s.cfg.PublishTimeout) || tok.Error() != nil {
		d.s.log.Warn("device subscribe failed", "device", d.id, "err", tokenErr(tok))
	} else if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for filter, qos := range st.Result() {
			if qos == 0x80 {
				d.s.log.Warn("device subscription refused by the broker", "device", d.id, "filter", filter)
			}
		}
	}
	if !d.s.cfg.EventsOnly {
		d.mu.Lock()
		payload := onlinePayload(d.s.cfg.Firmware, d.state.values["battery"], d.state.values["signal"])
		d.mu.Unlock()
		tok := c.Publish(devices.Topic(d.id, devices.ChannelStatus), 1, true, payload)
		d.s.count(devices.ChannelStatus, tok)
	}
	select {
	case up <- struct{}{}:
	default:
	}
}

func (d *device) onCmd(_ mqtt.Client, m mqtt.Message) {
	p := append([]byte(nil), m.Payload()...)
	d.recvMu.Lock()
	if len(d.received) == receivedCap {
		d.received = append(d.received[:0], d.received[1:]...)
	}
	d.received = append(d.received, p)
	d.recvMu.Unlock()
	d.s.recv.Add(1)
	if d.s.cfg.OnCmd != nil {
		d.s.cfg.OnCmd(d.id, p)
	}
	if isCallRequest(p) {
		d.callRequested()
	}
}

func (d *device) connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.client != nil && d.client.IsConnectionOpen()
}

// stop publishes offline and disconnects cleanly, so the broker drops the
// will. Close calls it once.
func (d *device) stop() {
	d.endCalls(ReasonHangup, true) // while the client can still say so
	d.connMu.Lock()
	defer d.connMu.Unlock()
	d.mu.Lock()
	client := d.client
	d.client, d.conn = nil, nil
	d.mu.Unlock()
	if client == nil {
		return
	}
	if !d.s.cfg.EventsOnly && client.IsConnectionOpen() {
		tok := client.Publish(devices.Topic(d.id, devices.ChannelStatus), 1, true, offlinePayload)
		d.s.count(devices.ChannelStatus, tok)
	}
	client.Disconnect(250)
}

// silence drops the network connection without an MQTT DISCONNECT and keeps
// the device quiet until resume.
func (d *device) silence() {
	d.mu.Lock()
	if d.silenced {
		d.mu.Unlock()
		return
	}
	d.silenced = true
	conn, client := d.conn, d.client
	d.conn, d.client = nil, nil
	d.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if client != nil {
		// The connection is already gone, so no DISCONNECT can reach the
		// broker; this only stops the client's reconnecting.
		client.Disconnect(0)
	}
	// A device without power drops its calls without a word; the hub
	// notices the silent peer.
	d.endCalls(ReasonSilenced, false)
}

// resume lifts a silence and connects a fresh client.
func (d *device) resume(ctx context.Context) error {
	d.mu.Lock()
	d.silenced = false
	d.mu.Unlock()
	return d.connect(ctx)
}

// publishSeq publishes a message that carries the device's next sequence
// number. The number is taken and the message queued under the device's
// lock, so messages leave in sequence order.
func (d *device) publishSeq(ch devices.Channel, build func(seq uint64, ts time.Time) []byte) (uint64, error) {
	d.mu.Lock()
	if d.silenced {
		d.mu.Unlock()
		return 0, fmt.Errorf("device %s: %w", d.id, ErrSilenced)
	}
	c := d.client
	if c == nil || !c.IsConnected() {
		d.mu.Unlock()
		return 0, fmt.Errorf("device %s: %w", d.id, ErrNotConnected)
	}
	seq := d.seq.Add(1)
	tok := c.Publish(devices.Topic(d.id, ch), 1, false, build(seq, time.Now()))
	d.mu.Unlock()
	if err := d.s.count(ch, tok); err != nil {
		return seq, fmt.Errorf("device %s: publish %s seq %d: %w", d.id, ch, seq, err)
	}
	return seq, nil
}

func (d *device) publishTelemetry() (uint64, error) {
	return d.publishSeq(devices.ChannelTelemetry, func(seq uint64, ts time.Time) []byte {
		return telemetryPayload(seq, ts, d.state.next(d.rng))
	})
}

func (d *device) publishEvent(typ devices.EventType, lel *float64) (uint64, error) {
	return d.publishSeq(devices.ChannelEvent, func(seq uint64, ts time.Time) []byte {
		return eventPayload(seq, ts, typ, lel)
	})
}

// count waits for a publish's acknowledgement and counts the outcome.
func (s *Sim) count(ch devices.Channel, tok mqtt.Token) error {
	if !tok.WaitTimeout(s.cfg.PublishTimeout) {
		s.pubErrs.Add(1)
		return errors.New("no acknowledgement within the publish timeout")
	}
	if err := tok.Error(); err != nil {
		s.pubErrs.Add(1)
		return err
	}
	if c, ok := s.counts[ch]; ok {
		c.Add(1)
	}
	return nil
}

func tokenErr(tok mqtt.Token) error {
	if err := tok.Error(); err != nil {
		return err
	}
	return errors.New("timed out")
}

// sleep waits for d or ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
