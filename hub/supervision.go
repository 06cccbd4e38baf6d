package hub

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// supervision watches life-safety devices for silence with one goroutine
// and one timer, however many devices there are: alerts.Supervisor keeps
// their deadlines in a heap. A device is watched from its first message
// (a device registered but never installed is not yet silent); at start
// every device the hub has heard from gets a full reporting time of grace,
// so a hub restart does not flag a street of devices at once.
type supervision struct {
	a      *Alerting
	logger *slog.Logger
	kick   chan struct{}

	mu       sync.Mutex
	sv       *alerts.Supervisor
	returned []string
}

func newSupervision(a *Alerting, rules alerts.RuleSet, start time.Time, logger *slog.Logger) *supervision {
	s := &supervision{a: a, logger: logger, kick: make(chan struct{}, 1), sv: alerts.NewSupervisor(rules)}
	for _, d := range a.cfg.Index.All() {
		if !d.Health.LastSeen.IsZero() {
			s.sv.Watch(d, start)
		}
	}
	return s
}

// seen records a message from a device. It is on the ingest hot path: it
// takes the lock for an O(1) update and defers any store work.
func (s *supervision) seen(id string, at time.Time) {
	s.mu.Lock()
	silent, watched := s.sv.Seen(id, at)
	if !watched {
		if d := s.a.cfg.Index.Get(id); d != nil {
			s.sv.Watch(d, at)
		}
	}
	if silent {
		s.returned = append(s.returned, id)
	}
	s.mu.Unlock()
	if silent || !watched {
		wake(s.kick)
	}
}

func (s *supervision) deviceChanged(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.a.cfg.Index.Get(id)
	if d == nil {
		s.sv.Forget(id)
		return
	}
	if !d.Health.LastSeen.IsZero() {
		s.sv.Watch(d, s.a.cfg.Now())
	}
	wake(s.kick)
}

func (s *supervision) run(ctx context.Context) {
	for {
		s.mu.Lock()
		next, ok := s.sv.Next()
		s.mu.Unlock()
		if !sleepUntil(ctx, s.a.cfg.Now(), next, ok, time.Minute, s.kick) {
			return
		}
		now := s.a.cfg.Now()
		s.mu.Lock()
		silent := s.sv.Due(now)
		returned := s.returned
		s.returned = nil
		s.mu.Unlock()
		for _, id := range returned {
			s.apply(ctx, id, func(tx alerts.Tx, d *devices.Device) (*alerts.Alert, error) {
				return s.a.svc.DeviceReturned(ctx, tx, d, now)
			})
		}
		for _, id := range silent {
			s.a.cfg.Metrics.silent.Inc()
			s.apply(ctx, id, func(tx alerts.Tx, d *devices.Device) (*alerts.Alert, error) {
				return s.a.svc.DeviceSilent(ctx, tx, d, d.Health.LastSeen, now)
			})
		}
	}
}

func (s *supervision) apply(ctx context.Context, id string, fn func(alerts.Tx, *devices.Device) (*alerts.Alert, error)) {
	d := s.a.cfg.Index.Get(id)
	if d == nil {
		return
	}
	var res alerts.Result
	err := s.a.cfg.Store.InTx(ctx, func(tx alerts.Tx) error {
		al, err := fn(tx, d)
		if al != nil {
			res.Changed = append(res.Changed, al)
		}
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("supervision", "device", id, "err", err)
		}
		return
	}
	s.a.committed(res)
}
