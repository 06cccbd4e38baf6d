package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// IngestStore is what ingest needs from the main store outside the door's
// transactions (Alerting.Update).
type IngestStore interface {
	UpdateHealth(ctx context.Context, updates []devices.HealthUpdate) error
	RecordUnregistered(ctx context.Context, id, detail string, at time.Time) error
}

// IngestConfig configures an Ingest.
type IngestConfig struct {
	Index   *DeviceIndex
	Store   IngestStore
	Spool   Spool
	Format  RecordFormat   // makes the spool's records (influx.Format)
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
	// Recheck, when set (several instances), is read for a device the
	// index does not know before its message is refused (see recheck).
	Recheck IndexSource
	// Shared: several instances share the store, and each receives every
	// vendor message. Vendor state is then read from the store in every
	// transaction (another instance may have changed it), and a message
	// another instance committed moments ago is its copy (see
	// vendorCopyWindow).
	Shared bool
}

// Ingest routes messages from devices: it decodes and validates them,
// de-duplicates them, makes them durable and then acknowledges them.
type Ingest struct {
	cfg     IngestConfig
	logger  *slog.Logger
	limited *limitedLogger

	telemetry *committer[telemetryItem]
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
	recheck  *recheck // nil for a hub alone
	refusals refusalBudget
	refusalq chan refusalNote // see NoteRefusal

	// closing stops new deliveries; inflight tracks handler calls that may
	// still send on the committers' channels. A delivery joins inflight
	// under closeMu's read lock and Close sets closing under its write lock,
	// so no Add can race the Wait that follows (a WaitGroup forbids it).
	closeMu  sync.RWMutex
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
	case cfg.Format == nil:
		return nil, errors.New("ingest: Format is required")
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
		gate:    cfg.Alerting.writeGate(),
		vstates: map[string]devices.VendorState{}, varrival: map[string]uint64{},
		refusalq: make(chan refusalNote, 256),
	}
	if cfg.Recheck != nil {
		in.recheck = newRecheck(cfg.Recheck)
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

// Close stops ingest in order: no new deliveries, then the queued messages
// are committed and acknowledged, then device health is flushed. Messages
// that arrive meanwhile stay unacknowledged and are redelivered by the
// broker. ctx bounds the drain; past it, what is left is abandoned unacked.
func (in *Ingest) Close(ctx context.Context) {
	in.closeOnce.Do(func() {
		in.closeMu.Lock()
		in.closing.Store(true)
		in.closeMu.Unlock()
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
	for _, f := range []func() (commitFailure, bool){in.store.failure, in.telemetry.failure} {
		if f, ok := f(); ok {
			out = append(out, f.String())
		}
	}
	return out
}
