package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxlog "github.com/influxdata/influxdb-client-go/v2/log"
)

// Spool is the durable outbox the Writer drains: an ordered queue of
// line-protocol lines that survives restarts. Lines leave it only through
// Remove, after InfluxDB has taken them (or they were set aside as rejected).
type Spool interface {
	// Peek returns up to max of the oldest lines, oldest first, and the ID
	// of the last of them. An empty spool returns no lines and no error.
	Peek(ctx context.Context, max int) (lastID int64, lines [][]byte, err error)
	// Remove deletes every line up to and including throughID.
	Remove(ctx context.Context, throughID int64) error
	// Appended returns a channel that receives after lines are appended.
	// A signal sent while nobody waits must not be lost (a buffer of one
	// and a non-blocking send does it), or the Writer could sleep on a
	// spool that is not empty.
	Appended() <-chan struct{}
	// Depth returns the number of lines waiting.
	Depth() int64
}

// Config configures a Writer. URL and Bucket are required.
type Config struct {
	URL    string // e.g. http://127.0.0.1:8086
	Token  string // 1.8: "user:password", or empty without authentication; 2.x: an API token
	Org    string // 2.x organisation; 1.8 ignores it
	Bucket string // 1.8: "database/retention-policy"; 2.x: the bucket name

	BatchSize      int           // lines per write request; default 5000
	MaxBackoff     time.Duration // longest wait between retries; default 30s
	DeadLetterPath string        // rejected lines are appended here; empty: they are only logged
	Timeout        time.Duration // per request; default 10s
	// Linger is how long the writer waits for a full batch after writing
	// a partial one, so a moderate, steady flow goes out in a few larger
	// requests (and spool removals) instead of many small ones; default
	// 100ms, negative for none. Telemetry reaches InfluxDB up to this much
	// later; nothing is held back from the spool.
	Linger time.Duration
}

// Defaults for the zero values of Config.
const (
	DefaultBatchSize  = 5000
	DefaultMaxBackoff = 30 * time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultLinger     = 100 * time.Millisecond
)

func (c *Config) validate() error {
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("influx config: url %q: want http://host:port", c.URL)
	}
	if c.Bucket == "" {
		return errors.New(`influx config: bucket: required ("database/retention-policy" on InfluxDB 1.8)`)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("influx config: batch size %d: must not be negative", c.BatchSize)
	}
	if c.MaxBackoff < 0 {
		return fmt.Errorf("influx config: max backoff %v: must not be negative", c.MaxBackoff)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("influx config: timeout %v: must not be negative", c.Timeout)
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	return nil
}

// WriterStats is a snapshot of a Writer's counters.
type WriterStats struct {
	Written      int64     // lines InfluxDB accepted
	Batches      int64     // batches finished and removed from the spool
	Failures     int64     // attempts that failed and were retried (InfluxDB or spool)
	DeadLettered int64     // lines InfluxDB rejected for good, set aside
	LastError    string    // the latest failure, kept after recovery
	LastSuccess  time.Time // the latest accepted write; zero before the first
	Reachable    bool      // whether the latest write or ping reached a working InfluxDB; false before the first
	Depth        int64     // lines waiting in the spool
}

// Writer drains a Spool into InfluxDB, in order, losing nothing: lines
// leave the spool only once InfluxDB has accepted them, or rejected them for
// good and they were set aside in the dead-letter file.
type Writer struct {
	cfg    Config
	spool  Spool
	log    *slog.Logger
	client influxdb2.Client
	http   *http.Transport
	write  api.WriteAPIBlocking

	// Tunables that tests shorten.
	minBackoff time.Duration // first retry delay, doubling to cfg.MaxBackoff
	logEvery   time.Duration // at most one failure log line per interval
	pingEvery  time.Duration // Run's health check while the spool is empty

	// drain is a one-slot lock, taken with a context, so that Run and
	// Flush never write the same batch twice. It guards the fields below.
	drain    chan struct{}
	pending  *batch
	backoff  time.Duration
	streak   streak
	rejectAt time.Time // last time a rejection was logged

	written, batches, failures, deadLettered atomic.Int64
	lastError                                atomic.Pointer[string]
	lastSuccess                              atomic.Int64 // Unix ns
	lastSize                                 atomic.Int64 // lines in the last batch written, for Run's linger
	reachable                                atomic.Bool

	deadMu    sync.Mutex // serialises appends to the dead-letter file
	closeOnce sync.Once
}

