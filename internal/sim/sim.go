package sim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// DeviceSpec is a registered device and its MQTT password.
type DeviceSpec struct {
	Device   *devices.Device
	Password string
}

// Defaults filled in by New.
const (
	DefaultJitter               = 0.2
	DefaultConnectConcurrency   = 16
	DefaultFirmware             = "1.0.3"
	DefaultPublishTimeout       = 10 * time.Second
	DefaultConnectTimeout       = 10 * time.Second
	DefaultKeepAlive            = 30 * time.Second
	DefaultMaxReconnectInterval = 30 * time.Second
)

// DefaultTelemetryEvery returns how often each kind reports by default. An
// emergency call button has no sensor; its telemetry (battery and signal) is
// its heartbeat.
func DefaultTelemetryEvery() map[devices.Kind]time.Duration {
	return map[devices.Kind]time.Duration{
		devices.KindSOSButton: 60 * time.Second,
		devices.KindSmoke:     60 * time.Second,
		devices.KindGas:       30 * time.Second,
		devices.KindAir:       60 * time.Second,
	}
}

// Config configures a Sim. Zero values take the defaults above.
type Config struct {
	// BrokerURL is the MQTT broker: tcp:// or mqtt:// for plain TCP,
	// tls://, ssl:// or mqtts:// for TLS (with TLSConfig).
	BrokerURL string
	TLSConfig *tls.Config
	// Devices are the devices to simulate. The password is the MQTT
	// password; the username and client ID are the device ID.
	Devices []DeviceSpec
	// TelemetryEvery is each kind's reporting interval; kinds left out take
	// DefaultTelemetryEvery.
	TelemetryEvery map[devices.Kind]time.Duration
	// Jitter spreads each interval uniformly by ±Jitter of itself, so a
	// community does not report in lockstep. 0 means DefaultJitter; a
	// negative value means none. It must be below 1.
	Jitter float64
	// ConnectConcurrency bounds how many devices connect at once.
	ConnectConcurrency int
	// Firmware is the version devices announce in their online status.
	Firmware string
	// SeqStart is where every device's sequence counter starts (its first
	// message carries SeqStart+1). 0 means the Unix time in milliseconds
	// when New runs.
	SeqStart uint64
	// EventsOnly devices connect without a last will, publish no status
	// and no telemetry: only what triggers ask for. For one-shot events
	// beside a running simulation, which must not mark the device offline.
	EventsOnly bool
	// Seed seeds the random readings and intervals; 0 means time-seeded.
	Seed uint64
	// OnCmd, when set, is called with every downlink payload a device
	// receives, from the MQTT client's goroutine. It must not block.
	OnCmd func(deviceID string, payload []byte)
	// PublishTimeout bounds the wait for the broker's acknowledgement.
	PublishTimeout time.Duration
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration
	// KeepAlive is the MQTT keep-alive interval.
	KeepAlive time.Duration
	// MaxReconnectInterval caps the back-off between a lost device's
	// attempts to reconnect (it doubles from 1 s).
	MaxReconnectInterval time.Duration
	// AnswerCallRequests makes a device that receives {"type":
	// "call_request"} on cmd (an operator calling back) offer a voice call
	// by itself, as a voice-capable device does.
	AnswerCallRequests bool
	// CallClip is the Ogg/Opus clip of the calls the simulator starts by
	// itself (call requests, the control endpoint); empty means the
	// committed clip. See CallOptions.Clip.
	CallClip string
	// CallRecordDir, if set, is where those calls record what they hear,
	// as {device}-{call}.ogg.
	CallRecordDir string
}

// Errors of the trigger methods. They are wrapped with the device ID.
var (
	ErrUnknownDevice = errors.New("unknown device")
	ErrWrongKind     = errors.New("not sent by this kind of device")
	ErrSilenced      = errors.New("device is silenced")
	ErrNotConnected  = errors.New("device is not connected")
	ErrClosed        = errors.New("simulator is closed")
)

