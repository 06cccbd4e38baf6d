package alerts

import (
	"slices"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Supervisor tracks when each life-safety device was last heard from and
// reports the ones silent for longer than their reporting time. It has no
// goroutine and no timer: the caller asks Next when to look again and Due
// what fell due, and one loop serves any number of devices.
//
// It is built for a million devices in little memory. Devices are named by
// keys the caller hands out: small non-negative integers, dense, one per
// device for as long as the Supervisor lives (the hub uses its device
// index's slots), so the Supervisor needs no map and no copy of the IDs —
// it keeps flat arrays indexed by key, 16 bytes a key, and one min-heap
// entry of 16 bytes per watched device. Seen is O(1): it only moves the
// last seen time forward, leaving the heap entry early; Due re-checks a
// popped entry and pushes it back with its real deadline when the device
// was seen since (lazy re-checking). A device reported silent leaves the
// heap until it is seen again, so it is reported once.
//
// A Supervisor is safe for concurrent use.
type Supervisor struct {
	rules RuleSet

	mu       sync.Mutex
	lastSeen []int64 // by key: Unix nanoseconds
	report   []int32 // by key: reporting time, milliseconds
	pos      []int32 // by key: index in heap, or posSilent / posFree
	watched  int
	heap     []deadline
}

const (
	posSilent int32 = -1 // reported silent, out of the heap until seen
	posFree   int32 = -2 // key not watched
)

type deadline struct {
	at  int64 // Unix nanoseconds; never later than the device's real deadline
	key int32
}

// NewSupervisor returns an empty Supervisor that takes each device's
// reporting time from rules (its kind's, or its own override).
func NewSupervisor(rules RuleSet) *Supervisor {
	return &Supervisor{rules: rules}
}

// Grow makes room for keys below n, so watching that many devices does not
// reallocate as it goes.
func (s *Supervisor) Grow(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if more := n - len(s.pos); more > 0 {
		s.lastSeen = slices.Grow(s.lastSeen, more)
		s.report = slices.Grow(s.report, more)
		s.pos = slices.Grow(s.pos, more)
	}
}

// Watch registers the device with key key, ID id and kind kind, last heard
// from at lastSeen, or updates a watched device's reporting time. The ID
// selects the device's own overrides in the rules. Devices of kinds that
// are not life-safety are ignored (and forgotten if they were watched). For
// a device never heard from, pass the time supervision starts, so it has
// one reporting time to appear. For a watched device, a later lastSeen
// moves its deadline on, but a device reported silent stays so until Seen.
// Watch reports whether the device is watched; a negative key is ignored.
func (s *Supervisor) Watch(key int32, id string, kind devices.Kind, lastSeen time.Time) bool {
	if key < 0 {
		return false
	}
	dr := s.rules.For(&devices.Device{ID: id, Kind: kind})
	if !dr.Supervised || dr.Supervision.Reporting <= 0 {
		s.Forget(key)
		return false
	}
	rep := int32(min(dr.Supervision.Reporting.D(), maxReporting).Milliseconds())
	at := lastSeen.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extend(key)
	if s.pos[key] == posFree {
		s.lastSeen[key], s.report[key] = at, rep
		s.watched++
		s.push(key)
		return true
	}
	s.report[key] = rep
	s.lastSeen[key] = max(s.lastSeen[key], at)
	if p := s.pos[key]; p >= 0 {
		s.heap[p].at = s.due(key) // the reporting time may have shrunk
		s.fix(int(p))
	}
	return true
}

// Forget stops watching the device with key key.
func (s *Supervisor) Forget(key int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key < 0 || int(key) >= len(s.pos) || s.pos[key] == posFree {
		return
	}
	if p := s.pos[key]; p >= 0 {
		s.remove(int(p))
	}
	s.pos[key] = posFree
	s.watched--
}

// Seen records that the device with key key was heard from at at. It
// reports whether the device had been reported silent (so its offline
// alert can be marked cleared) and whether it is watched at all.
func (s *Supervisor) Seen(key int32, at time.Time) (wasSilent, watched bool) {
	t := at.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if key < 0 || int(key) >= len(s.pos) || s.pos[key] == posFree {
		return false, false
	}
	if t > s.lastSeen[key] {
		s.lastSeen[key] = t
	}
	if s.pos[key] == posSilent {
		s.push(key)
		return true, true
	}
	return false, true
}

// Due returns the keys of the devices silent at now for their reporting
// time or longer, each once until it is seen again, most overdue first.
func (s *Supervisor) Due(now time.Time) []int32 {
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []int32
	for len(s.heap) > 0 && s.heap[0].at <= t {
		key := s.heap[0].key
		if d := s.due(key); d > t {
			s.heap[0].at = d // seen since: back in with its real deadline
			s.fix(0)
			continue
		}
		s.remove(0)
		keys = append(keys, key)
	}
	return keys
}

// Next returns the earliest time a device may fall due, false when none is
// watched. Due at that time returns the device unless it is seen before.
func (s *Supervisor) Next() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.heap) > 0 {
		top := s.heap[0]
		if d := s.due(top.key); d != top.at {
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
	return s.watched
}

// due is the device's deadline: silent from then on.
func (s *Supervisor) due(key int32) int64 {
	return s.lastSeen[key] + int64(s.report[key])*int64(time.Millisecond)
}

// extend makes key a valid index into the per-key arrays.
func (s *Supervisor) extend(key int32) {
	for int(key) >= len(s.pos) {
		s.lastSeen = append(s.lastSeen, 0)
		s.report = append(s.report, 0)
		s.pos = append(s.pos, posFree)
	}
}

// The heap, by hand rather than container/heap: no interface boxing, and
// the position of every entry kept in pos for fix and remove.

func (s *Supervisor) push(key int32) {
	s.heap = append(s.heap, deadline{at: s.due(key), key: key})
	i := len(s.heap) - 1
	s.pos[key] = int32(i)
	s.up(i)
}

func (s *Supervisor) remove(i int) {
	n := len(s.heap) - 1
	if i != n {
		s.swap(i, n)
	}
	s.pos[s.heap[n].key] = posSilent
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
	s.pos[s.heap[i].key] = int32(i)
	s.pos[s.heap[j].key] = int32(j)
}
