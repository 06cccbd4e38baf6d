package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices/vendors"
	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/broker"
	"github.com/shouwang-hub/shouwang/hub/influx"
	"github.com/shouwang-hub/shouwang/hub/limitlog"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
	"github.com/shouwang-hub/shouwang/hub/notify"
	"github.com/shouwang-hub/shouwang/hub/outbox"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/hub/voice"
)

// Main is the hub program: ParseFlags, then Run to start every part, then
// Close to stop them in order. End-to-end tests run it in-process on :0
// ports.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stderr io.Writer

	metrics          *hub.Metrics
	console          *console.Server
	store            *sqlstore.Store
	spool            *outbox.Spool
	writer           *influx.Writer
	unrouteInfluxLog func() // hands the InfluxDB client library's log back (influx.SetLogger)
	index            *hub.DeviceIndex
	routes           *hub.VendorRoutes // where vendor messages come from, see vendor.go
	alerting         *hub.Alerting
	checkins         *hub.Checkins // residents living alone: their daily check-ins
	notifier         *notify.Notifier
	calls            *hub.Calls
	ingest           *hub.Ingest
	broker           *broker.Broker
	lanes            []*laneClient // the MQTT sessions that take device traffic, see lane
	pubClient        *mqttc.Client
	backlog          *hub.BacklogWatch
	refusals         *limitlog.Logger // bounded log of messages refused here
	lock             *os.File         // the data directory's lock, held until Close
	watch            *outbox.Watch
	http             *http.Server
	httpLn           net.Listener
	brokerAt         string
	tls              tlsParts
	accts            brokerAccts

	// Several instances (instances.go): leases run singleton work (trivially
	// held by a hub alone); the rest only with -instance.
	leases     *hub.Leases
	instances  *hub.Instances
	sessions   sessionLanes // shared lanes run under leases (takeover)
	sharedLane lane         // the shared lane, with its $share filters
	sharedBase mqttc.Config // its connection settings
	instCtx    context.Context
	instCancel context.CancelFunc
	instWG     sync.WaitGroup

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main that logs to stderr.
func NewMain() *Main {
	return &Main{Stderr: os.Stderr, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
}

// ParseFlags reads the configuration and sets up logging.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	c, err := ParseConfig(args, getenv, m.Stderr)
	if err != nil {
		return err
	}
	m.Config = c
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, opts))
	} else {
		m.Logger = slog.New(slog.NewTextHandler(m.Stderr, opts))
	}
	return nil
}

