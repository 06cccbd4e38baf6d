package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub"
	"github.com/shouwang-hub/shouwang/hub/mqttc"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// Several hub instances on one broker and one PostgreSQL (issue 14;
// docs/architecture.md, "Several instances"): the settings, the wiring of
// heartbeats, leases and doorbells, and the telemetry sessions that pass
// between instances.

// InstanceSettings name this instance among several.
type InstanceSettings struct {
	// Name is this instance's name; empty runs one hub alone.
	Name string
	// AdvertiseURL is where the other instances reach this one's HTTP API
	// (a console on another instance answering a call taken here);
	// default http://<-http address>, with a wildcard host made loopback.
	AdvertiseURL string
	// Failover is how a dead instance's share of the telemetry reaches the
	// others: "takeover" (mosquitto: a survivor connects with the dead
	// instance's client ID and drains its session until it returns) or
	// "broker" (EMQX: sessions end with the connection, and the broker
	// re-dispatches a member's unacknowledged messages to the others).
	Failover string
}

const (
	failoverTakeover = "takeover"
	failoverBroker   = "broker"
	// sharedGroup names the hub's shared-subscription group.
	sharedGroup = "shouwang"
	// Lease names: each instance's own telemetry session, and pruning.
	leaseSessionPrefix = "session/"
	leasePrune         = "prune"
)

func init() {
	maps.Copy(env, map[string]string{
		"instance":      "HUB_INSTANCE",
		"advertise-url": "HUB_ADVERTISE_URL",
		"mqtt-failover": "HUB_MQTT_FAILOVER",
	})
}

// instanceFlags registers the settings of several instances.
func instanceFlags(str func(p *string, name, def, usage string), c *Config) {
	str(&c.Instance.Name, "instance", "", "this hub's name among several sharing one broker and one PostgreSQL (-db postgres://…); its MQTT client IDs derive from it; empty: a hub alone")
	str(&c.Instance.AdvertiseURL, "advertise-url", "", "where the other instances reach this one's HTTP API (default http://<-http address>)")
	str(&c.Instance.Failover, "mqtt-failover", failoverTakeover, "how a dead instance's share of telemetry reaches the others: takeover (mosquitto) or broker (EMQX re-dispatches)")
}

// validateInstance checks the instance settings, naming the bad one.
func (c Config) validateInstance() error {
	in := c.Instance
	if in.Failover != failoverTakeover && in.Failover != failoverBroker {
		return fmt.Errorf("-mqtt-failover / HUB_MQTT_FAILOVER %q: want takeover or broker", in.Failover)
	}
	if in.Name == "" {
		return nil
	}
	if !devices.ValidID(in.Name) || strings.ContainsAny(in.Name, "/+# ") {
		return fmt.Errorf("-instance / HUB_INSTANCE %q: want a short name of letters, digits, '-' and '_'", in.Name)
	}
	if l := strings.ToLower(c.DB); !strings.HasPrefix(l, "postgres://") && !strings.HasPrefix(l, "postgresql://") {
		return errors.New("-instance / HUB_INSTANCE: several instances share one PostgreSQL store (-db postgres://…); a SQLite file has one writer on one machine and cannot be shared safely")
	}
	if c.MQTTURL == "" {
		return errors.New("-instance / HUB_INSTANCE: several instances share one external broker (-mqtt-url); the embedded broker lives inside one hub")
	}
	if in.AdvertiseURL != "" {
		if u, err := url.Parse(in.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-advertise-url / HUB_ADVERTISE_URL %q: want an http(s) URL", in.AdvertiseURL)
		}
	}
	return nil
}

// clientBase is the base of this hub's MQTT client IDs: -mqtt-client-id,
// and with -instance its name after a dash.
func (c Config) clientBase() string {
	if c.Instance.Name == "" {
		return c.MQTTClientID
	}
	return c.MQTTClientID + "-" + c.Instance.Name
}

// instanceStore adapts the SQL store to the hub's instance and lease
// interfaces.
type instanceStore struct{ s *sqlstore.Store }

func (a instanceStore) Heartbeat(ctx context.Context, name, url string, startedAt time.Time) error {
	return a.s.Heartbeat(ctx, name, url, startedAt)
}

func (a instanceStore) StopInstance(ctx context.Context, name string) error {
	return a.s.StopInstance(ctx, name)
}

