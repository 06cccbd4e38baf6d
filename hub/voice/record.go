package voice

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/pion/rtp"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
)

// recorder writes one direction of a call to an Ogg/Opus file (package
// ogg: one packet per page, gaps in the RTP timestamps filled so the
// recording keeps the call's timing). Packets must come in sequence order
// (the relay drops late ones). A write error stops the recording, once and
// logged, but not the call.
type recorder struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex
	f      *ogg.File
	failed bool
	closed bool
}

// newRecorder creates path (which must not exist) and writes the Ogg/Opus
// headers.
func newRecorder(path string, log *slog.Logger) (*recorder, error) {
	f, err := ogg.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	return &recorder{path: path, log: log, f: f}, nil
}

// write appends a packet; what is not Opus is left out.
func (r *recorder) write(p *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.failed {
		return
	}
	if err := r.f.WriteRTP(p.Timestamp, p.Payload); err != nil {
		r.failed = true
		r.log.Warn("recording stopped", "path", r.path, "err", err)
	}
}

// close writes the last page, marked end of stream, and closes the file.
// It is idempotent.
func (r *recorder) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close recording %s: %w", r.path, err)
	}
	return nil
}

// seqTracker follows an inbound stream's RTP sequence numbers: it counts
// the packets missing in gaps and tells in-order packets from late or
// duplicate ones.
type seqTracker struct {
	started bool
	last    uint16
}

func (s *seqTracker) next(seq uint16) (gap uint64, inOrder bool) {
	if !s.started {
		s.started, s.last = true, seq
		return 0, true
	}
	d := seq - s.last
	if d == 0 || d >= 0x8000 { // duplicate, or behind the newest
		return 0, false
	}
	s.last = seq
	return uint64(d - 1), true
}
