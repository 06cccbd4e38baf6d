package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/influx"
)

// Spool is the durable outbox in front of InfluxDB, with the telemetry
// de-duplication windows committed in the same transaction as the lines.
type Spool interface {
	Append(ctx context.Context, lines [][]byte, windows map[string]devices.SeqWindow) error
	SeqWindows(ctx context.Context) (map[string]devices.SeqWindow, error)
}

// IngestStore is what ingest needs from the main store.
type IngestStore interface {
	// Tx runs fn in one transaction: events, health and alerts together.
	Tx(ctx context.Context, fn func(IngestTx) error) error
	UpdateHealth(ctx context.Context, updates []devices.HealthUpdate) error
	RecordUnregistered(ctx context.Context, id, detail string, at time.Time) error
}

// IngestConfig configures an Ingest.
type IngestConfig struct {
	Index   *DeviceIndex
	Store   IngestStore
	Spool   Spool
	Limits  devices.Limits // zero value means devices.DefaultLimits
	Metrics *Metrics
	Now     func() time.Time
	// Alerting is the door every commit path goes through: it applies
	// the alert rules in the same transactions that store the messages.
	Alerting *Alerting
	// Calls takes call signalling; nil ignores it.
	Calls *Calls
	// Routes addresses vendor messages (Zigbee2MQTT, Shelly); nil takes
	// native messages only. Vendor keeps what bridges report and each
	// device's refusals.
	Routes *VendorRoutes
	Vendor VendorStore

	// Queue and MaxBatch bound each commit path: how many messages wait
	// and how many go into one transaction.
	Queue, MaxBatch int
	// HealthFlushEvery is how often last-seen, battery and signal from
	// telemetry are written to the registry.
	HealthFlushEvery time.Duration
}

// Device health is written healthFlushChunk devices to a transaction, so an
// event commit waits for at most one such chunk; a failing flush is retried
// at growing intervals up to healthFlushMaxWait.
const (
	healthFlushChunk   = 128
	healthFlushMaxWait = time.Minute
)

// A telemetry commit that finds fewer than telemetryLingerBelow messages
// queued waits up to telemetryLinger for more (see committer.linger).
const (
	telemetryLinger      = 10 * time.Millisecond
	telemetryLingerBelow = 64
)

