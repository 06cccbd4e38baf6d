package alerts

import (
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// Will records that the device with key key, ID id and kind kind said it
// is going at at (its last will, or a status offline it published): unless
// it is heard from again within its grace time (SupervisionRules.Grace), it
// falls due then, before its heartbeat deadline if that is later. A device
// not watched yet is watched for its wills only (it has no heartbeat the
// Supervisor knows of: a vendor device). A device already reported silent
// stays so. Will reports whether the device's kind is supervised.
//
// arrival orders the will among the device's messages as they came off the
// broker's connections (mqttc numbers them; 0 if not known): the hub
// handles messages concurrently, so a device's "online" may be handled
// before the will it replaced. A will that arrived before a message already
// seen is stale and ignored; a message that arrived before the will does
// not take it back. A retained will (the broker replaying the status it
// keeps, when the hub subscribes) is an old state: once any message of
// the device has been seen, it is ignored whenever it arrives — a broker
// may send its replay after a live message it had not yet retained.
func (s *Supervisor) Will(key int32, id string, kind devices.Kind, at time.Time, arrival uint64, retained bool) bool {
	if key < 0 {
		return false
	}
	dr := s.rules.For(&devices.Device{ID: id, Kind: kind})
	if !dr.Supervised {
		return false
	}
	grace := dr.Supervision.Grace.D()
	w := will{at: at.UnixNano(), due: at.Add(grace).UnixNano(), grace: int64(grace), arrival: uint32(arrival)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extend(key)
	if a := s.arrival[key]; a != 0 && (retained || arrival != 0 && !newer(uint32(arrival), a)) {
		return true // the device spoke after it: stale
	}
	s.noteArrival(key, arrival)
	switch p := s.pos[key]; {
	case p == posSilent:
		return true
	case p == posFree:
		s.watched++
		s.lastSeen[key], s.report[key] = 0, 0
		s.wills[key] = w
		s.push(key)
	case p == posIdle:
		s.wills[key] = w
		s.push(key)
	default:
		if old, ok := s.wills[key]; ok && old.due < w.due {
			w.due = old.due // a second will does not extend the first's grace
		}
		s.wills[key] = w
		s.heap[p].at = min(s.heap[p].at, w.due)
		s.fix(int(p))
	}
	return true
}

// noteArrival keeps the latest arrival number of a device's messages.
func (s *Supervisor) noteArrival(key int32, arrival uint64) {
	if a := uint32(arrival); arrival != 0 && (s.arrival[key] == 0 || newer(a, s.arrival[key])) {
		s.arrival[key] = a
	}
}

// newer compares arrival numbers by their low 32 bits, as serial numbers
// (RFC 1982): the messages compared are at most seconds apart, never
// 2^31 messages.
func newer(a, b uint32) bool { return int32(a-b) > 0 }

// after reports whether a message (arrival, at) came after a will
// (willArrival, willAt): by arrival numbers when both are known, else by
// the times they were handled.
func after(arrival uint64, willArrival uint32, at, willAt int64) bool {
	if arrival != 0 && willArrival != 0 {
		return newer(uint32(arrival), willArrival)
	}
	return at >= willAt
}

// Since tells, for a device Due returned, when it went: at its will
// (will true) or when it was last heard from (zero if only its will is
// known).
func (s *Supervisor) Since(key int32) (at time.Time, will bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key < 0 || int(key) >= len(s.pos) {
		return time.Time{}, false
	}
	if w, ok := s.wills[key]; ok {
		return time.Unix(0, w.at), true
	}
	if s.lastSeen[key] == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.lastSeen[key]), false
}

// Wills returns the keys of the devices whose will waits out its grace
// (not yet due), in no order.
func (s *Supervisor) Wills() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []int32
	for key := range s.wills {
		if s.pos[key] >= 0 {
			keys = append(keys, key)
		}
	}
	return keys
}

// MarkSilent records the device with key key as reported silent, as Due
// would: it leaves the heap until it is seen, and Seen then says it was
// silent. The hub marks so the devices an outage took before their own
// time, and at start the devices it had found offline before.
func (s *Supervisor) MarkSilent(key int32) {
	if key < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extend(key)
	switch p := s.pos[key]; {
	case p >= 0:
		s.remove(int(p))
	case p == posFree:
		s.watched++
		s.lastSeen[key], s.report[key] = 0, 0
		s.pos[key] = posSilent
	case p == posIdle:
		s.pos[key] = posSilent
	}
}

// Regrace gives every watched device that is not silent a full reporting
// time from now, as at start: after a spell in which the hub could not hear
// devices (its connection to the broker lost), their silence is not
// theirs. A pending will's grace also starts again from now: a device that
// came back while the hub could not hear could not show it (and a broker
// that stops or starts sends the wills of its clients itself — mosquitto
// does — which say nothing of the devices).
func (s *Supervisor) Regrace(now time.Time) {
	t := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.heap {
		if s.report[d.key] > 0 {
			s.lastSeen[d.key] = max(s.lastSeen[d.key], t)
		}
		if w, ok := s.wills[d.key]; ok {
			w.due = max(w.due, t+w.grace)
			s.wills[d.key] = w
		}
	}
	// Deadlines only moved later, so every heap entry is still at or
	// before its device's deadline: Due and Next re-check lazily.
}
