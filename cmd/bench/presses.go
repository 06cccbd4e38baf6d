package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// pressLog records when each press was published, by device: every
// device presses once, so the device identifies the press (a second press
// of the same button would join its open alert instead of opening one).
type pressLog struct {
	mu   sync.RWMutex // every console's reader looks up presses at once
	sent map[string]time.Time
}

func newPressLog() *pressLog { return &pressLog{sent: map[string]time.Time{}} }

func (p *pressLog) record(id string, at time.Time) {
	p.mu.Lock()
	p.sent[id] = at
	p.mu.Unlock()
}

func (p *pressLog) at(id string) (time.Time, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	t, ok := p.sent[id]
	return t, ok
}

// sightings is what one console saw of the presses: the first change of
// every new sos alert, timed from its press's publish.
type sightings struct {
	presses *pressLog

	mu       sync.Mutex
	pending  []sighting               // arrived, not yet folded into the maps below
	alerts   map[int64]bool           // sos alert IDs already seen
	byDevice map[string][]int64       // sos alert IDs per device
	latency  map[string]time.Duration // by device, of its first alert
	toHub    map[string]time.Duration // by device: press → the hub received it (the alert's opened_at, the hub's clock)
	changes  int                      // every change frame of an sos alert
	notFirst int                      // new alerts whose first change already had occurrences > 1
	stray    int                      // sos alerts of devices that did not press
}

// sighting is one change frame of an sos alert as it arrived.
type sighting struct {
	at          time.Time
	id          int64
	device      string
	occurrences int
	openedAt    time.Time
}

func newSightings(p *pressLog) *sightings {
	return &sightings{presses: p, alerts: map[int64]bool{}, byDevice: map[string][]int64{}, latency: map[string]time.Duration{},
		toHub: map[string]time.Duration{}}
}

// onChange is a Console's callback. It only notes the change: the
// lookups wait for the first question asked (fold), so that with hundreds
// of consoles in this process their cost is not part of the latency being
// measured.
func (s *sightings) onChange(at time.Time, c *bench.Change) {
	if c.Alert.Kind != "sos" {
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, sighting{at: at, id: c.Alert.ID, device: c.Alert.DeviceID, occurrences: c.Alert.Occurrences, openedAt: c.Alert.OpenedAt})
	s.changes++
	s.mu.Unlock()
}

// fold takes the pending sightings into the maps, in arrival order; s.mu
// is held.
func (s *sightings) fold() {
	for _, c := range s.pending {
		if s.alerts[c.id] {
			continue // a later change of an alert already timed (the device ack, …)
		}
		s.alerts[c.id] = true
		s.byDevice[c.device] = append(s.byDevice[c.device], c.id)
		if c.occurrences != 1 {
			s.notFirst++
		}
		t0, ok := s.presses.at(c.device)
		if !ok {
			s.stray++
			continue
		}
		if _, ok := s.latency[c.device]; !ok {
			s.latency[c.device] = c.at.Sub(t0)
			if !c.openedAt.IsZero() {
				// The hub opens a press's alert at the moment it received the
				// press (to the millisecond): the same machine's clock.
				s.toHub[c.device] = c.openedAt.Sub(t0)
			}
		}
	}
	s.pending = s.pending[:0]
}

// split returns, for the presses of ids seen, the time from the press to
// the hub receiving it (broker and the hub's intake) and from then to the
// console's read (the hub's commit, feed and fan-out, and the console).
func (s *sightings) split(ids []string) (toHub, fromHub []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	for _, id := range ids {
		d, ok := s.toHub[id]
		if !ok {
			continue
		}
		toHub = append(toHub, d)
		fromHub = append(fromHub, s.latency[id]-d)
	}
	return toHub, fromHub
}

// count returns how many of ids have been seen.
func (s *sightings) count(ids []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	n := 0
	for _, id := range ids {
		if len(s.byDevice[id]) > 0 {
			n++
		}
	}
	return n
}

// check returns how many presses of ids were never seen, how many extra
// alerts they raised, and the latencies of those seen.
func (s *sightings) check(ids []string) (unseen, extra int, lat []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	for _, id := range ids {
		switch n := len(s.byDevice[id]); {
		case n == 0:
			unseen++
		case n > 1:
			extra += n - 1
		}
		if d, ok := s.latency[id]; ok {
			lat = append(lat, d)
		}
	}
	return unseen, extra, lat
}

// latencyOf returns the latency of id's press, if seen.
func (s *sightings) latencyOf(id string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	d, ok := s.latency[id]
	return d, ok
}

// late returns how many new alerts were first seen already repeated
// (occurrences > 1): their opening change never arrived.
func (s *sightings) late() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	return s.notFirst
}

// frames returns how many change frames of sos alerts arrived.
func (s *sightings) frames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes
}

// strays returns how many sos alerts were raised by devices that never
// pressed.
func (s *sightings) strays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fold()
	return s.stray
}

// pressAll presses each device once, every interval, from pub, recording
// each publish time just before the publish.
func pressAll(ctx context.Context, pub *bench.Publisher, log *pressLog, ids []string, interval time.Duration) error {
	pace := bench.NewPacer(float64(time.Second) / float64(interval))
	for _, id := range ids {
		if !pace.Wait(ctx) {
			return ctx.Err()
		}
		now := time.Now()
		log.record(id, now)
		pub.Publish(devices.Topic(id, devices.ChannelEvent), pressPayload(1, now), nil)
	}
	return nil
}

// waitSeen waits until every console has seen every press of ids, or
// until timeout passes without progress.
func waitSeen(ctx context.Context, consoles []*sightings, ids []string, timeout time.Duration) {
	want := len(consoles) * len(ids)
	last, lastChange := -1, time.Now()
	for ctx.Err() == nil {
		// Every press seen needs at least one change frame; while fewer
		// have arrived, counting (which looks up every press in every
		// console) is not needed — and would compete with the consoles
		// still reading the last presses.
		n := 0
		for _, c := range consoles {
			n += c.frames()
		}
		if n >= want {
			seen := 0
			for _, c := range consoles {
				seen += c.count(ids)
			}
			if seen >= want {
				return
			}
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > timeout {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ids returns the IDs of ds.
func ids(ds []*devices.Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// settle waits until the hub's spool is empty, so the next phase starts
// on an idle hub.
func settle(ctx context.Context, st *Stack, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, err := st.API.Metrics(ctx)
		if err != nil {
			return err
		}
		if m.Sum("shouwang_spool_depth") == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the hub's spool did not drain within %s", timeout)
}
