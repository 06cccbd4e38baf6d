package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
)

// Supervision with several instances (docs/architecture.md, "Several
// instances"): one instance watches for silence, under the lease
// LeaseSupervision, and every verdict it commits is fenced by the lease's
// epoch. It hears every event and status itself but only its share of the
// telemetry, so before it flags a device it asks the store when any
// instance last heard it.

// LeaseSupervision is the lease under which one instance watches for
// silent devices.
const LeaseSupervision = "supervision"

// errLeaseLost refuses work whose lease passed to another instance.
var errLeaseLost = errors.New("lease lost to another instance")

// LeaseFencer is a transaction that can check a lease (the SQL store's):
// work done under a lease checks it in the transaction that commits it.
type LeaseFencer interface {
	HoldsLease(ctx context.Context, l Lease) (bool, error)
}

// fence checks, inside tx, that lease l is still this instance's at its
// epoch; a zero lease (a hub alone) always passes.
func fence(ctx context.Context, tx IngestTx, l Lease) error {
	if l.Name == "" {
		return nil
	}
	f, ok := tx.(LeaseFencer)
	if !ok {
		return nil
	}
	held, err := f.HoldsLease(ctx, l)
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("%s (epoch %d): %w", l.Name, l.Epoch, errLeaseLost)
	}
	return nil
}

// sharedState is what supervision keeps for several instances; guarded
// by supervision.mu.
type sharedState struct {
	on    bool
	rules alerts.RuleSet
	lease Lease // the lease its verdicts are fenced by; zero when alone
}

// setShared tells supervision that several instances share the store;
// call it before run.
func (s *supervision) setShared(rules alerts.RuleSet) {
	s.mu.Lock()
	s.shared = sharedState{on: true, rules: rules}
	s.mu.Unlock()
}

func (s *supervision) setLease(l Lease) {
	s.mu.Lock()
	s.shared.lease = l
	s.mu.Unlock()
}

// update is the door for supervision's verdicts: Alerting.Update, fenced
// by the lease supervision runs under.
func (s *supervision) update(ctx context.Context, fn func(tx *AlertTx) error) error {
	s.mu.Lock()
	lease := s.shared.lease
	s.mu.Unlock()
	return s.a.Update(ctx, func(tx *AlertTx) error {
		if err := fence(ctx, tx.Store(), lease); err != nil {
			return err
		}
		return fn(tx)
	})
}

// silentIn keeps, of the devices (index slots) this instance has not
// heard within their reporting time, those no instance has: another
// instance takes part of the telemetry and writes when it last heard each
// device to the store (its health flush, every second). A device heard
// elsewhere is watched again from then. A device whose offline alert is
// open already (flagged by the lease's previous holder) is not flagged
// again. A hub alone keeps them all.
func (s *supervision) silentIn(ctx context.Context, slots []int32, now time.Time) []int32 {
	s.mu.Lock()
	st := s.shared
	s.mu.Unlock()
	if !st.on {
		return slots
	}
	out := slots[:0]
	for _, slot := range slots {
		d, ok := s.index.at(slot)
		if !ok {
			continue
		}
		if s.a.hasOpen(d.ID, string(alerts.KindOffline)) {
			continue
		}
		full, err := s.index.Full(ctx, d.ID)
		if err != nil || full == nil {
			out = append(out, slot) // offline decides again, and logs the failure
			continue
		}
		rep := st.rules.For(full).Supervision.Reporting.D()
		if seen := full.Health.LastSeen; !seen.IsZero() && now.Sub(seen) < rep {
			s.mu.Lock()
			s.sv.Seen(slot, seen)
			s.mu.Unlock()
			wake(s.kick)
			continue
		}
		out = append(out, slot)
	}
	return out
}
