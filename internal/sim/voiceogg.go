package sim

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3/pkg/media/oggreader"
	"github.com/pion/webrtc/v3/pkg/media/oggwriter"
)

// defaultClip is testdata/voice/clip.ogg, made by scripts/make-voice-clip:
// 4.66 s of Mandarin speech, one 20 ms Opus packet per Ogg page. It is
// embedded so that devsim streams it from wherever it runs.
//
//go:embed testdata/voice/clip.ogg
var defaultClip []byte

// opusFrame is one Opus packet of a clip and how long it plays.
type opusFrame struct {
	data []byte
	dur  time.Duration
}

// loadDefaultClip parses the embedded clip once.
var loadDefaultClip = sync.OnceValues(func() ([]opusFrame, error) {
	return parseClip(bytes.NewReader(defaultClip))
})

// loadClip returns the packets of the Ogg/Opus file at path, or of the
// embedded clip when path is empty.
func loadClip(path string) ([]opusFrame, error) {
	if path == "" {
		return loadDefaultClip()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	defer f.Close()
	frames, err := parseClip(f)
	if err != nil {
		return nil, fmt.Errorf("clip %s: %w", path, err)
	}
	return frames, nil
}

// parseClip reads an Ogg/Opus stream with one Opus packet per page, which is
// what pion's oggreader can split (it returns whole pages), and times each
// packet by its page's granule advance. A page that advances more than its
// packet lasts (by the packet's TOC byte) holds several packets; the clip
// is refused then (make it with `opusenc --max-delay 20`), as streaming it
// would send garbage. A page that advances less (the end-trimmed last page,
// or the first page of a file written by pion's oggwriter, which starts at
// granule 0) is timed by its packet's length.
func parseClip(r io.Reader) ([]opusFrame, error) {
	ogg, head, err := oggreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("read ogg/opus header: %w", err)
	}
	if head.Channels < 1 || head.Channels > 2 {
		return nil, fmt.Errorf("%d channels: want mono or stereo", head.Channels)
	}
	var frames []opusFrame
	var granule uint64
	for page := 0; ; page++ {
		payload, ph, err := ogg.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		if bytes.HasPrefix(payload, []byte("OpusTags")) || len(payload) == 0 {
			continue
		}
		samples, err := opusSamples(payload)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		if ph.GranulePosition < granule {
			return nil, fmt.Errorf("page %d: granule position goes back", page)
		}
		adv := ph.GranulePosition - granule
		granule = ph.GranulePosition
		if adv > uint64(samples) {
			return nil, fmt.Errorf("page %d: advances %d samples but its first packet lasts %d: several packets per page (encode with opusenc --max-delay 20)", page, adv, samples)
		}
		adv = uint64(samples) // a short page's packet is still sent whole
		frames = append(frames, opusFrame{data: payload, dur: time.Duration(adv) * time.Second / 48000})
	}
	if len(frames) == 0 {
		return nil, errors.New("no audio packets")
	}
	return frames, nil
}

// opusSamples returns how many 48 kHz samples an Opus packet holds, from its
// TOC byte (RFC 6716 section 3.1).
func opusSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, errors.New("empty opus packet")
	}
	toc := p[0]
	cfg := int(toc >> 3)
	var frame int // samples per frame at 48 kHz
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []int{480, 960, 1920, 2880}[cfg%4]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = []int{480, 960}[cfg%2]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []int{120, 240, 480, 960}[cfg%4]
	}
	n := 1
	switch toc & 3 {
	case 1, 2:
		n = 2
	case 3:
		if len(p) < 2 {
			return 0, errors.New("opus packet with code 3 but no frame count")
		}
		n = int(p[1] & 0x3f)
		if n == 0 {
			return 0, errors.New("opus packet with no frames")
		}
	}
	if n*frame > 5760 { // 120 ms, the most a packet may hold
		return 0, fmt.Errorf("opus packet of %d samples: longer than 120 ms", n*frame)
	}
	return n * frame, nil
}

// clipDuration is how long frames play.
func clipDuration(frames []opusFrame) time.Duration {
	var d time.Duration
	for _, f := range frames {
		d += f.dur
	}
	return d
}

// openRecording creates an Ogg/Opus recording at path, written by pion's
// oggwriter through an oggPageFixer.
func openRecording(path string) (*oggwriter.OggWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := oggwriter.NewWith(&oggPageFixer{f: f}, 48000, 2)
	if err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// oggPageFixer sits between pion's oggwriter and the file and mends what
// makes libopusfile (opusdec, and players built on it) refuse oggwriter's
// files: the first audio page carries granule position 1 although its
// packet holds 960 samples (RFC 7845 section 4 calls such a stream
// invalid), so every audio page's granule is moved on by the difference; and
// no page is marked end-of-stream, so the last page is held back and marked
// on Close. (oggwriter's own end-of-stream rewrite works only on a file it
// opened itself, and breaks on packets over 254 bytes.)
type oggPageFixer struct {
	f      *os.File
	buf    []byte // bytes not yet a whole page
	held   []byte // the last audio page, written on the next page or Close
	pages  int
	offset uint64 // added to every audio page's granule position
}

func (w *oggPageFixer) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		n := oggPageLen(w.buf)
		if n == 0 {
			return len(p), nil
		}
		page := append([]byte(nil), w.buf[:n]...)
		w.buf = w.buf[n:]
		if err := w.page(page); err != nil {
			return 0, err
		}
	}
}

func (w *oggPageFixer) page(page []byte) error {
	w.pages++
	if w.pages <= 2 { // OpusHead and OpusTags
		_, err := w.f.Write(page)
		return err
	}
	granule := binary.LittleEndian.Uint64(page[6:14])
	if w.pages == 3 {
		// oggwriter starts at 1; the first page must end at its packet's
		// length.
		if n, err := opusSamples(page[27+int(page[26]):]); err == nil && granule < uint64(n) {
			w.offset = uint64(n) - granule
		}
	}
	binary.LittleEndian.PutUint64(page[6:14], granule+w.offset)
	oggSetCRC(page)
	if w.held != nil {
		if _, err := w.f.Write(w.held); err != nil {
			return err
		}
	}
	w.held = page
	return nil
}

// Close marks the held last page end-of-stream, writes it and closes the
// file.
func (w *oggPageFixer) Close() error {
	var err error
	if w.held != nil {
		w.held[5] |= 0x04
		oggSetCRC(w.held)
		_, err = w.f.Write(w.held)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// oggPageLen returns the length of the whole Ogg page at the start of b, or
// 0 if b does not hold one yet.
func oggPageLen(b []byte) int {
	if len(b) < 27 || len(b) < 27+int(b[26]) {
		return 0
	}
	n := 27 + int(b[26])
	for _, s := range b[27:n] {
		n += int(s)
	}
	if len(b) < n {
		return 0
	}
	return n
}

// oggCRC is the Ogg page checksum's table: CRC-32, polynomial 0x04c11db7,
// not reflected.
var oggCRC = func() (t [256]uint32) {
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

// oggSetCRC recomputes a page's checksum.
func oggSetCRC(page []byte) {
	clear(page[22:26])
	var c uint32
	for _, b := range page {
		c = c<<8 ^ oggCRC[byte(c>>24)^b]
	}
	binary.LittleEndian.PutUint32(page[22:26], c)
}