func (a instanceStore) Instances(ctx context.Context) ([]hub.InstanceInfo, time.Time, error) {
	list, now, err := a.s.Instances(ctx)
	out := make([]hub.InstanceInfo, len(list))
	for i, x := range list {
		out[i] = hub.InstanceInfo{Name: x.Name, URL: x.URL, StartedAt: x.StartedAt, Heartbeat: x.Heartbeat, Stopped: x.Stopped, Leases: x.Leases}
	}
	return out, now, err
}

func (a instanceStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (hub.Lease, bool, error) {
	l, ok, err := a.s.AcquireLease(ctx, name, holder, ttl)
	return hub.Lease(l), ok, err
}

func (a instanceStore) ReleaseLease(ctx context.Context, l hub.Lease) error {
	return a.s.ReleaseLease(ctx, sqlstore.Lease(l))
}

// startInstances sets up leases (trivially held by a hub alone) and, with
// -instance, the heartbeat, the doorbells and this instance's first beat,
// so the others see it before it takes anything. It runs before alerting,
// which runs supervision under a lease.
func (m *Main) startInstances(ctx context.Context) error {
	c := m.Config
	m.instCtx, m.instCancel = context.WithCancel(context.Background())
	holder := c.Instance.Name
	var ls hub.LeaseStore
	if holder == "" {
		holder = "hub"
	} else {
		ls = instanceStore{m.store}
	}
	var err error
	if m.leases, err = hub.NewLeases(hub.LeasesConfig{Store: ls, Holder: holder}, m.Logger.With("part", "leases")); err != nil {
		return err
	}
	if c.Instance.Name == "" {
		m.goInst(func() { m.leases.Run(m.instCtx) })
		return nil
	}
	m.store.SetInstance(c.Instance.Name)
	m.instances, err = hub.NewInstances(hub.InstancesConfig{
		Store: instanceStore{m.store}, Name: c.Instance.Name, URL: m.advertiseURL(),
		OnChange: m.othersChanged,
	}, m.Logger.With("part", "instances"))
	if err != nil {
		return err
	}
	if err := m.instances.Beat(ctx); err != nil {
		return fmt.Errorf("first heartbeat: %w", err)
	}
	m.goInst(func() { m.leases.Run(m.instCtx) })
	m.goInst(func() { m.instances.Run(m.instCtx) })
	m.goInst(func() {
		channels := []string{sqlstore.ChannelFeed, sqlstore.ChannelDevices, sqlstore.ChannelLeases}
		if err := m.store.Listen(m.instCtx, channels, m.doorbell); err != nil {
			m.Logger.Error("listen for the other instances", "err", err)
		}
	})
	m.Logger.Info("instance", "name", c.Instance.Name, "advertise", m.advertiseURL(), "mqtt_failover", c.Instance.Failover)
	return nil
}

// advertiseURL is where the others reach this instance's API.
func (m *Main) advertiseURL() string {
	if u := m.Config.Instance.AdvertiseURL; u != "" {
		return strings.TrimSuffix(u, "/")
	}
	addr := m.Config.HTTPAddr
	if m.httpLn != nil {
		addr = m.httpLn.Addr().String()
	}
	return "http://" + loopback(addr)
}

// doorbell takes a NOTIFY from another instance (or, with payload "", the
// ring at every (re)connect of the listener, which means "re-read").
func (m *Main) doorbell(channel, payload string) {
	switch channel {
	case sqlstore.ChannelFeed:
		if m.alerting != nil {
			m.alerting.FeedRang()
		}
	case sqlstore.ChannelDevices:
		if m.index != nil {
			m.refreshDevices(payload)
		}
	case sqlstore.ChannelLeases:
		m.leases.Wake()
	}
}

// stopInstances gives up the leases (the others take them at once: this
// instance's telemetry session and supervision pass on) and records the
// clean stop.
func (m *Main) stopInstances() {
	if m.instCancel != nil {
		m.instCancel()
		m.instWG.Wait()
	}
	if m.instances != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.store.Notify(ctx, sqlstore.ChannelLeases, m.Config.Instance.Name); err != nil {
			m.Logger.Warn("tell the others the leases are free", "err", err)
		}
	}
}

func (m *Main) goInst(f func()) {
	m.instWG.Add(1)
	go func() { defer m.instWG.Done(); f() }()
}

// sessionLanes are the shared lanes run under leases (takeover): this
// instance's own, and those borrowed from dead instances.
type sessionLanes struct {
	mu      sync.Mutex
	clients map[string]*mqttc.Client // by client ID
	own     string                   // this instance's client ID
}

