package hub

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
)

// supervision watches life-safety devices for silence with one goroutine
// and one timer, however many devices there are: alerts.Supervisor keeps
// their deadlines in a heap, naming each device by its slot in the device
// index. A native device is watched from its first message (a device
// registered but never installed is not yet silent); a vendor device,
// which reports on change rather than on a heartbeat, from its last will
// (Zigbee2MQTT's availability offline, or its bridge's). At start every
// device the hub has heard from gets a full reporting time of grace, so a
// hub restart does not flag a street of devices at once.
//
// A last will (a status offline) starts the device's grace time: only if
// it has not come back by then is it offline (hub/outage.go groups what
// went offline together into outages). While the hub cannot hear devices —
// a lane's connection to the broker lost — no silence is judged, and when
// it hears again every device gets a full reporting time (Regrace): a
// broker restart floods nothing.
type supervision struct {
	a       *Alerting // the door its verdicts go through
	index   *DeviceIndex
	metrics *Metrics
	now     func() time.Time
	logger  *slog.Logger
	kick    chan struct{}

	mu       sync.Mutex
	sv       *alerts.Supervisor
	returned []string
	deaf     bool            // a lane is disconnected: silence is not judged
	gwDown   map[string]bool // bridges whose own will came and who have not spoken since
	shared   sharedState     // several instances (supervision_shared.go)
}

func newSupervision(a *Alerting, idx *DeviceIndex, metrics *Metrics, now func() time.Time, rules alerts.RuleSet,
	logger *slog.Logger) *supervision {
	s := &supervision{a: a, index: idx, metrics: metrics, now: now, logger: logger, kick: make(chan struct{}, 1),
		sv: alerts.NewSupervisor(rules), gwDown: map[string]bool{}}
	start := now()
	s.sv.Grow(idx.slotCount())
	idx.each(func(slot int32, d IndexedDevice) {
		if d.HeardFrom && !d.Vendor {
			s.sv.Watch(slot, d.ID, d.Kind, start)
		}
	})
	return s
}

// offlineBefore marks the devices the hub had found offline before it
// started (unreturned members of open outages) as reported, so their return
// is noticed.
func (s *supervision) offlineBefore(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if slot, _, ok := s.index.lookup(id); ok {
			s.sv.MarkSilent(slot)
		}
	}
}

// seen records a message from a device. It is on the ingest hot path: it
// takes the lock for an O(1) update and defers any store work.
func (s *supervision) seen(id string, at time.Time) {
	if slot, d, ok := s.index.lookup(id); ok {
		s.seenAt(slot, d, at, 0)
	}
}

// seenAt is seen for a device already looked up in the index (ingest has,
// for every message), so the message costs one lookup, not two. arrival
// is the message's arrival number (0 if not known; see Supervisor.Will).
func (s *supervision) seenAt(slot int32, d IndexedDevice, at time.Time, arrival uint64) {
	s.mu.Lock()
	silent, watched := s.sv.SeenArrival(slot, at, arrival)
	started := !watched && !d.Vendor && s.sv.Watch(slot, d.ID, d.Kind, at)
	if silent {
		s.returned = append(s.returned, d.ID)
	}
	if d.Kind == devices.KindGateway {
		delete(s.gwDown, d.ID)
	}
	s.mu.Unlock()
	if silent || started {
		wake(s.kick)
	}
}

// willAt records a device's last will (a status offline; retained: the
// broker's replay of it): its grace starts.
func (s *supervision) willAt(slot int32, d IndexedDevice, at time.Time, arrival uint64, retained bool) {
	s.mu.Lock()
	taken := s.sv.Will(slot, d.ID, d.Kind, at, arrival, retained)
	s.mu.Unlock()
	if taken {
		wake(s.kick) // its deadline may be the earliest now
	}
}