// Sim runs simulated devices. Its trigger methods are safe to call from any
// goroutine while Run runs.
type Sim struct {
	cfg     Config
	log     *slog.Logger
	broker  *url.URL
	devs    map[string]*device
	order   []*device // in Config.Devices order
	sem     chan struct{}
	counts  map[devices.Channel]*atomic.Uint64
	pubErrs atomic.Uint64
	connErr atomic.Uint64
	recv    atomic.Uint64

	// ctx lives until Close; connection attempts and leaks started by the
	// control endpoint hang off it.
	ctx     context.Context
	cancel  context.CancelFunc
	closing atomic.Bool

	upCount   atomic.Int64
	ready     chan struct{} // closed once every device has connected once
	closeOnce sync.Once
	running   atomic.Bool

	// bg tracks calls started by call requests; bgClosed stops new ones
	// once Close has begun.
	bgMu     sync.Mutex
	bgClosed bool
	bg       sync.WaitGroup
}

// New validates cfg and prepares the devices without connecting them.
func New(cfg Config, logger *slog.Logger) (*Sim, error) {
	if logger == nil {
		return nil, errors.New("sim: logger is nil")
	}
	u, err := url.Parse(cfg.BrokerURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sim: broker url %q: want scheme://host:port", cfg.BrokerURL)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "tls", "ssl", "mqtts":
	default:
		return nil, fmt.Errorf("sim: broker url %q: scheme must be tcp, mqtt, tls, ssl or mqtts", cfg.BrokerURL)
	}
	if len(cfg.Devices) == 0 {
		return nil, errors.New("sim: devices: none given")
	}
	every := DefaultTelemetryEvery()
	for k, d := range cfg.TelemetryEvery {
		if !k.Valid() {
			return nil, fmt.Errorf("sim: telemetry every: unknown kind %q", k)
		}
		if d <= 0 {
			return nil, fmt.Errorf("sim: telemetry every[%s]: %v is not positive", k, d)
		}
		every[k] = d
	}
	cfg.TelemetryEvery = every
	switch {
	case cfg.Jitter >= 1:
		return nil, fmt.Errorf("sim: jitter %g: must be below 1", cfg.Jitter)
	case cfg.Jitter == 0:
		cfg.Jitter = DefaultJitter
	case cfg.Jitter < 0:
		cfg.Jitter = 0
	}
	if cfg.ConnectConcurrency < 0 {
		return nil, fmt.Errorf("sim: connect concurrency %d: must not be negative", cfg.ConnectConcurrency)
	}
	fill(&cfg.ConnectConcurrency, DefaultConnectConcurrency)
	fill(&cfg.Firmware, DefaultFirmware)
	fill(&cfg.PublishTimeout, DefaultPublishTimeout)
	fill(&cfg.ConnectTimeout, DefaultConnectTimeout)
	fill(&cfg.KeepAlive, DefaultKeepAlive)
	fill(&cfg.MaxReconnectInterval, DefaultMaxReconnectInterval)
	fill(&cfg.SeqStart, uint64(time.Now().UnixMilli()))
	if cfg.CallClip != "" {
		if _, err := loadClip(cfg.CallClip); err != nil {
			return nil, fmt.Errorf("sim: call clip: %w", err)
		}
	}
	if cfg.SeqStart >= 1<<52 {
		return nil, fmt.Errorf("sim: seq start %d: must leave room below 2^53", cfg.SeqStart)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	seeder := rand.New(rand.NewPCG(seed, seed^0x5eed))

	s := &Sim{
		cfg:    cfg,
		log:    logger,
		broker: u,
		devs:   make(map[string]*device, len(cfg.Devices)),
		sem:    make(chan struct{}, cfg.ConnectConcurrency),
		counts: map[devices.Channel]*atomic.Uint64{},
		ready:  make(chan struct{}),
	}
	for _, ch := range []devices.Channel{devices.ChannelEvent, devices.ChannelTelemetry, devices.ChannelStatus, devices.ChannelCmd, devices.ChannelCall} {
		s.counts[ch] = new(atomic.Uint64)
	}
	for i, spec := range cfg.Devices {
		d := spec.Device
		if d == nil {
			return nil, fmt.Errorf("sim: devices[%d]: nil device", i)
		}
		if !devices.ValidID(d.ID) || !d.Kind.Valid() {
			return nil, fmt.Errorf("sim: devices[%d]: bad id %q or kind %q", i, d.ID, d.Kind)
		}
		if _, dup := s.devs[d.ID]; dup {
			return nil, fmt.Errorf("sim: devices[%d]: duplicate id %q", i, d.ID)
		}
		dev := newDevice(s, spec, rand.New(rand.NewPCG(seeder.Uint64(), seeder.Uint64())))
		s.devs[d.ID] = dev
		s.order = append(s.order, dev)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func fill[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Run connects every device, with at most ConnectConcurrency connecting at
// once, and keeps each one reporting at its kind's interval, the first
// report spread over one interval. A device that cannot connect retries with
// backoff. When ctx is done Run publishes every device's offline status,
// disconnects cleanly (so the broker drops the last wills) and returns nil.
// Run may be called once.
func (s *Sim) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sim: run called twice")
	}
	if s.closing.Load() {
		return ErrClosed
	}
	s.log.Info("simulator starting", "devices", len(s.order), "broker", s.broker.Redacted())
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { // Close ends Run too
		select {
		case <-s.ctx.Done():
			stop()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for _, d := range s.order {
		wg.Go(func() { d.run(ctx) })
	}
	wg.Wait()
	s.Close()
	return nil
}

// WaitConnected blocks until every device has connected, subscribed to its
// commands and announced itself online at least once, or ctx is done.
func (s *Sim) WaitConnected(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		st := s.Stats()
		return fmt.Errorf("wait for devices: %d of %d connected: %w", st.Connected, st.Devices, ctx.Err())
	}
}

// Close stops every device: it publishes the offline status of each
// connected device (unless EventsOnly) and disconnects it cleanly. It is
// idempotent; Run returns once Close is called.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.cancel()
		s.bgMu.Lock()
		s.bgClosed = true
		s.bgMu.Unlock()
		var wg sync.WaitGroup
		for _, d := range s.order {
			s.sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-s.sem }()
				d.stop()
			})
		}
		wg.Wait()
		s.bg.Wait()
		s.log.Info("simulator stopped", "published", s.Stats().Published)
	})
	return nil
}

