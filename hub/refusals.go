package hub

import (
	"context"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Refusals for installers: each refused message or connection of a known
// device or bridge is kept in the store with the device's ID (the last
// few, see sqlstore.KeepRefusals) and logged with it, each at a bounded
// rate per device, so a device stuck in a loop of refusals cannot load the
// database or flood the log. Prometheus keeps counting by reason only: no
// device IDs in labels.

// Refusals stored per device: a burst of refusalBurst, then one per
// refusalEvery.
const (
	refusalBurst = 5
	refusalEvery = 2 * time.Second
)

// refusalBudget is a token bucket per device ID, bounded in size.
type refusalBudget struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (b *refusalBudget) allow(id string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets == nil || len(b.buckets) >= 10_000 {
		b.buckets = map[string]*bucket{}
	}
	k := b.buckets[id]
	if k == nil {
		k = &bucket{tokens: refusalBurst, at: now}
		b.buckets[id] = k
	}
	k.tokens = min(refusalBurst, k.tokens+now.Sub(k.at).Seconds()/refusalEvery.Seconds())
	k.at = now
	if k.tokens < 1 {
		return false
	}
	k.tokens--
	return true
}

// refuse counts and logs a refused vendor message and keeps it for the
// device's page.
func (in *Ingest) refuse(id string, reason devices.Reason, topic string, payload []byte, err error) {
	if reason == "" {
		reason = devices.ReasonMalformed
	}
	in.rejectMsg(reason, id, topic, err)
	in.NoteRefusal(id, reason, clipTopic(topic)+": "+err.Error()+" — "+clipPayload(payload), in.cfg.Now())
}

// NoteRefusal keeps a refusal of device id for its page. The broker calls
// it for refused connections, publishes and subscriptions.
func (in *Ingest) NoteRefusal(id string, reason devices.Reason, detail string, now time.Time) {
	if id == "" || in.cfg.Vendor == nil {
		return
	}
	if _, ok := in.cfg.Index.Get(id); !ok {
		return // unknown IDs are listed as unregistered instead
	}
	if !in.refusals.allow(id, now) {
		return
	}
	if in.limited.Allow("refusal-log:"+id, 10*time.Second) {
		in.logger.Warn("device refused", "device", id, "reason", reason, "detail", detail)
	}
	// Written by recordRefusals: the broker calls this on its connection
	// goroutines, which must not wait on the store.
	select {
	case in.refusalq <- refusalNote{id, devices.Refusal{At: now, Reason: reason, Detail: detail}}:
	default:
		in.limited.Warn("refusal-queue", "refusals come faster than the store takes them; some are not kept")
	}
}

// refusalNote is a refusal waiting to be stored.
type refusalNote struct {
	id string
	r  devices.Refusal
}

// recordRefusals stores queued refusals until ingest closes, then those
// still queued. (The queue is never closed: the broker may still report one
// after Close, which is then not kept.)
func (in *Ingest) recordRefusals() {
	record := func(n refusalNote) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := in.cfg.Vendor.RecordRefusal(ctx, n.id, n.r); err != nil {
			in.logger.Warn("record a device's refusal", "device", n.id, "err", err)
		}
	}
	for {
		select {
		case n := <-in.refusalq:
			record(n)
		case <-in.quit:
			for {
				select {
				case n := <-in.refusalq:
					record(n)
				default:
					return
				}
			}
		}
	}
}

func clipPayload(p []byte) string {
	const n = 120
	if len(p) > n {
		return string(p[:n]) + "…"
	}
	return string(p)
}
