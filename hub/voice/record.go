package voice

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"

	"github.com/pion/rtp"
)

// Why not pion's oggwriter: in v3.3.6 it gives the first audio page a
// granule position of 1, which libopusfile (opusdec, and every player
// built on it) refuses as an invalid timestamp, and its end-of-stream
// rewrite on Close corrupts the file when the last packet is 255 bytes or
// longer. An Ogg/Opus stream of one packet per page is short to write
// right (RFC 3533, RFC 7845), so this file does it.

// Recording parameters.
const (
	recChannels = 1   // voice: a decoder downmixes a stereo packet
	recPreSkip  = 312 // libopus's look-ahead at 48 kHz: the encoder started with the call
	// maxFill bounds the silence written for a gap in the RTP timestamps
	// (lost packets, or discontinuous transmission); a longer jump is a
	// new timeline (a restarted encoder) and is not filled.
	maxFill = 10 * 48000
)

// recorder writes one direction of a call to an Ogg/Opus file, one packet
// per page, granule positions counting the samples written. Packets must
// come in sequence order (the relay drops late ones). A gap in the RTP
// timestamps is filled with empty Opus frames, which a decoder conceals,
// so the recording keeps the call's timing.
type recorder struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	serial  uint32
	pageSeq uint32
	granule uint64
	failed  bool
	closed  bool
	// The last page is held back so close can mark it end of stream.
	hasPending  bool
	pending     []byte
	pendingGran uint64
	pendingType byte
	// The previous packet, to find gaps.
	started bool
	nextTS  uint32 // RTP timestamp the next packet should have
	lastTOC byte
}

// newRecorder creates path (which must not exist) and writes the Ogg/Opus
// headers.
func newRecorder(path string, log *slog.Logger) (*recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create recording: %w", err)
	}
	r := &recorder{path: path, log: log, f: f, w: bufio.NewWriter(f), serial: rand.Uint32()}

	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1 // version
	head[9] = recChannels
	binary.LittleEndian.PutUint16(head[10:], recPreSkip)
	binary.LittleEndian.PutUint32(head[12:], 48000) // input sample rate, informational
	// output gain 0, channel mapping family 0 (mono or stereo)
	const vendor = "shouwang"
	tags := make([]byte, 8+4+len(vendor)+4)
	copy(tags, "OpusTags")
	binary.LittleEndian.PutUint32(tags[8:], uint32(len(vendor)))
	copy(tags[12:], vendor)
	// no user comments

	r.queue(head, 0, 0x02) // beginning of stream
	r.queue(tags, 0, 0)
	if r.failed {
		f.Close()
		return nil, fmt.Errorf("start recording %s: write failed", path)
	}
	return r, nil
}

// write appends a packet. After a write error the recording stops (and
// says so once) but the call goes on.
func (r *recorder) write(p *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := opusSamples(p.Payload)
	if r.closed || r.failed || n == 0 {
		return
	}
	if r.started {
		fill := opusSamples([]byte{r.lastTOC &^ 0x03})    // one empty frame of the same mode
		if gap := p.Timestamp - r.nextTS; gap < maxFill { // not behind, not a new timeline
			for ; gap >= fill; gap -= fill {
				r.queue([]byte{r.lastTOC &^ 0x03}, fill, 0)
			}
		}
	}
	r.queue(p.Payload, n, 0)
	r.started, r.nextTS, r.lastTOC = true, p.Timestamp+n, p.Payload[0]
}

// queue puts a packet on its page, writing out the page before it.
func (r *recorder) queue(packet []byte, samples uint32, headerType byte) {
	r.flushPending(0)
	r.granule += uint64(samples)
	r.pending = append(r.pending[:0], packet...)
	r.hasPending, r.pendingGran, r.pendingType = true, r.granule, headerType
}

// flushPending writes the held-back page with the extra header flags.
func (r *recorder) flushPending(flags byte) {
	if !r.hasPending || r.failed {
		return
	}
	page := oggPage(r.pending, r.pendingType|flags, r.pendingGran, r.serial, r.pageSeq)
	r.pageSeq++
	r.hasPending = false
	if _, err := r.w.Write(page); err != nil {
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
	r.flushPending(0x04) // end of stream
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close recording %s: %w", r.path, err)
	}
	return nil
}

// oggPage builds one Ogg page holding one whole packet (a packet of up to
// 254*255 bytes; Opus packets are at most a few kilobytes).
func oggPage(packet []byte, headerType byte, granule uint64, serial, seq uint32) []byte {
	segs := len(packet)/255 + 1
	page := make([]byte, 27+segs+len(packet))
	copy(page, "OggS")
	page[5] = headerType
	binary.LittleEndian.PutUint64(page[6:], granule)
	binary.LittleEndian.PutUint32(page[14:], serial)
	binary.LittleEndian.PutUint32(page[18:], seq)
	page[26] = byte(segs)
	for i := range segs - 1 {
		page[27+i] = 255
	}
	page[27+segs-1] = byte(len(packet) % 255)
	copy(page[27+segs:], packet)
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	return page
}

// oggCRCTable is Ogg's CRC-32: polynomial 0x04c11db7, not reflected.
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b]
	}
	return crc
}

// opusSamples is an Opus packet's duration in 48 kHz samples, from its
// table-of-contents byte (RFC 6716 section 3.1), or 0 if it is not a valid
// Opus packet. A packet longer than Ogg's page limit counts as invalid.
func opusSamples(p []byte) uint32 {
	if len(p) == 0 || len(p) > 254*255 {
		return 0
	}
	toc := p[0]
	cfg := toc >> 3
	var frame uint32
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]uint32{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = [2]uint32{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]uint32{120, 240, 480, 960}[cfg&3]
	}
	var frames uint32
	switch toc & 0x03 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	default:
		if len(p) < 2 {
			return 0
		}
		frames = uint32(p[1] & 0x3f)
	}
	if n := frames * frame; n <= 5760 { // at most 120 ms
		return n
	}
	return 0
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
