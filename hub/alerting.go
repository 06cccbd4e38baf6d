package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// IngestTx is one transaction of the main store as ingest uses it: device
// events and health, and alerts, committed together.
type IngestTx interface {
	alerts.Tx
	RecordEvents(ctx context.Context, msgs []*devices.Message) (inserted []bool, err error)
	UpdateHealth(ctx context.Context, updates []devices.HealthUpdate) error
}

// AlertStore is the main store as alerting uses it.
type AlertStore interface {
	alerts.Store
	// Tx runs fn in one transaction with the ingest view of it.
	Tx(ctx context.Context, fn func(IngestTx) error) error
	// UnclearedLatest returns, per device, its latest alert of kind if that
	// alert is not cleared (the low-battery latch), at start.
	UnclearedLatest(ctx context.Context, kind alerts.Kind) ([]*alerts.Alert, error)
	// OpenMemberships returns the members of open incidents not heard from
	// again (devices supervision had found offline), at start.
	OpenMemberships(ctx context.Context) ([]alerts.IncidentMember, error)
}

// Publisher sends a downlink message to a device.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
}

// AlertingConfig configures Alerting.
type AlertingConfig struct {
	Service *alerts.Service
	Rules   alerts.RuleSet
	Store   AlertStore
	Index   *DeviceIndex
	Metrics *Metrics
	// Notifier delivers notifications outside the console; nil: none is
	// configured, and a queued one fails as unrouted.
	Notifier Deliverer
	Now      func() time.Time
	// Spool, when set, receives every alert change as a record made by
	// Format (an InfluxDB line), for dashboards.
	Spool  Spool
	Format RecordFormat
	// PhotoDir is where photos taken at a household are kept, one
	// directory per alert (photos.go); empty keeps none.
	PhotoDir string
	// FoldEvery is how often an alert's folded readings are written
	// (fold.go); zero means DefaultFoldEvery.
	FoldEvery time.Duration
	// Leases, when set, runs the singleton work (supervision of silent
	// devices) under a lease; without, it runs here.
	Leases *Leases
	// Instances, when set, means several instances share the store (see
	// docs/architecture.md, "Several instances"): the view of open alerts
	// follows the change feed, which carries every instance's commits; a
	// redelivered event that another live instance stored is left to it.
	Instances *Instances
}

// Alerting runs the alerts domain inside the hub. It applies device
// messages, operators' actions, timers and supervision to alerts in store
// transactions, and after each commit it acknowledges to devices and wakes
// the timer runner, the notifier and the change feed. It keeps an
// in-memory view of which devices have open alerts, so telemetry touches
// the store only when a reading may matter.
type Alerting struct {
	cfg    AlertingConfig
	svc    *alerts.Service
	logger *slog.Logger

	mu   sync.Mutex
	open map[string]alerts.OpenSet

	pubMu sync.RWMutex
	pub   Publisher

	folds *folder     // repeated readings waiting to be written
	gate  *storeGate  // events before background writes (committer.go); ingest shares it
	homes *households // full records of devices with open alerts

	acks       chan alerts.DeviceAck
	timersWake chan struct{}
	notifyWake chan struct{}
	feed       *Feed
	super      *supervision
	checkins   atomic.Pointer[Checkins] // the check-in book, once it joins (checkins.go)

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// NewAlerting loads what it needs from the store; Start starts the runners.
func NewAlerting(ctx context.Context, cfg AlertingConfig, logger *slog.Logger) (*Alerting, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("alerting: Service is required")
	case cfg.Store == nil:
		return nil, errors.New("alerting: Store is required")
	case cfg.Index == nil:
		return nil, errors.New("alerting: Index is required")
	case cfg.Metrics == nil:
		return nil, errors.New("alerting: Metrics is required")
	case cfg.Spool != nil && cfg.Format == nil:
		return nil, errors.New("alerting: Format is required with a Spool")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FoldEvery <= 0 {
		cfg.FoldEvery = DefaultFoldEvery
	}
	open, err := cfg.Store.OpenAlertsAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerting: load open alerts: %w", err)
	}
	latched, err := cfg.Store.UnclearedLatest(ctx, alerts.KindLowBattery)
	if err != nil {
		return nil, fmt.Errorf("alerting: load battery latches: %w", err)
	}
	last, err := cfg.Store.LastChangeSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerting: read the change feed: %w", err)
	}
	a := &Alerting{
		cfg: cfg, svc: cfg.Service, logger: logger,
		open:       alerts.Summarize(append(open, latched...)),
		folds:      newFolder(),
		gate:       newStoreGate(),
		homes:      newHouseholds(cfg.Index),
		acks:       make(chan alerts.DeviceAck, 4096),
		timersWake: make(chan struct{}, 1),
		notifyWake: make(chan struct{}, 1),
	}
	a.feed = newFeed(cfg.Store, last, cfg.Spool, cfg.Format, logger.With("part", "feed"))
	if cfg.Instances != nil {
		a.feed.follow(a.foldFeed)
	}
	a.super = newSupervision(a, cfg.Index, cfg.Metrics, cfg.Now, cfg.Rules, logger.With("part", "supervision"))
	if cfg.Instances != nil {
		a.super.setShared(cfg.Rules)
	}
	if err := a.loadOffline(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Feed is the alert change feed.
func (a *Alerting) Feed() *Feed { return a.feed }

// Start runs the acknowledgement publisher, the timer runner, the
// notifier, the feed and supervision until Close.
func (a *Alerting) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	runs := a.startNotifier([]func(context.Context){a.publishAcks, a.runTimers, a.feed.run, a.runFolds})
	if a.cfg.Leases != nil {
		// One instance watches for silence; its verdicts are fenced by
		// the lease's epoch (supervision.fence).
		a.cfg.Leases.Singleton(LeaseSupervision, func(ctx context.Context, l Lease) {
			a.super.setLease(l)
			a.super.run(ctx)
		})
	} else {
		runs = append(runs, a.super.run)
	}
	for _, run := range runs {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); run(ctx) }()
	}
	wake(a.timersWake)
	wake(a.notifyWake)
	a.feed.wake()
}