// gatewayDown records a bridge's own will: every device behind it (ids)
// is unreachable from at, each with its grace (retained: the broker's
// replay of the bridge's state, see alerts.Supervisor.Will).
func (s *supervision) gatewayDown(gateway string, ids []string, at time.Time, arrival uint64, retained bool) {
	s.mu.Lock()
	s.gwDown[gateway] = true
	for _, id := range ids {
		if slot, d, ok := s.index.lookup(id); ok {
			s.sv.Will(slot, d.ID, d.Kind, at, arrival, retained)
		}
	}
	s.mu.Unlock()
	wake(s.kick)
}

// hearing says whether the hub hears devices (every lane connected). After
// a deaf spell every watched device gets a full reporting time again.
func (s *supervision) hearing(ok bool) {
	s.mu.Lock()
	was := !s.deaf
	s.deaf = !ok
	if ok && !was {
		s.sv.Regrace(s.now())
	}
	s.mu.Unlock()
	if ok && !was {
		s.logger.Info("the hub hears devices again; every device has a full reporting time from now")
		wake(s.kick)
	}
}

func (s *supervision) deviceChanged(id string) {
	slot, d, ok := s.index.lookup(id)
	if slot < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		s.sv.Forget(slot)
		return
	}
	if d.HeardFrom && !d.Vendor {
		s.sv.Watch(slot, d.ID, d.Kind, s.now())
	}
	wake(s.kick)
}

func (s *supervision) run(ctx context.Context) {
	for {
		s.mu.Lock()
		next, ok := s.sv.Next()
		s.mu.Unlock()
		if !sleepUntil(ctx, s.now(), next, ok, time.Minute, s.kick) {
			return
		}
		s.sweep(ctx, s.now())
	}
}

// supervisionBatch is how many devices' verdicts share one store
// transaction: the devices of a street that lost power are flagged in a
// few commits rather than one each, and a transaction stays short enough
// not to hold up ingest's writes for long.
const supervisionBatch = 32

// sweep applies what supervision learned by now: devices heard from again
// after they were reported silent, and devices past their reporting time
// or grace, grouped by scope with those whose wills are still within their
// grace (outage.go). While the hub is deaf, no silence is judged.
func (s *supervision) sweep(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var silent, pending []int32
	if !s.deaf {
		silent, pending = s.sv.Due(now), s.sv.Wills()
	}
	returned := s.returned
	s.returned = nil
	s.mu.Unlock()
	s.apply(ctx, returned, func(tx *AlertTx, d *devices.Device) error { return tx.DeviceReturned(ctx, d, now) })
	silent = s.silentIn(ctx, silent, now)
	if len(silent) > 0 {
		s.offline(ctx, silent, pending, now)
	}
}

// verdict applies supervision's verdict on one device inside tx.
type verdict func(tx *AlertTx, d *devices.Device) error

// apply runs fn on each device's full record (read from the store: an
// alert carries the household), supervisionBatch devices to a transaction.
// When a batch fails, its devices are tried one by one, so one device's
// failure does not cost the others their alerts.
func (s *supervision) apply(ctx context.Context, ids []string, fn verdict) {
	for batch := range slices.Chunk(ids, supervisionBatch) {
		devs := make([]*devices.Device, 0, len(batch))
		for _, id := range batch {
			d, err := s.index.Full(ctx, id)
			if err != nil {
				s.failed(ctx, id, err)
			} else if d != nil {
				devs = append(devs, d)
			}
		}
		err := s.applyTx(ctx, devs, fn)
		if err == nil || ctx.Err() != nil {
			continue
		}
		if len(devs) == 1 {
			s.failed(ctx, devs[0].ID, err)
			continue
		}
		for _, d := range devs {
			if err := s.applyTx(ctx, []*devices.Device{d}, fn); err != nil {
				s.failed(ctx, d.ID, err)
			}
		}
	}
}

// applyTx runs fn on devs in one transaction, through the door.
func (s *supervision) applyTx(ctx context.Context, devs []*devices.Device, fn verdict) error {
	if len(devs) == 0 {
		return nil
	}
	return s.update(ctx, func(tx *AlertTx) error {
		for _, d := range devs {
			if err := fn(tx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *supervision) failed(ctx context.Context, id string, err error) {
	if ctx.Err() == nil {
		s.logger.Error("supervision", "device", id, "err", err)
	}
}
