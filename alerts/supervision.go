package alerts

import (
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Supervisor tracks when each life-safety device was last heard from and
// reports the ones silent for longer than their reporting time. It has no
// goroutine and no timer: the caller asks Next when to look again and Due
// what fell due, and one loop serves any number of devices.
//
// It is built for a million devices in little memory: IDs are interned to
// int32 indexes into compact slices, and deadlines sit in one min-heap
// with one entry per watched device. Seen is O(1): it only moves the last
// seen time forward, leaving the heap entry early; Due re-checks a popped
// entry and pushes it back with its real deadline when the device was seen
// since (lazy re-checking). A device reported silent leaves the heap until
// it is seen again, so it is reported once.
//
// A Supervisor is safe for concurrent use.
type Supervisor struct {
	rules RuleSet

	mu       sync.Mutex
	index    map[string]int32
	ids      []string
	lastSeen []int64 // Unix nanoseconds
	report   []int32 // reporting time, milliseconds
	pos      []int32 // index in heap, or posSilent / posFree
	free     []int32
	heap     []deadline
}

const (
	posSilent int32 = -1 // reported silent, out of the heap until seen
	posFree   int32 = -2 // slot unused (forgotten device)
)

type deadline struct {
	at  int64 // Unix nanoseconds; never later than the device's real deadline
	idx int32
}

// NewSupervisor returns an empty Supervisor that takes each device's
// reporting time from rules (its kind's, or its own override).
func NewSupervisor(rules RuleSet) *Supervisor {
	return &Supervisor{rules: rules, index: make(map[string]int32)}
}

// Watch registers d, last heard from at lastSeen, or updates a registered
// device's reporting time. Devices of kinds that are not life-safety are
// ignored (and forgotten if they were watched). For a device never heard
// from, pass the time supervision starts, so it has one reporting time to
// appear. For a watched device, a later lastSeen moves its deadline on,
// but a device reported silent stays so until Seen.
func (s *Supervisor) Watch(d *devices.Device, lastSeen time.Time) {
	dr := s.rules.For(d)
	if !dr.Supervised || dr.Supervision.Reporting <= 0 {
		s.Forget(d.ID)
		return
	}
	rep := int32(min(dr.Supervision.Reporting.D(), maxReporting).Milliseconds())
	at := lastSeen.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index[d.ID]
	if !ok {
		idx = s.alloc(d.ID)
		s.lastSeen[idx], s.report[idx] = at, rep
		s.push(idx)
		return
	}
	s.report[idx] = rep
	s.lastSeen[idx] = max(s.lastSeen[idx], at)
	if p := s.pos[idx]; p >= 0 {
		s.heap[p].at = s.due(idx) // the reporting time may have shrunk
		s.fix(int(p))
	}
}

// Forget stops watching a device.
func (s *Supervisor) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index[id]
	if !ok {
		return
	}
	if p := s.pos[idx]; p >= 0 {
		s.remove(int(p))
	}
	delete(s.index, id)
	s.ids[idx], s.pos[idx] = "", posFree
	s.free = append(s.free, idx)
}

// Seen records that device id was heard from at at. It reports whether the
// device had been reported silent (so its offline alert can be marked
// cleared) and whether it is watched at all.
func (s *Supervisor) Seen(id string, at time.Time) (wasSilent, watched bool) {
	t := at.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index[id]
	if !ok {
		return false, false
	}
	if t > s.lastSeen[idx] {
		s.lastSeen[idx] = t
	}
	if s.pos[idx] == posSilent {
		s.push(idx)
		return true, true
	}
	return false, true
}

// Due returns the devices silent at now for their reporting time or
// longer, each once until it is seen again, most overdue first.
func (s *Supervisor) Due(now time.Time) []string {
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for len(s.heap) > 0 && s.heap[0].at <= t {
		idx := s.heap[0].idx
		if d := s.due(idx); d > t {
			s.heap[0].at = d // seen since: back in with its real deadline
			s.fix(0)
			continue
		}
		s.remove(0)
		s.pos[idx] = posSilent
		ids = append(ids, s.ids[idx])
	}
	return ids
}

// Next returns the earliest time a device may fall due, false when none is
// watched. Due at that time returns the device unless it is seen before.
func (s *Supervisor) Next() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.heap) > 0 {
		top := s.heap[0]
		if d := s.due(top.idx); d != top.at {
			s.heap[0].at = d
			s.fix(0)
			continue
		}
		return time.Unix(0, top.at), true
	}
	return time.Time{}, false
}

// Len returns how many devices are watched.
func (s *Supervisor) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// due is the device's deadline: silent from then on.
func (s *Supervisor) due(idx int32) int64 {
	return s.lastSeen[idx] + int64(s.report[idx])*int64(time.Millisecond)
}

func (s *Supervisor) alloc(id string) int32 {
	var idx int32
	if n := len(s.free); n > 0 {
		idx = s.free[n-1]
		s.free = s.free[:n-1]
		s.ids[idx] = id
	} else {
		idx = int32(len(s.ids))
		s.ids = append(s.ids, id)
		s.lastSeen = append(s.lastSeen, 0)
		s.report = append(s.report, 0)
		s.pos = append(s.pos, posFree)
	}
	s.index[id] = idx
	return idx
}

// The heap, by hand rather than container/heap: no interface boxing, and
// the position of every entry kept in pos for fix and remove.

func (s *Supervisor) push(idx int32) {
	s.heap = append(s.heap, deadline{at: s.due(idx), idx: idx})
	i := len(s.heap) - 1
	s.pos[idx] = int32(i)
	s.up(i)
}

func (s *Supervisor) remove(i int) {
	n := len(s.heap) - 1
	if i != n {
		s.swap(i, n)
	}
	s.pos[s.heap[n].idx] = posSilent
	s.heap = s.heap[:n]
	if i != n {
		s.fix(i)
	}
}

func (s *Supervisor) fix(i int) {
	if !s.down(i) {
		s.up(i)
	}
}

func (s *Supervisor) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].at <= s.heap[i].at {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *Supervisor) down(i0 int) bool {
	i, n := i0, len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && s.heap[r].at < s.heap[l].at {
			j = r
		}
		if s.heap[i].at <= s.heap[j].at {
			break
		}
		s.swap(i, j)
		i = j
	}
	return i > i0
}

func (s *Supervisor) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.pos[s.heap[i].idx] = int32(i)
	s.pos[s.heap[j].idx] = int32(j)
}
