package hub

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// InstanceInfo is one hub instance sharing the store, as its heartbeat
// says: the console and hubctl list them.
type InstanceInfo struct {
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Heartbeat time.Time `json:"heartbeat"`
	Stopped   bool      `json:"stopped,omitempty"`
	Alive     bool      `json:"alive"`
	Self      bool      `json:"self,omitempty"`
	Leases    []string  `json:"leases,omitempty"` // what it owns now
}

// InstanceStore keeps the instances' heartbeats.
type InstanceStore interface {
	Heartbeat(ctx context.Context, name, url string, startedAt time.Time) error
	StopInstance(ctx context.Context, name string) error
	// Instances lists every instance with the leases it holds, and the
	// store's clock now.
	Instances(ctx context.Context) ([]InstanceInfo, time.Time, error)
}

// InstancesConfig configures Instances.
type InstancesConfig struct {
	Store InstanceStore // nil: this hub runs alone
	Name  string
	URL   string        // where the other instances reach this one's HTTP API
	Beat  time.Duration // heartbeat period; default 2.5 s
	TTL   time.Duration // a heartbeat older than this is a dead instance; default 10 s
	// OnChange is called after each refresh of the view with the
	// instances other than this one (from Run's goroutine).
	OnChange func(others []InstanceInfo)
}

// Instances keeps this instance's heartbeat in the store and a view of
// the others: which are alive, where they are reached.
type Instances struct {
	cfg     InstancesConfig
	logger  *slog.Logger
	started time.Time

	mu   sync.Mutex
	view []InstanceInfo
}

// NewInstances validates cfg.
func NewInstances(cfg InstancesConfig, logger *slog.Logger) (*Instances, error) {
	if cfg.Name == "" {
		return nil, errors.New("instances: Name is required")
	}
	if cfg.Beat <= 0 {
		cfg.Beat = 2500 * time.Millisecond
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Instances{cfg: cfg, logger: logger, started: time.Now()}, nil
}

// SetURL changes where the others reach this instance (once its HTTP
// listener has its port); the next heartbeat says so.
func (in *Instances) SetURL(url string) {
	in.mu.Lock()
	in.cfg.URL = url
	in.mu.Unlock()
}

func (in *Instances) url() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cfg.URL
}

// Name is this instance's name.
func (in *Instances) Name() string { return in.cfg.Name }

// Beat records this instance's first heartbeat, so the others see it
// before it takes anything over.
func (in *Instances) Beat(ctx context.Context) error {
	if in.cfg.Store == nil {
		return nil
	}
	if err := in.cfg.Store.Heartbeat(ctx, in.cfg.Name, in.url(), in.started); err != nil {
		return err
	}
	return in.refresh(ctx)
}

// Run beats until ctx ends, then records a clean stop.
func (in *Instances) Run(ctx context.Context) {
	if in.cfg.Store == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(in.cfg.Beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := in.cfg.Store.StopInstance(sctx, in.cfg.Name); err != nil {
				in.logger.Warn("record the clean stop", "err", err)
			}
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, in.cfg.Beat)
		err := in.cfg.Store.Heartbeat(bctx, in.cfg.Name, in.url(), in.started)
		if err == nil {
			err = in.refresh(bctx)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			in.logger.Warn("heartbeat", "err", err)
		}
	}
}

func (in *Instances) refresh(ctx context.Context) error {
	list, now, err := in.cfg.Store.Instances(ctx)
	if err != nil {
		return err
	}
	var others []InstanceInfo
	for i := range list {
		x := &list[i]
		x.Self = x.Name == in.cfg.Name
		x.Alive = !x.Stopped && now.Sub(x.Heartbeat) < in.cfg.TTL
		if !x.Self {
			others = append(others, *x)
		}
	}
	in.mu.Lock()
	in.view = list
	in.mu.Unlock()
	if in.cfg.OnChange != nil {
		in.cfg.OnChange(others)
	}
	return nil
}

// Alive reports whether instance name was alive at the last refresh.
// This instance is always alive, and so is one the view does not know
// yet: it started since the last refresh (an instance that stored an
// event or claimed a call has a heartbeat row).
func (in *Instances) Alive(name string) bool {
	if name == in.cfg.Name {
		return true
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	i := slices.IndexFunc(in.view, func(x InstanceInfo) bool { return x.Name == name })
	return i < 0 || in.view[i].Alive
}

// List returns the instances as the store has them now.
func (in *Instances) List(ctx context.Context) ([]InstanceInfo, error) {
	if in.cfg.Store == nil {
		return []InstanceInfo{{Name: in.cfg.Name, URL: in.url(), StartedAt: in.started, Heartbeat: time.Now(), Alive: true, Self: true}}, nil
	}
	if err := in.refresh(ctx); err != nil {
		return nil, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.view), nil
}
