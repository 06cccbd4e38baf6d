// Package ogg writes the project's Ogg/Opus recordings of voice calls: the
// hub's two recordings of every call (hub/voice) and the device simulator's
// recording of what it heard (internal/sim). A stream is mono Opus, one
// packet per Ogg page, its granule positions counting the samples written
// from zero, its first page marked beginning of stream and its last end of
// stream (RFC 3533, RFC 7845).
//
// Why not pion's oggwriter: in v3.3.6 it gives the first audio page a
// granule position of 1, which libopusfile (opusdec, and every player
// built on it) refuses as an invalid timestamp, and its end-of-stream
// rewrite on Close corrupts the file when the last packet is 255 bytes or
// longer. One packet per page is short to write right, so this package
// does it.
package ogg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// Stream parameters.
const (
	// Channels is the OpusHead channel count: voice is mono, and a decoder
	// downmixes a stereo packet.
	Channels = 1
	// PreSkip is libopus's look-ahead at 48 kHz: the encoder started with
	// the call.
	PreSkip = 312
	// MaxPacket is the longest packet one page holds (255 lacing values);
	// Opus packets are at most a few kilobytes.
	MaxPacket = 254 * 255
	// MaxFill bounds the silence WriteRTP writes for a gap in the RTP
	// timestamps (lost packets, or discontinuous transmission); a longer
	// jump is a new timeline (a restarted encoder) and is not filled.
	MaxFill = 10 * 48000
)

// Page header types.
const (
	beginOfStream = 0x02
	endOfStream   = 0x04
)

// errClosed is what a Writer returns once it is closed.
var errClosed = errors.New("ogg writer closed")

// Writer writes one Ogg/Opus stream, one packet per page. The last page is
// held back until the next packet or Close, so that Close can mark it end
// of stream. After a write error every method returns that error. A Writer
// is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	serial  uint32
	pageSeq uint32
	granule uint64
	err     error
	closed  bool
	page    []byte // reused page buffer

	hasHeld     bool
	held        []byte // the held-back packet
	heldGranule uint64
	heldType    byte

	// The previous WriteRTP packet, to find gaps.
	started bool
	nextTS  uint32 // RTP timestamp the next packet should have
	lastTOC byte
}

// NewWriter starts a stream on w: it writes the OpusHead page and holds
// the OpusTags page back. The stream's serial number is random.
func NewWriter(w io.Writer) (*Writer, error) {
	ow := &Writer{w: w, serial: rand.Uint32()}
	ow.queue(opusHead(), 0, beginOfStream)
	ow.queue(opusTags(), 0, 0)
	if ow.err != nil {
		return nil, ow.err
	}
	return ow, nil
}

// WritePacket appends packet on a page of its own, advancing the granule
// position by samples (48 kHz samples, what the packet plays). A packet
// that is empty or longer than MaxPacket, or a negative samples, is
// refused and nothing is written; the stream goes on.
func (w *Writer) WritePacket(packet []byte, samples int) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	if len(packet) == 0 || len(packet) > MaxPacket || samples < 0 {
		return fmt.Errorf("ogg packet of %d bytes, %d samples: want 1 to %d bytes", len(packet), samples, MaxPacket)
	}
	w.queue(packet, uint64(samples), 0)
	return w.err
}

// WriteRTP appends an Opus packet timed by its RTP timestamp (48 kHz, as
// Opus RTP always is). Packets must come in sequence order. A gap in the
// timestamps since the previous packet is filled with empty Opus frames,
// which a decoder conceals, so the recording keeps the call's timing; a
// gap of MaxFill samples or more, or a step back, starts a new timeline
// and is not filled. A payload that is not an Opus packet, or is too long
// for a page, is left out; the error is only ever a write error.
func (w *Writer) WriteRTP(timestamp uint32, payload []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	n, err := OpusSamples(payload)
	if err != nil || len(payload) > MaxPacket {
		return nil
	}
	if w.started {
		empty := []byte{w.lastTOC &^ 0x03} // one empty frame of the same mode
		fill, _ := OpusSamples(empty)
		if gap := timestamp - w.nextTS; gap < MaxFill { // not behind, not a new timeline
			for ; gap >= uint32(fill); gap -= uint32(fill) {
				w.queue(empty, uint64(fill), 0)
			}
		}
	}
	w.queue(payload, uint64(n), 0)
	w.started, w.nextTS, w.lastTOC = true, timestamp+uint32(n), payload[0]
	return w.err
}

// Close writes the held-back last page, marked end of stream. It does not
// close the underlying writer. Closing again does nothing.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.flushHeld(endOfStream)
	return w.err
}

// queue holds packet back as the last page, writing out the page before
// it.
func (w *Writer) queue(packet []byte, samples uint64, headerType byte) {
	w.flushHeld(0)
	w.granule += samples
	w.held = append(w.held[:0], packet...)
	w.hasHeld, w.heldGranule, w.heldType = true, w.granule, headerType
}

// flushHeld writes the held-back page with the extra header flags.
func (w *Writer) flushHeld(flags byte) {
	if !w.hasHeld || w.err != nil {
		return
	}
	w.page = appendPage(w.page[:0], w.held, w.heldType|flags, w.heldGranule, w.serial, w.pageSeq)
	w.pageSeq++
	w.hasHeld = false
	if _, err := w.w.Write(w.page); err != nil {
		w.err = fmt.Errorf("write ogg page: %w", err)
	}
}

// appendPage appends one Ogg page holding one whole packet of at most
// MaxPacket bytes.
func appendPage(b, packet []byte, headerType byte, granule uint64, serial, seq uint32) []byte {
	segs := len(packet)/255 + 1
	start := len(b)
	b = append(b, "OggS"...)
	b = append(b, 0, headerType) // version 0
	b = binary.LittleEndian.AppendUint64(b, granule)
	b = binary.LittleEndian.AppendUint32(b, serial)
	b = binary.LittleEndian.AppendUint32(b, seq)
	b = append(b, 0, 0, 0, 0, byte(segs)) // checksum, filled in below
	for range segs - 1 {
		b = append(b, 255)
	}
	b = append(b, byte(len(packet)%255))
	b = append(b, packet...)
	binary.LittleEndian.PutUint32(b[start+22:], crc(b[start:]))
	return b
}

// crcTable is Ogg's CRC-32: polynomial 0x04c11db7, not reflected.
var crcTable = func() (t [256]uint32) {
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

func crc(page []byte) uint32 {
	var c uint32
	for _, b := range page {
		c = c<<8 ^ crcTable[byte(c>>24)^b]
	}
	return c
}