// IDs returns the simulated device IDs in configuration order.
func (s *Sim) IDs() []string {
	ids := make([]string, len(s.order))
	for i, d := range s.order {
		ids[i] = d.id
	}
	return ids
}

// Stats is a snapshot of what the simulator has done.
type Stats struct {
	Devices   int `json:"devices"`
	Connected int `json:"connected"` // devices with an open connection now
	// Published counts messages the broker acknowledged, by channel.
	Published map[devices.Channel]uint64 `json:"published"`
	// PublishErrors counts publishes that failed or were not acknowledged
	// within PublishTimeout (the client may still deliver those later).
	PublishErrors uint64 `json:"publish_errors"`
	ConnectErrors uint64 `json:"connect_errors"`
	Received      uint64 `json:"received"` // downlink messages
}

// Sent is the total of Published.
func (st Stats) Sent() uint64 {
	var n uint64
	for _, v := range st.Published {
		n += v
	}
	return n
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	st := Stats{
		Devices:       len(s.order),
		Published:     make(map[devices.Channel]uint64, len(s.counts)),
		PublishErrors: s.pubErrs.Load(),
		ConnectErrors: s.connErr.Load(),
		Received:      s.recv.Load(),
	}
	for ch, c := range s.counts {
		if n := c.Load(); n > 0 {
			st.Published[ch] = n
		}
	}
	for _, d := range s.order {
		if d.connected() {
			st.Connected++
		}
	}
	return st
}

func (s *Sim) device(id string) (*device, error) {
	d, ok := s.devs[id]
	if !ok {
		return nil, fmt.Errorf("device %q: %w", id, ErrUnknownDevice)
	}
	return d, nil
}

// background runs f on its own goroutine, which Close waits for, unless
// Close has begun.
func (s *Sim) background(f func()) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f()
	}()
}

// markUp notes a device's first connection.
func (s *Sim) markUp() {
	if s.upCount.Add(1) == int64(len(s.order)) {
		close(s.ready)
	}
}

// interval draws the next reporting interval of kind k.
func (s *Sim) interval(k devices.Kind, rng *rand.Rand) time.Duration {
	base := s.cfg.TelemetryEvery[k]
	if s.cfg.Jitter == 0 {
		return base
	}
	f := 1 + s.cfg.Jitter*(2*rng.Float64()-1)
	return time.Duration(float64(base) * f)
}
