package devices

// WindowSize is how far behind the newest sequence number a message may
// arrive and still be told apart from a duplicate.
const WindowSize = 256

// SeqWindow is one device's de-duplication state: the highest sequence
// number accepted, the latest device timestamp seen, and which of the
// WindowSize numbers at and below the highest have been accepted.
//
// Inside the window the answer is exact: a number already accepted is a
// duplicate, unless its timestamp is newer than anything seen from the
// device, which means the device's counter restarted (a reset device sends
// new timestamps; a repeat carries the old one). Below the window the
// window cannot know, and it errs towards keeping the message (SeqLate):
// losing a reading is worse than storing one twice, and InfluxDB collapses
// a repeated point because it has the same series and timestamp.
type SeqWindow struct {
	Max   uint64
	MaxTS int64 // Unix milliseconds
	Bits  [WindowSize / 64]uint64
}

// Verdict is what SeqWindow.Accept decided.
type Verdict int

// Verdicts.
const (
	SeqNew       Verdict = iota // accepted
	SeqDuplicate                // seen before: drop, but acknowledge
	SeqRestart                  // accepted; the device's counter went back
	SeqLate                     // accepted; older than the window, so not checked
)

// Accept decides whether (seq, tsMillis) is new and records it if so.
func (w *SeqWindow) Accept(seq uint64, tsMillis int64) Verdict {
	switch {
	case w.Max == 0 || seq > w.Max:
		if w.Max == 0 {
			w.Bits = [WindowSize / 64]uint64{}
		} else {
			w.shift(seq - w.Max)
		}
		w.Max = seq
		w.Bits[0] |= 1
		w.MaxTS = max(w.MaxTS, tsMillis)
		return SeqNew
	case w.Max-seq < WindowSize && !w.has(w.Max-seq):
		w.set(w.Max - seq)
		w.MaxTS = max(w.MaxTS, tsMillis)
		return SeqNew
	case tsMillis > w.MaxTS:
		*w = SeqWindow{Max: seq, MaxTS: tsMillis}
		w.Bits[0] = 1
		return SeqRestart
	case w.Max-seq < WindowSize:
		return SeqDuplicate
	default:
		return SeqLate
	}
}

func (w *SeqWindow) has(d uint64) bool { return w.Bits[d/64]&(1<<(d%64)) != 0 }
func (w *SeqWindow) set(d uint64)      { w.Bits[d/64] |= 1 << (d % 64) }

// shift moves the window up by n: bit d becomes bit d+n.
func (w *SeqWindow) shift(n uint64) {
	if n >= WindowSize {
		w.Bits = [WindowSize / 64]uint64{}
		return
	}
	words, bits := int(n/64), n%64
	var out [WindowSize / 64]uint64
	for i := len(w.Bits) - 1; i >= words; i-- {
		out[i] = w.Bits[i-words] << bits
		if bits > 0 && i-words-1 >= 0 {
			out[i] |= w.Bits[i-words-1] >> (64 - bits)
		}
	}
	w.Bits = out
}
