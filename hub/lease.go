package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Lease is a lease as held: singleton work runs under it, and its epoch
// fences that work (docs/architecture.md, "Several instances"). The epoch
// grows every time the lease changes hands.
type Lease struct {
	Name   string
	Holder string
	Epoch  int64
}

// LeaseStore grants leases. The SQL store does, by the database's clock.
type LeaseStore interface {
	// AcquireLease takes name for holder for ttl, or renews it; false when
	// another holder's lease has not expired.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease gives l up if it is still held at its epoch.
	ReleaseLease(ctx context.Context, l Lease) error
}

// LeasesConfig configures Leases.
type LeasesConfig struct {
	// Store grants the leases; nil means this hub runs alone (SQLite):
	// every lease is held at once, at epoch 1, and never lost.
	Store  LeaseStore
	Holder string        // this instance's name
	TTL    time.Duration // how long a grant lasts; default 10 s
	Renew  time.Duration // how often held leases are renewed and free ones tried; default TTL/4
}

// Leases runs singleton work under leases: each registered job runs on at
// most one instance at a time, on the instance holding its lease, with a
// context that ends when the lease is lost. Held leases are renewed every
// Renew; a job whose lease could not be renewed for TTL-2×Renew is stopped
// before the lease can have passed to another instance. Free leases are
// tried every Renew, or at once after Wake (another instance gave one up),
// so a dead instance's leases pass to a survivor within TTL+Renew, and a
// cleanly stopped one's at once.
//
// A job that returns on its own (not because its context ended) gives its
// lease up and does not take it again for three renewal periods: that is
// how an instance hands back what it borrowed (see Instances).
//
// Leases does not make work exactly-once by itself: a job's writes check
// the lease in their transaction (the fencing epoch), so a job whose lease
// lapsed cannot commit after its successor started.
type Leases struct {
	cfg    LeasesConfig
	logger *slog.Logger
	wake   chan struct{}

	mu   sync.Mutex
	jobs map[string]*leaseJob
	done bool
}

// leaseJob is one registered job and, while it runs, its lease.
type leaseJob struct {
	name    string
	run     func(ctx context.Context, l Lease)
	lease   Lease
	held    bool
	renewed time.Time // last successful grant or renewal, by this clock
	cancel  context.CancelFunc
	stopped chan struct{} // closed when run returns
	yielded time.Time     // when run last returned on its own
	drop    bool          // unregistered: stop, release, forget
}

// NewLeases validates cfg.
func NewLeases(cfg LeasesConfig, logger *slog.Logger) (*Leases, error) {
	if cfg.Holder == "" {
		return nil, errors.New("leases: Holder is required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Renew <= 0 {
		cfg.Renew = cfg.TTL / 4
	}
	if 3*cfg.Renew > cfg.TTL {
		return nil, errors.New("leases: Renew must be at most a third of TTL")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Leases{cfg: cfg, logger: logger, wake: make(chan struct{}, 1), jobs: map[string]*leaseJob{}}, nil
}

// Shared reports whether the leases are really contended (a store is
// shared by several instances), false for a hub alone.
func (l *Leases) Shared() bool { return l.cfg.Store != nil }

// Holder is this instance's name.
func (l *Leases) Holder() string { return l.cfg.Holder }

// Singleton registers run to be run under lease name, from the next
// round on (Run). Registering a name again replaces nothing: the first
// registration stands.
func (l *Leases) Singleton(name string, run func(ctx context.Context, l Lease)) {
	l.mu.Lock()
	if _, ok := l.jobs[name]; !ok && !l.done {
		l.jobs[name] = &leaseJob{name: name, run: run}
	}
	l.mu.Unlock()
	l.Wake()
}

// Drop stops the job registered under name, if any, and gives its lease
// up.
func (l *Leases) Drop(name string) {
	l.mu.Lock()
	if j, ok := l.jobs[name]; ok {
		j.drop = true
	}
	l.mu.Unlock()
	l.Wake()
}

// Registered reports whether a job is registered under name.
func (l *Leases) Registered(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.jobs[name]
	return ok
}

// Wake makes Run try the free leases now.
func (l *Leases) Wake() { wake(l.wake) }

// Held returns the leases this instance holds now.
func (l *Leases) Held() []Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Lease
	for _, j := range l.jobs {
		if j.held {
			out = append(out, j.lease)
		}
	}
	return out
}

// Current returns the lease name as held by this instance.
func (l *Leases) Current(name string) (Lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if j, ok := l.jobs[name]; ok && j.held {
		return j.lease, true
	}
	return Lease{}, false
}

// Run keeps the leases until ctx ends, then stops every job and gives its
// lease up (a clean shutdown hands them over at once).
func (l *Leases) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.Renew)
	defer t.Stop()
	for {
		l.round(ctx)
		select {
		case <-ctx.Done():
			l.stopAll()
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}

// round renews what is held, tries what is free, and stops what was lost.
func (l *Leases) round(ctx context.Context) {
	l.mu.Lock()
	jobs := make([]*leaseJob, 0, len(l.jobs))
	for _, j := range l.jobs {
		jobs = append(jobs, j)
	}
	l.mu.Unlock()
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		l.tend(ctx, j)
	}
}