// Close stops the runners and writes the folded readings still pending
// (ingest has stopped by then). Timers and notifications stay in the store
// for the next start.
func (a *Alerting) Close() {
	a.once.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		if n := a.folds.pending(); n > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.writeFolds(ctx, 0, 0); err != nil {
				a.logger.Warn("folded readings not written at shutdown; their count is lost (the readings are in the spool)", "alerts", n, "err", err)
			}
		}
	})
}

// writeGate is the gate that puts event commits before background writes
// to the store (telemetry's, the health flush's and the folds'); ingest
// shares it.
func (a *Alerting) writeGate() *storeGate { return a.gate }

// committed runs after a transaction that changed alerts has committed.
func (a *Alerting) committed(results ...alerts.Result) {
	changed := false
	var opened map[int64]bool // an alert is at version 1 for its whole opening transaction: count it once
	for _, r := range results {
		if len(r.Changed) > 0 {
			changed = true
			if a.cfg.Instances == nil {
				a.fold(r.Changed...)
			}
			for _, al := range r.Changed {
				if al.Version != 1 || opened[al.ID] {
					continue
				}
				if opened == nil {
					opened = map[int64]bool{}
				}
				opened[al.ID] = true
				a.cfg.Metrics.observeAlert(al)
			}
		}
		for _, ack := range r.Acks {
			select {
			case a.acks <- ack:
			default:
				a.cfg.Metrics.countAckDropped()
				a.logger.Warn("device acknowledgement queue full; dropped", "device", ack.DeviceID)
			}
		}
	}
	if changed {
		wake(a.timersWake)
		wake(a.notifyWake)
		a.feed.wake()
	}
	a.noteCheckins(results)
}

// FeedRang tells the change feed that another instance committed changes
// (its doorbell rang): the feed reads them from the store, and the timer
// runner and the notifier look again for their next due time — a commit
// of another instance may have armed a timer or queued a notification,
// which this instance must fire or send on time if the other dies (they
// slept until their own next due time, or a minute).
func (a *Alerting) FeedRang() {
	wake(a.timersWake)
	wake(a.notifyWake)
	a.feed.wake()
}

// ListAlerts lists alerts for the console.
func (a *Alerting) ListAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, int, error) {
	return a.cfg.Store.ListAlerts(ctx, f)
}

// FindAlert returns one alert with its timeline.
func (a *Alerting) FindAlert(ctx context.Context, id int64) (*alerts.Alert, error) {
	return a.cfg.Store.FindAlert(ctx, id)
}

// AnswerStats returns the answer-time figures.
func (a *Alerting) AnswerStats(ctx context.Context, from, to time.Time) (alerts.AnswerStats, error) {
	return a.cfg.Store.AnswerStats(ctx, from, to)
}

// Transition applies an operator's action in one transaction; once it
// commits, the device is told and every console sees the change.
func (a *Alerting) Transition(ctx context.Context, req alerts.TransitionRequest) (*alerts.Alert, error) {
	var al *alerts.Alert
	err := a.Update(ctx, func(tx *AlertTx) error {
		var err error
		al, err = tx.Transition(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return al, nil
}

// DeviceChanged tells supervision a device was registered, changed or
// removed.
func (a *Alerting) DeviceChanged(id string) {
	a.homes.forget(id)
	a.super.deviceChanged(id)
}

// Seen tells supervision a device spoke.
func (a *Alerting) Seen(id string, at time.Time) { a.super.seen(id, at) }

// seenAt is Seen for a device ingest has already looked up, with the
// message's arrival number (0 if not known).
func (a *Alerting) seenAt(slot int32, d IndexedDevice, at time.Time, arrival uint64) {
	a.super.seenAt(slot, d, at, arrival)
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleepUntil waits until due (or at most max), a wake-up, or ctx's end.
// It reports false when ctx ended.
func sleepUntil(ctx context.Context, now time.Time, due time.Time, ok bool, limit time.Duration, wakeCh <-chan struct{}) bool {
	wait := limit
	if ok {
		wait = min(max(due.Sub(now), 0), wait)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wakeCh:
	case <-t.C:
	}
	return true
}