// Ingest routes messages from devices: it decodes and validates them,
// de-duplicates them, makes them durable and then acknowledges them.
type Ingest struct {
	cfg     IngestConfig
	logger  *slog.Logger
	limited *limitedLogger

	telemetry *committer[*devices.Message]
	store     *committer[*devices.Message]
	// gate puts the event committer's store transactions before
	// telemetry's (health, telemetry alerts).
	gate   *storeGate
	vendor *committer[*vendorMsg]

	// vstates is the vendor committer's cache of committed vendor state,
	// and varrival the arrival number of each device's last applied state.
	vstates  map[string]devices.VendorState
	varrival map[string]uint64

	// windows is owned by the telemetry committer goroutine, and so is
	// changed, the scratch map of a batch's windows, kept between batches
	// so a busy hub does not grow a new one for every commit.
	windows map[string]devices.SeqWindow
	changed map[string]devices.SeqWindow

	health   *healthTracker
	refusals refusalBudget
	refusalq chan refusalNote // see NoteRefusal

	// closing stops new deliveries; inflight tracks handler calls that may
	// still send on the committers' channels.
	closing  atomic.Bool
	quit     chan struct{}
	inflight sync.WaitGroup

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewIngest validates cfg and loads the de-duplication windows.
func NewIngest(ctx context.Context, cfg IngestConfig, logger *slog.Logger) (*Ingest, error) {
	switch {
	case cfg.Index == nil:
		return nil, errors.New("ingest: Index is required")
	case cfg.Store == nil:
		return nil, errors.New("ingest: Store is required")
	case cfg.Spool == nil:
		return nil, errors.New("ingest: Spool is required")
	case cfg.Metrics == nil:
		return nil, errors.New("ingest: Metrics is required")
	case cfg.Alerting == nil:
		return nil, errors.New("ingest: Alerting is required")
	}
	if cfg.Limits == (devices.Limits{}) {
		cfg.Limits = devices.DefaultLimits
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.HealthFlushEvery <= 0 {
		cfg.HealthFlushEvery = 5 * time.Second
	}
	windows, err := cfg.Spool.SeqWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: load seq windows: %w", err)
	}
	in := &Ingest{
		cfg: cfg, logger: logger, windows: windows,
		limited: newLimitedLogger(logger, 10*time.Second, cfg.Now),
		health:  newHealthTracker(),
		quit:    make(chan struct{}),
		gate:    newStoreGate(),
		vstates: map[string]devices.VendorState{}, varrival: map[string]uint64{},
		refusalq: make(chan refusalNote, 256),
	}
	// Telemetry may wait a little to share a transaction; events never do.
	in.telemetry = newCommitter("telemetry", cfg.Queue, cfg.MaxBatch, in.commitTelemetry, cfg.Metrics.observeCommit("telemetry"), logger).
		lingering(telemetryLinger, telemetryLingerBelow)
	in.store = newCommitter("event", cfg.Queue, cfg.MaxBatch, in.commitStore, cfg.Metrics.observeCommit("event"), logger)
	in.vendor = newCommitter("vendor", cfg.Queue, cfg.MaxBatch, in.commitVendor, cfg.Metrics.observeCommit("vendor"), logger)
	return in, nil
}

// Run starts the commit paths and the health flusher. It returns at once;
// Close stops them.
func (in *Ingest) Run() {
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	in.wg.Add(5)
	go func() { defer in.wg.Done(); in.recordRefusals() }()
	go func() { defer in.wg.Done(); in.telemetry.run(ctx) }()
	go func() { defer in.wg.Done(); in.store.run(ctx) }()
	go func() { defer in.wg.Done(); in.vendor.run(ctx) }()
	go func() { defer in.wg.Done(); in.flushHealthEvery(ctx) }()
}

// Handle takes one MQTT message. It is safe for concurrent use. ack is
// called once the message is durably stored or definitively rejected;
// during shutdown new messages are left unacknowledged for redelivery.
func (in *Ingest) Handle(topic string, payload []byte, ack func()) {
	in.Deliver(Delivery{Topic: topic, Payload: payload}, ack)
}

// Delivery is one message as a broker delivered it.
type Delivery struct {
	Topic   string
	Payload []byte
	// Retained marks an old state (a vendor press in it is not a new
	// press); Duplicate a message delivered again (a vendor message the hub
	// committed already is not applied twice).
	Retained, Duplicate bool
	// Arrival orders deliveries as they came off the connections (see
	// mqttc.Message.Arrival); 0 when unknown. A vendor device's states are
	// applied in this order.
	Arrival uint64
}

// Deliver is Handle with what the broker says of the message.
func (in *Ingest) Deliver(dv Delivery, ack func()) {
	topic, payload := dv.Topic, dv.Payload
	in.inflight.Add(1)
	defer in.inflight.Done()
	if in.closing.Load() {
		return
	}
	now := in.cfg.Now()
	if !strings.HasPrefix(topic, devices.TopicPrefix) {
		in.handleVendor(dv, ack, now)
		return
	}
	id, ch, rest, err := devices.ParseTopic(topic)
	if err != nil {
		in.rejectMsg(devices.ReasonBadTopic, "", topic, err)
		ack()
		return
	}
	slot, d, ok := in.cfg.Index.lookup(id)
	if !ok {
		in.rejectMsg(devices.ReasonUnregistered, id, topic, errors.New("no registered device with this id"))
		in.NoteUnregistered(id, "published on "+string(ch), now)
		ack()
		return
	}
	if ch == devices.ChannelCall && in.cfg.Calls != nil {
		// Signalling is not stored: a redelivered offer is recognised by
		// its call id.
		in.cfg.Calls.handle(d, rest, payload)
		ack()
		return
	}
	if ch != devices.ChannelEvent && ch != devices.ChannelTelemetry && ch != devices.ChannelStatus {
		// Downlink echoes are not ingested.
		in.cfg.Metrics.countIgnored()
		ack()
		return
	}
	m, err := devices.Decode(in.cfg.Limits, d.Kind, ch, payload, now)
	if err != nil {
		in.rejectMsg(devices.RejectionReason(err), id, topic, err)
		in.NoteRefusal(id, devices.RejectionReason(err), clipTopic(topic)+": "+err.Error()+" — "+clipPayload(payload), now)
		ack()
		return
	}
	m.DeviceID = id
	if ch != devices.ChannelStatus || m.Status.Online {
		in.cfg.Alerting.seenAt(slot, d, now)
	}
	if m.TSFlag != devices.TSOK {
		in.cfg.Metrics.countTSFlag(m.TSFlag)
	}
	in.cfg.Metrics.countReceived(ch)
	path := in.store
	if ch == devices.ChannelTelemetry {
		path = in.telemetry
	}
	path.put(m, ack, in.quit)
}

func (in *Ingest) rejectMsg(reason devices.Reason, id, topic string, err error) {
	in.cfg.Metrics.countRejected(reason)
	in.limited.Warn(string(reason), "message rejected", "reason", reason, "device", id, "topic", clipTopic(topic), "err", err)
}

// NoteUnregistered records an unregistered device for installers, at most
// once a minute per ID so a chatty stranger cannot load the database. The
// broker calls it for refused connections too.
func (in *Ingest) NoteUnregistered(id, detail string, now time.Time) {
	if id == "" || !in.limited.Allow("unreg:"+id, time.Minute) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.cfg.Store.RecordUnregistered(ctx, id, detail, now); err != nil {
		in.logger.Warn("record unregistered device", "device", id, "err", err)
	}
}

// commitTelemetry de-duplicates a batch against the windows, formats the new
// messages as line protocol and appends them and the windows to the spool in
// one transaction. The windows change in memory only once that commit holds.
func (in *Ingest) commitTelemetry(ctx context.Context, batch []*devices.Message) error {
	if in.changed == nil {
		in.changed = make(map[string]devices.SeqWindow, len(batch))
	}
	changed := in.changed
	clear(changed)
	lines := make([][]byte, 0, len(batch))
	var relevant []*devices.Message
	var dups, restarts, late int
	for _, m := range batch {
		w, ok := changed[m.DeviceID]
		if !ok {
			w = in.windows[m.DeviceID]
		}
		switch w.Accept(m.Seq, m.TS.UnixMilli()) {
		case devices.SeqDuplicate:
			dups++
			continue
		case devices.SeqRestart:
			restarts++
		case devices.SeqLate:
			late++
		}
		changed[m.DeviceID] = w
		d, ok := in.cfg.Index.Get(m.DeviceID)
		if !ok {
			continue // deleted since it was routed; nothing to file it under
		}
		lines = append(lines, influx.Line(m, d.Location))
		in.health.seen(m)
		if in.cfg.Alerting.telemetryMatters(d, m) {
			relevant = append(relevant, m)
		}
	}
	if err := in.applyTelemetryAlerts(ctx, relevant); err != nil {
		return err
	}
	if len(changed) > 0 {
		if err := in.cfg.Spool.Append(ctx, lines, changed); err != nil {
			return fmt.Errorf("append to spool: %w", err)
		}
	}
	for id, w := range changed {
		in.windows[id] = w
	}
	in.cfg.Metrics.countStored(devices.ChannelTelemetry, len(lines))
	in.cfg.Metrics.countDuplicates(devices.ChannelTelemetry, dups)
	in.cfg.Metrics.countSeqRestartsLate(restarts, late)
	return nil
}

// applyTelemetryAlerts applies the few readings that may matter to alerts
// in one store transaction, before the batch goes to the spool. Each is
// recorded as a trigger, so when the spool append fails and the batch is
// retried, a reading is not applied twice.
func (in *Ingest) applyTelemetryAlerts(ctx context.Context, relevant []*devices.Message) error {
	if len(relevant) == 0 {
		return nil
	}
	// Behind any event commit: SQLite has one writer (see storeGate).
	err := in.gate.background(ctx, func() error {
		return in.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
			for _, m := range relevant {
				if err := tx.HandleReading(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("apply telemetry to alerts: %w", err)
	}
	return nil
}

// commitStore makes events and status changes durable in the main store,
// with the alerts they open or change, in one transaction.
func (in *Ingest) commitStore(ctx context.Context, batch []*devices.Message) error {
	var events, statuses []*devices.Message
	var updates []devices.HealthUpdate
	for _, m := range batch {
		switch m.Channel {
		case devices.ChannelEvent:
			events = append(events, m)
			// An event is rare and urgent: the console should show the
			// device as just heard from at once, not at the next flush.
			online := true
			updates = append(updates, devices.HealthUpdate{ID: m.DeviceID, LastSeen: m.Received, Online: &online})
		case devices.ChannelStatus:
			statuses = append(statuses, m)
			online := m.Status.Online
			updates = append(updates, devices.HealthUpdate{
				ID: m.DeviceID, LastSeen: m.Received, Online: &online,
				Battery: m.Status.Battery, Signal: m.Status.Signal,
			})
		}
	}
	var dups int
	in.gate.urgentStart()
	defer in.gate.urgentDone()
	err := in.cfg.Alerting.Update(ctx, func(tx *AlertTx) error {
		dups = 0
		inserted, err := tx.Store().RecordEvents(ctx, events)
		if err != nil {
			return fmt.Errorf("record events: %w", err)
		}
		for i, m := range events {
			if inserted[i] {
				err = tx.HandleMessage(ctx, m)
			} else {
				// A redelivery: its acknowledgement is sent again.
				dups++
				err = tx.HandleDuplicate(ctx, m)
			}
			if err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			if err := tx.Store().UpdateHealth(ctx, updates); err != nil {
				return fmt.Errorf("update status: %w", err)
			}
		}
		for _, m := range statuses {
			if err := tx.HandleMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	in.cfg.Metrics.countStored(devices.ChannelEvent, len(events)-dups)
	in.cfg.Metrics.countDuplicates(devices.ChannelEvent, dups)
	in.cfg.Metrics.countStored(devices.ChannelStatus, len(statuses))
	return nil
}

// flushHealthEvery writes device health every HealthFlushEvery; after a
// failure it waits twice as long each time, up to healthFlushMaxWait.
func (in *Ingest) flushHealthEvery(ctx context.Context) {
	wait := in.cfg.HealthFlushEvery
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if in.flushHealth(ctx) {
			wait = in.cfg.HealthFlushEvery
		} else {
			wait = min(2*wait, max(healthFlushMaxWait, in.cfg.HealthFlushEvery))
		}
		t.Reset(wait)
	}
}

// flushHealth writes the pending health updates, healthFlushChunk devices
// to a transaction, each behind any event commit (storeGate). What fails
// is kept for the next flush. It reports whether everything was written.
func (in *Ingest) flushHealth(ctx context.Context) bool {
	updates := in.health.take()
	for i := 0; i < len(updates); i += healthFlushChunk {
		chunk := updates[i:min(i+healthFlushChunk, len(updates))]
		err := in.gate.background(ctx, func() error { return in.cfg.Store.UpdateHealth(ctx, chunk) })
		if err != nil {
			in.health.restore(updates[i:])
			if ctx.Err() == nil {
				in.limited.Warn("health-flush", "flush device health; keeping it for the next flush", "devices", len(updates)-i, "err", err)
			}
			return false
		}
	}
	return true
}

// Close stops ingest in order: no new deliveries, then the queued messages
// are committed and acknowledged, then device health is flushed. Messages
// that arrive meanwhile stay unacknowledged and are redelivered by the
// broker. ctx bounds the drain; past it, what is left is abandoned unacked.
func (in *Ingest) Close(ctx context.Context) {
	in.closeOnce.Do(func() {
		in.closing.Store(true)
		close(in.quit)
		in.inflight.Wait()
		in.telemetry.close()
		in.store.close()
		in.vendor.close()
		if in.cancel == nil { // never ran
			return
		}
		drained := make(chan struct{})
		go func() {
			<-in.telemetry.drained()
			<-in.store.drained()
			<-in.vendor.drained()
			close(drained)
		}()
		select {
		case <-drained:
		case <-ctx.Done():
			in.cancel()
			<-drained
		}
		in.cancel()
		in.wg.Wait()
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		in.flushHealth(flushCtx)
	})
}

// CommitFailures describes the commit paths that cannot commit now, for
// readiness; none means both commit.
func (in *Ingest) CommitFailures() []string {
	var out []string
	for _, c := range []*committer[*devices.Message]{in.store, in.telemetry} {
		if f, ok := c.failure(); ok {
			out = append(out, f.String())
		}
	}
	return out
}

func clipTopic(t string) string {
	if len(t) > 120 {
		return t[:120] + "…"
	}
	return t
}