func (s *sessionLanes) set(id string, c *mqttc.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]*mqttc.Client{}
	}
	if c == nil {
		delete(s.clients, id)
	} else {
		s.clients[id] = c
	}
}

// ownConnected reports whether this instance's own shared session is
// connected (readiness), and the sessions borrowed.
func (s *sessionLanes) ownConnected() (bool, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var borrowed []string
	for id := range s.clients {
		if id != s.own {
			borrowed = append(borrowed, id)
		}
	}
	c := s.clients[s.own]
	return c != nil && c.Connected(), borrowed
}

// startSharedLane runs the telemetry lane, shared among the instances.
// With takeover, under this instance's session lease: a survivor that
// borrowed the session while this instance was away hands it back once it
// sees this instance's heartbeat. With broker, at once, in a session that
// ends with the connection.
func (m *Main) startSharedLane(ctx context.Context, l lane, base mqttc.Config) error {
	l.filters = sharedFilters(l.filters)
	l.retire = nil
	self := m.Config.Instance.Name
	if m.Config.Instance.Failover == failoverBroker {
		cfg := base
		cfg.CleanSession = true
		// Not counted for supervision's hearing: a shared lane's loss
		// sends its share to the other instances, and supervision asks the
		// store what they heard.
		out, err := startLanes(ctx, []lane{l}, cfg, m.onMessage, func(devices.Lane, bool) {}, m.Logger.With("part", "mqtt"))
		m.lanes = append(m.lanes, out...)
		return err
	}
	m.sharedLane, m.sharedBase = l, base
	m.sessions.own = l.clientID(base.ClientID)
	m.leases.Singleton(leaseSessionPrefix+self, func(ctx context.Context, _ hub.Lease) {
		m.runSession(ctx, l.clientID(base.ClientID), "")
	})
	return nil
}

// othersChanged registers, for every other instance, the job that drains
// its telemetry session while it is away (takeover).
func (m *Main) othersChanged(others []hub.InstanceInfo) {
	if m.Config.Instance.Failover != failoverTakeover || m.sharedLane.name == "" {
		return
	}
	for _, x := range others {
		name := leaseSessionPrefix + x.Name
		if m.leases.Registered(name) {
			continue
		}
		owner := x.Name
		id := m.sharedLane.clientID(m.Config.MQTTClientID + "-" + owner)
		m.leases.Singleton(name, func(ctx context.Context, _ hub.Lease) { m.runSession(ctx, id, owner) })
	}
}

// runSession connects the shared lane's session id and takes its messages
// until ctx ends — or, for a session borrowed from owner, until owner is
// alive again. The session stays on the broker for whoever holds it next.
func (m *Main) runSession(ctx context.Context, id, owner string) {
	if owner != "" && m.instances.Alive(owner) {
		return
	}
	log := m.Logger.With("part", "mqtt", "lane", string(m.sharedLane.name), "client_id", id)
	cfg := m.sharedBase
	cfg.ClientID = id
	cfg.Subscriptions, cfg.Handler = m.sharedLane.filters, m.onMessage
	cfg.OnConnectionChange = func(up bool) {
		if up {
			log.Info("MQTT connected")
		} else {
			log.Warn("MQTT connection lost; reconnecting")
		}
	}
	if owner != "" {
		log.Warn("taking over a dead instance's telemetry session", "instance", owner)
	}
	for ctx.Err() == nil {
		c, err := mqttc.New(cfg, log)
		if err != nil {
			log.Error("shared lane", "err", err)
			return
		}
		startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = c.Start(startCtx)
		cancel()
		if err != nil {
			c.Stop()
			if ctx.Err() == nil {
				log.Warn("connect the shared lane; retrying", "err", err)
				sleepCtx(ctx, 2*time.Second)
			}
			continue
		}
		m.sessions.set(id, c)
		m.waitSession(ctx, owner)
		m.sessions.set(id, nil)
		c.Stop()
		if owner != "" {
			log.Info("handed a borrowed telemetry session back", "instance", owner)
		}
		return
	}
}

// waitSession waits for ctx's end, or for owner to come back.
func (m *Main) waitSession(ctx context.Context, owner string) {
	if owner == "" {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if m.instances.Alive(owner) {
				return
			}
		}
	}
}

// sharedFilters puts filters into the hub's shared-subscription group.
func sharedFilters(filters []string) []string {
	out := make([]string, len(filters))
	for i, f := range filters {
		out[i] = "$share/" + sharedGroup + "/" + f
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
