package alerts

import (
	"math"
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
// A device that announces it is going (its last will, Will) is due at the
// end of its grace time instead, unless it is heard from before; a device
// that reports on change rather than on a heartbeat (a vendor device) is
// watched for its wills only. Wills are rare, so they live in a map.
//
// A Supervisor is safe for concurrent use.
type Supervisor struct {
	rules RuleSet

	mu       sync.Mutex
	lastSeen []int64  // by key: Unix nanoseconds
	arrival  []uint32 // by key: the latest message's arrival number, low 32 bits (0: none known)
	report   []int32  // by key: reporting time, milliseconds; 0 for no heartbeat
	pos      []int32  // by key: index in heap, or posSilent / posFree / posIdle
	wills    map[int32]will
	watched  int
	heap     []deadline
}

// will is a last will a device sent, waiting out its grace.
type will struct {
	at, due int64  // Unix nanoseconds
	grace   int64  // the device's grace time, nanoseconds
	arrival uint32 // low 32 bits of its arrival number, 0 if not known
}

const (
	posSilent int32 = -1 // reported silent, out of the heap until seen
	posFree   int32 = -2 // key not watched
	posIdle   int32 = -3 // watched for wills only, none pending: no deadline
)

// never is the deadline of a device with no heartbeat and no will.
const never = int64(math.MaxInt64)

type deadline struct {
	at  int64 // Unix nanoseconds; never later than the device's real deadline
	key int32
}

// NewSupervisor returns an empty Supervisor that takes each device's
// reporting time from rules (its kind's, or its own override).
func NewSupervisor(rules RuleSet) *Supervisor {
	return &Supervisor{rules: rules, wills: make(map[int32]will)}
}

// Grow makes room for keys below n, so watching that many devices does not
// reallocate as it goes.
func (s *Supervisor) Grow(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if more := n - len(s.pos); more > 0 {
		s.lastSeen = slices.Grow(s.lastSeen, more)
		s.arrival = slices.Grow(s.arrival, more)
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
	switch p := s.pos[key]; {
	case p >= 0:
		s.heap[p].at = s.due(key) // the reporting time may have shrunk
		s.fix(int(p))
	case p == posIdle:
		s.push(key)
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
	delete(s.wills, key)
	s.watched--
}

// Seen records that the device with key key was heard from at at. It
// reports whether the device had been reported silent (so its offline
// alert can be marked cleared) and whether it is watched at all.
func (s *Supervisor) Seen(key int32, at time.Time) (wasSilent, watched bool) {
	return s.SeenArrival(key, at, 0)
}

// SeenArrival is Seen for a message with its arrival number (see Will): a
// message that came off the connection before the device's will does not
// take the will back, however late it is handled. 0 is "after everything".
func (s *Supervisor) SeenArrival(key int32, at time.Time, arrival uint64) (wasSilent, watched bool) {
	t := at.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if key < 0 {
		return false, false
	}
	s.extend(key)
	s.noteArrival(key, arrival) // watched or not: a retained will that comes later is older (Will)
	if s.pos[key] == posFree {
		return false, false
	}
	if t > s.lastSeen[key] {
		s.lastSeen[key] = t
	}
	if w, ok := s.wills[key]; ok && after(arrival, w.arrival, t, w.at) {
		delete(s.wills, key) // it came back
	}
	if s.pos[key] == posSilent {
		s.rearm(key)
		return true, true
	}
	return false, true
}

// rearm puts a key that is not in the heap back in, or idles it when it
// has no deadline.
func (s *Supervisor) rearm(key int32) {
	if s.due(key) == never {
		s.pos[key] = posIdle
		return
	}
	s.push(key)
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
			s.deadlineMoved(key, d) // seen since: back in with its real deadline
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
			s.deadlineMoved(top.key, d)
			continue
		}
		return time.Unix(0, top.at), true
	}
	return time.Time{}, false
}

// deadlineMoved updates the heap's top, whose device's deadline is now d:
// later, or none (a will-only device that came back leaves the heap).
func (s *Supervisor) deadlineMoved(key int32, d int64) {
	if d == never {
		s.remove(0)
		s.pos[key] = posIdle
		return
	}
	s.heap[0].at = d
	s.fix(0)
}

// Len returns how many devices are watched.
func (s *Supervisor) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watched
}

// due is the device's deadline: silent from then on; never for a device
// with no heartbeat and no will.
func (s *Supervisor) due(key int32) int64 {
	d := never
	if r := s.report[key]; r > 0 {
		d = s.lastSeen[key] + int64(r)*int64(time.Millisecond)
	}
	if w, ok := s.wills[key]; ok {
		d = min(d, w.due)
	}
	return d
}

// extend makes key a valid index into the per-key arrays.
func (s *Supervisor) extend(key int32) {
	for int(key) >= len(s.pos) {
		s.lastSeen = append(s.lastSeen, 0)
		s.arrival = append(s.arrival, 0)
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