// streak is a run of failed attempts, kept to log an outage a few times
// instead of once per retry.
type streak struct {
	count    int64
	since    time.Time
	loggedAt time.Time
}

// NewWriter returns a Writer that drains spool into the InfluxDB cfg names.
// It does not contact the server; Ping does.
func NewWriter(cfg Config, spool Spool, logger *slog.Logger) (*Writer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if spool == nil {
		return nil, errors.New("influx writer: spool: required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	opts := influxdb2.DefaultOptions().
		SetApplicationName("shouwang").
		SetLogLevel(influxlog.ErrorLevel).
		SetPrecision(time.Nanosecond).
		// The blocking write API does not retry, but say so: this Writer
		// retries by itself, keeping lines in the durable spool meanwhile.
		SetMaxRetries(0).
		// Timeouts are per request, through contexts.
		SetHTTPClient(&http.Client{Transport: transport})
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	return &Writer{
		cfg:        cfg,
		spool:      spool,
		log:        logger,
		client:     client,
		http:       transport,
		write:      client.WriteAPIBlocking(cfg.Org, cfg.Bucket),
		minBackoff: 100 * time.Millisecond,
		logEvery:   time.Minute,
		pingEvery:  30 * time.Second,
		drain:      make(chan struct{}, 1),
	}, nil
}

// Run drains the spool until ctx is done, waiting for appends when it is
// empty. It pings InfluxDB at the start and every pingEvery while idle, so
// that Stats().Reachable stays current when there is nothing to write. When
// ctx ends it abandons the batch in flight without removing it (a later
// Flush or Run picks it up) and returns nil.
func (w *Writer) Run(ctx context.Context) error {
	_ = w.Ping(ctx) // only for Reachable; writes report their own errors
	idle := time.NewTimer(w.pingEvery)
	defer idle.Stop()
	for {
		empty, err := w.drainOne(ctx)
		if err != nil || ctx.Err() != nil {
			return nil // only ctx ends drainOne with an error
		}
		if !empty {
			if w.lastSize.Load() < int64(w.cfg.BatchSize) && !w.linger(ctx) {
				return nil
			}
			continue
		}
		idle.Reset(w.pingEvery)
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-w.spool.Appended():
				break wait
			case <-idle.C:
				_ = w.Ping(ctx)
				idle.Reset(w.pingEvery)
			}
		}
	}
}

// linger waits, after a partial batch, until a full batch waits in the
// spool or cfg.Linger has passed. It reports false when ctx ended.
func (w *Writer) linger(ctx context.Context) bool {
	if w.cfg.Linger <= 0 || w.spool.Depth() >= int64(w.cfg.BatchSize) {
		return ctx.Err() == nil
	}
	t := time.NewTimer(w.cfg.Linger)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-w.spool.Appended():
			if w.spool.Depth() >= int64(w.cfg.BatchSize) {
				return true
			}
		}
	}
}

// Flush drains what is in the spool now, retrying as Run does, and returns
// nil once the spool is empty or ctx's error when ctx ends first. It is
// meant for shutdown, after the producers have stopped.
func (w *Writer) Flush(ctx context.Context) error {
	for {
		empty, err := w.drainOne(ctx)
		if err != nil {
			return fmt.Errorf("flush influx writer: %w", err)
		}
		if empty {
			return nil
		}
	}
}

// Ping checks that InfluxDB answers, through /ping, which both 1.8 and 2.x
// serve. It does not check the token or the bucket: writes do.
func (w *Writer) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	if _, err := w.client.Ping(ctx); err != nil {
		w.reachable.Store(false)
		return fmt.Errorf("ping influx: %w", err)
	}
	w.reachable.Store(true)
	return nil
}

// Stats returns a snapshot of the counters. It is safe to call at any time.
func (w *Writer) Stats() WriterStats {
	s := WriterStats{
		Written:      w.written.Load(),
		Batches:      w.batches.Load(),
		Failures:     w.failures.Load(),
		DeadLettered: w.deadLettered.Load(),
		Reachable:    w.reachable.Load(),
		Depth:        w.spool.Depth(),
	}
	if p := w.lastError.Load(); p != nil {
		s.LastError = *p
	}
	if ns := w.lastSuccess.Load(); ns != 0 {
		s.LastSuccess = time.Unix(0, ns)
	}
	return s
}

// Close releases the client's connections. Call it after Run and Flush
// have returned; it is idempotent.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.client.Close()
		w.http.CloseIdleConnections()
	})
	return nil
}