func (l *Leases) tend(ctx context.Context, j *leaseJob) {
	l.mu.Lock()
	held, drop, stopped := j.held, j.drop, j.stopped
	yielded := held && stopped != nil && closed(stopped)
	l.mu.Unlock()
	if drop || yielded {
		l.stop(j, true)
		if drop {
			l.mu.Lock()
			delete(l.jobs, j.name)
			l.mu.Unlock()
		}
		return
	}
	if !held && time.Since(j.yielded) < 3*l.cfg.Renew {
		return
	}
	// The grant runs from before the request: the store's expiry is
	// counted from when it ran, which is no earlier.
	now := time.Now()
	lease, ok, err := l.acquire(ctx, j.name)
	switch {
	case err != nil:
		// Rounds come every Renew and a request may take up to Renew:
		// stop while at least that much of the last grant is left.
		if held && time.Since(j.renewed) >= l.cfg.TTL-2*l.cfg.Renew {
			l.logger.Error("lease not renewed in time; stopping its work", "lease", j.name, "err", err)
			l.stop(j, false)
		} else if ctx.Err() == nil {
			l.logger.Warn("renew lease", "lease", j.name, "err", err)
		}
	case !ok:
		if held {
			l.logger.Error("lease lost to another instance; stopping its work", "lease", j.name)
			l.stop(j, false)
		}
	case held && lease.Epoch != j.lease.Epoch:
		// It lapsed and was granted again: whatever runs may have been
		// fenced off meanwhile; start it afresh under the new epoch.
		l.stop(j, false)
		l.start(j, lease, now)
	case held:
		l.mu.Lock()
		j.renewed = now
		l.mu.Unlock()
	default:
		l.start(j, lease, now)
	}
}

func (l *Leases) acquire(ctx context.Context, name string) (Lease, bool, error) {
	if l.cfg.Store == nil {
		return Lease{Name: name, Holder: l.cfg.Holder, Epoch: 1}, true, nil
	}
	actx, cancel := context.WithTimeout(ctx, l.cfg.Renew)
	defer cancel()
	return l.cfg.Store.AcquireLease(actx, name, l.cfg.Holder, l.cfg.TTL)
}

func (l *Leases) start(j *leaseJob, lease Lease, now time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	l.mu.Lock()
	j.lease, j.held, j.renewed, j.cancel, j.stopped = lease, true, now, cancel, stopped
	l.mu.Unlock()
	if l.Shared() {
		l.logger.Info("lease taken", "lease", j.name, "epoch", lease.Epoch)
	}
	go func() {
		defer close(stopped)
		j.run(ctx, lease)
	}()
}

// stop ends j's run and waits for it; release gives the lease up too.
func (l *Leases) stop(j *leaseJob, release bool) {
	l.mu.Lock()
	cancel, stopped, lease, held := j.cancel, j.stopped, j.lease, j.held
	yielded := stopped != nil && closed(stopped)
	j.held, j.cancel, j.stopped = false, nil, nil
	if yielded {
		j.yielded = time.Now()
	}
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-stopped
	}
	if release && held && l.cfg.Store != nil {
		ctx, cancelRel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelRel()
		if err := l.cfg.Store.ReleaseLease(ctx, lease); err != nil {
			l.logger.Warn("give up lease", "lease", lease.Name, "err", err)
		} else {
			l.logger.Info("lease given up", "lease", lease.Name, "epoch", lease.Epoch)
		}
	}
}

func (l *Leases) stopAll() {
	l.mu.Lock()
	l.done = true
	jobs := make([]*leaseJob, 0, len(l.jobs))
	for _, j := range l.jobs {
		jobs = append(jobs, j)
	}
	l.mu.Unlock()
	for _, j := range jobs {
		l.stop(j, true)
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