// Run starts the hub, sinks before sources: the data directory's lock
// first, store and spool, the InfluxDB writer, ingest, the broker, the MQTT
// clients, and last the HTTP server. It returns once everything is up.
// Close undoes a partial start.
func (m *Main) Run(ctx context.Context) (err error) {
	c, log := m.Config, m.Logger
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("-data / HUB_DATA_DIR %q: %w", c.DataDir, err)
	}
	if m.lock, err = lockDataDir(c.DataDir); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.metrics = hub.NewMetrics()
	m.metrics.AddReasons(broker.Reasons...)
	m.refusals = limitlog.New(log, 10*time.Second, time.Now)

	if m.store, err = sqlstore.Open(c.DB, log.With("part", "store")); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	log.Info("store open", "engine", m.store.Dialect())
	if created, err := accounts.EnsureAdmin(ctx, m.store, c.AdminPassword); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	} else if created {
		log.Info("created the admin account from HUB_ADMIN_PASSWORD")
	}
	if m.spool, err = outbox.Open(filepath.Join(c.DataDir, "spool.db"), log.With("part", "spool")); err != nil {
		return fmt.Errorf("open spool: %w", err)
	}

	m.unrouteInfluxLog = influx.SetLogger(log.With("part", "influxdb-client"))
	m.writer, err = influx.NewWriter(influx.Config{
		URL: c.InfluxURL, Token: c.InfluxToken, Org: c.InfluxOrg, Bucket: c.InfluxBucket,
		DeadLetterPath: filepath.Join(c.DataDir, "influx-rejected.lp"),
	}, m.spool, log.With("part", "influx"))
	if err != nil {
		return fmt.Errorf("influx writer: %w", err)
	}
	m.goRun(func() { m.writer.Run(runCtx) })
	m.watch = outbox.NewWatch(m.spool, c.DataDir, c.SpoolWarnDepth, log.With("part", "spool"))
	m.goRun(func() { m.watch.Run(runCtx) })

	if err := m.startInstances(ctx); err != nil {
		return err
	}
	if m.index, err = hub.LoadIndex(ctx, m.store); err != nil {
		return err
	}
	m.routes = hub.NewVendorRoutes()
	if err := m.routes.Load(ctx, m.store); err != nil {
		return err
	}
	rules, err := loadRules(c.RulesFile)
	if err != nil {
		return err
	}
	if m.notifier, err = newNotifier(c); err != nil {
		return err
	}
	svc, err := alerts.NewService(alerts.Config{Rules: rules, Directory: m.notifier})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	m.alerting, err = hub.NewAlerting(ctx, hub.AlertingConfig{
		Service: svc, Rules: rules, Store: mainStore{m.store}, Index: m.index, Metrics: m.metrics,
		Notifier: m.notifier, Spool: m.spool, Format: influx.Format{}, PhotoDir: filepath.Join(c.DataDir, "photos"),
		Leases: m.leases, Instances: m.instances,
	}, log.With("part", "alerts"))
	if err != nil {
		return err
	}
	m.calls, err = hub.NewCalls(hub.CallsConfig{
		Voice: voice.Config{
			DataDir: c.DataDir, MaxCalls: c.MaxCalls, ICEServers: c.ICEServers,
			ICEUsername: c.ICEUsername, ICECredential: c.ICECredential, PublicIPs: c.PublicIPs,
			UDPPortMin: c.UDPPortMin, UDPPortMax: c.UDPPortMax,
		},
		Alerting: m.alerting, Index: m.index, Metrics: m.metrics, Retention: c.CallRetention,
		Claims: m.callClaims(), Instance: c.Instance.Name,
	}, log.With("part", "voice"))
	if err != nil {
		return err
	}
	ingestCfg := hub.IngestConfig{
		Index: m.index, Store: mainStore{m.store}, Spool: m.spool, Format: influx.Format{}, Metrics: m.metrics, Alerting: m.alerting,
		Calls: m.calls, Routes: m.routes, Vendor: m.store,
	}
	if m.instances != nil {
		// The instance watching for silence learns from the store when
		// the others last heard each device: write it often.
		ingestCfg.HealthFlushEvery = time.Second
		ingestCfg.Recheck, ingestCfg.Shared = m.store, true
	}
	m.ingest, err = hub.NewIngest(ctx, ingestCfg, log.With("part", "ingest"))
	if err != nil {
		return err
	}
	m.ingest.Run()
	m.alerting.Start()
	if m.checkins, err = hub.NewCheckins(ctx, hub.CheckinsConfig{
		Rules: rules.Checkin, Store: m.store, Alerting: m.alerting, Index: m.index,
	}, log.With("part", "checkins")); err != nil {
		return err
	}
	m.checkins.Start()
	m.leases.Singleton(leasePrune, func(ctx context.Context, _ hub.Lease) { m.pruneEvery(ctx, 5*time.Minute) })

	if err := m.startTLS(runCtx); err != nil {
		return err
	}
	if err := m.startBrokerAccounts(runCtx); err != nil {
		return err
	}
	brokerURL, user, pass := c.MQTTURL, c.MQTTUsername, c.MQTTPassword
	brokerTLS, err := externalBrokerTLS(c)
	if err != nil {
		return err
	}
	if brokerURL == "" {
		// The hub's own client talks to the embedded broker with a fresh
		// secret each start; its session is keyed by client ID, not secret.
		user, pass = "shouwang-hub-service", randomSecret()
		plain, secure, tlsCfg := m.brokerListeners()
		m.broker, err = broker.New(broker.Config{
			Listen: plain, TLSListen: secure, TLSConfig: tlsCfg, DataDir: filepath.Join(c.DataDir, "broker"),
			ServiceUser: user, ServicePassword: pass,
			Auth:     hub.DeviceAuthenticator{Source: m.store},
			OnReject: m.onBrokerReject,
			Policy:   vendors.Policy,
		}, log.With("part", "broker"))
		if err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		if err := m.broker.Start(); err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		m.broker.SetRoots(m.routes.Roots())
		m.brokerAt = m.broker.Addr()
		brokerURL, brokerTLS = m.embeddedClientURL()
		log.Info("embedded MQTT broker listening", "addr", m.brokerAt, "tls", m.broker.TLSAddr())
	}
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStart()
	// Downlink (acknowledgements, call signalling) goes over a connection of
	// its own: the ingest session's packet identifiers then only ever name
	// messages coming in, which brokers that share one identifier space per
	// client (mochi) cannot confuse with the hub's own publishes.
	// It also reads mosquitto's count of stored messages, for the backlog
	// watch.
	m.backlog = m.newBacklogWatch()
	pubCfg := mqttc.Config{
		URL: brokerURL, TLS: brokerTLS, ClientID: c.clientBase() + "-pub", Username: user, Password: pass,
	}
	if m.broker == nil {
		pubCfg.Optional, pubCfg.Handler = []string{sysStoreCount}, m.onSys
	}
	m.pubClient, err = mqttc.New(pubCfg, log.With("part", "mqtt-pub"))
	if err != nil {
		return fmt.Errorf("mqtt publisher: %w", err)
	}
	if err := m.pubClient.Start(startCtx); err != nil {
		return fmt.Errorf("connect the publisher to MQTT broker %s: %w", brokerURL, err)
	}
	m.alerting.SetPublisher(m.pubClient)
	m.calls.SetPublisher(m.pubClient)
	// The lanes last, once acknowledgements and call answers can go out:
	// a backlog of events is delivered the moment the alarm lane connects.
	lanes, err := hubLanes(vendors.Policy.Subscriptions(m.routes.Roots()))
	if err != nil {
		return err
	}
	laneCfg := mqttc.Config{URL: brokerURL, TLS: brokerTLS, ClientID: c.clientBase(), Username: user, Password: pass,
		OrderKey: m.routes.OrderKey} // a vendor device's states in the order they came
	var shared []lane
	if c.Instance.Name != "" {
		// Events, status and calls reach every instance; telemetry is
		// shared among them (instances.go).
		shared = slices.DeleteFunc(slices.Clone(lanes), func(l lane) bool { return !l.shared })
		lanes = slices.DeleteFunc(lanes, func(l lane) bool { return l.shared })
	}
	hearing := newLaneHearing(len(lanes), m.alerting.SetHearing)
	m.lanes, err = startLanes(startCtx, lanes, laneCfg, m.onMessage, hearing.changed, log.With("part", "mqtt"))
	if err != nil {
		return err
	}
	for _, l := range shared {
		if err := m.startSharedLane(startCtx, l, laneCfg); err != nil {
			return err
		}
	}
	m.goRun(func() { m.backlog.Run(runCtx) })
	m.registerMetrics()
	m.registerBrokerMetrics()

	consoleCfg := console.Config{
		Registry: m.store, Accounts: m.store, History: m.writer.History, Alerts: m.alerting,
		Live: liveSource{feed: m.alerting.Feed(), store: m.store}, Silent: silentDevices(m.store, m.store),
		Calls: m.calls,
		Ready: m.ready, Metrics: m.metrics.Handler(), OnDeviceChange: m.onDeviceChange,
		Vendor: vendorConsole{m}, Photos: m.alerting, Notify: m.notifier, Instances: m.listInstances(),
		Places: m.places, Checkins: m.checkins, Evacuation: rules.Evacuation,
	}
	m.consoleTLS(&consoleCfg)
	m.consoleBroker(&consoleCfg)
	srv, err := console.New(consoleCfg, log.With("part", "console"))
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	m.console = srv
	m.metrics.GaugeFunc("shouwang_console_live_clients", "Consoles connected to the live feed.", func() float64 { return float64(srv.LiveClients()) })
	if err := m.serveHTTP(m.relayCalls(srv.Handler())); err != nil {
		return err
	}
	if m.instances != nil {
		m.instances.SetURL(m.advertiseURL())
		if err := m.instances.Beat(ctx); err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
	}
	log.Info("hub running", "http", m.HTTPAddr(), "https", m.HTTPSAddr(), "devices", m.index.Len())
	return nil
}

// places lists the buildings the device index knows, for the console.
func (m *Main) places() []console.Place {
	ps := m.index.Places()
	out := make([]console.Place, len(ps))
	for i, p := range ps {
		out[i] = console.Place{Community: p.Location.Community, Grid: p.Location.Grid, Building: p.Location.Building, Devices: p.Devices}
	}
	return out
}

// HTTPAddr is the address the console listens on in plain HTTP (useful
// with :0); with TLS on, the one that redirects to HTTPSAddr ("" if off).
func (m *Main) HTTPAddr() string {
	if m.httpLn == nil {
		return ""
	}
	return m.httpLn.Addr().String()
}

// BrokerAddr is the embedded broker's address, or "" with an external one.
func (m *Main) BrokerAddr() string { return m.brokerAt }

// Close stops the hub in order: HTTP, then ingest (no new deliveries, drain
// the queues, acknowledge what was stored), the MQTT client, the broker,
// then the spool is flushed to InfluxDB for a bounded time and the stores
// are closed. It is safe after a partial start and idempotent.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	grace := m.Config.ShutdownGrace
	if grace == 0 {
		grace = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if m.console != nil {
		m.console.CloseLive() // WebSockets are hijacked: Shutdown does not wait for them
	}
	if m.http != nil {
		errs = append(errs, m.http.Shutdown(ctx), m.closeRedirect(ctx))
	}
	// Leases first: this instance's telemetry session and singleton work
	// pass to the others at once, while ingest drains what it has.
	m.stopInstances()
	if m.ingest != nil {
		m.ingest.Close(ctx)
	}
	if m.calls != nil {
		m.calls.Close() // hangs up every call while the MQTT client can still tell the devices
	}
	if m.checkins != nil {
		m.checkins.Close() // its last signs of life go through the store before alerting stops
	}
	if m.alerting != nil {
		m.alerting.Close()
	}
	for _, l := range slices.Backward(m.lanes) {
		l.client.Stop()
	}
	if m.pubClient != nil {
		m.pubClient.Stop()
	}
	if m.broker != nil {
		errs = append(errs, m.broker.Close())
	}
	if m.writer != nil {
		flushCtx, cancelFlush := context.WithTimeout(ctx, min(grace/2, 10*time.Second))
		if err := m.writer.Flush(flushCtx); err != nil {
			m.Logger.Warn("spool not fully flushed to InfluxDB; it stays on disk for the next start", "waiting", m.spool.Depth(), "err", err)
		}
		cancelFlush()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.writer != nil {
		errs = append(errs, m.writer.Close())
	}
	if m.unrouteInfluxLog != nil {
		m.unrouteInfluxLog()
	}
	if m.spool != nil {
		errs = append(errs, m.spool.Close())
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	if m.lock != nil {
		errs = append(errs, m.lock.Close()) // last: another hub may now open the files
	}
	return errors.Join(errs...)
}

// newNotifier reads the notification configuration (-notify), or makes the
// one -webhook-url alone stands for, or none: alerts then note that nobody
// outside the console is configured.
func newNotifier(c Config) (*notify.Notifier, error) {
	cfg := notify.Config{}
	switch {
	case c.NotifyFile != "":
		f, err := os.Open(c.NotifyFile)
		if err != nil {
			return nil, fmt.Errorf("-notify / HUB_NOTIFY: %w", err)
		}
		defer f.Close()
		if cfg, err = notify.Load(f); err != nil {
			return nil, fmt.Errorf("-notify / HUB_NOTIFY %s: %w", c.NotifyFile, err)
		}
	case c.WebhookURL != "":
		cfg = notify.FromWebhook(c.WebhookURL)
	}
	return notify.New(cfg, notify.Options{PublicURL: c.Web.PublicURL})
}

// loadRules reads the alert rules file, or returns the defaults.
func loadRules(path string) (alerts.RuleSet, error) {
	if path == "" {
		return alerts.DefaultRules(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return alerts.RuleSet{}, fmt.Errorf("-rules / HUB_RULES: %w", err)
	}
	defer f.Close()
	rules, err := alerts.LoadRules(f)
	if err != nil {
		return alerts.RuleSet{}, fmt.Errorf("-rules / HUB_RULES %s: %w", path, err)
	}
	return rules, nil
}

func randomSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loopback turns a wildcard listen address into one a local client can dial.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
