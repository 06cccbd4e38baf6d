// Package oggtest reads Ogg/Opus streams in tests. It reads with pion's
// oggreader, written apart from package ogg's Writer, which checks every
// page's checksum; what oggreader does not check (page order, the end of
// stream, the granule positions) it checks itself.
package oggtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/pion/webrtc/v3/pkg/media/oggreader"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
)

// Stream is an Ogg/Opus stream of one packet per page, as Read found it.
type Stream struct {
	Head    *oggreader.OggHeader
	Packets [][]byte // the audio pages' payloads, in order
	Granule uint64   // the last page's granule position
	// Exact: every audio page's granule position is the one before plus
	// its packet's samples, as libopusfile expects of a stream that starts
	// at zero (RFC 7845 section 4).
	Exact bool
	// EOS: the last page is marked end of stream. (The first page begins
	// it, or Read fails.)
	EOS bool
}

// Duration is how long the stream plays: its last granule position less
// the pre-skip.
func (s Stream) Duration() time.Duration {
	if s.Granule < uint64(s.Head.PreSkip) {
		return 0
	}
	return time.Duration(s.Granule-uint64(s.Head.PreSkip)) * time.Second / 48000
}

// Read parses r and fails t unless it is one Ogg/Opus stream: an OpusHead
// page that begins the stream, an OpusTags page, pages in sequence of one
// serial number, every checksum right.
func Read(t testing.TB, r io.Reader) Stream {
	t.Helper()
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	br := bytes.NewReader(raw)
	rd, head, err := oggreader.NewWith(br)
	if err != nil {
		t.Fatalf("ogg/opus header: %v", err)
	}
	s := Stream{Head: head, Exact: true}
	serial := binary.LittleEndian.Uint32(raw[14:])
	for page := uint32(1); ; page++ {
		at := len(raw) - br.Len() // oggreader reads exactly one page
		payload, ph, err := rd.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return s
		} else if err != nil {
			t.Fatalf("ogg page %d: %v", page, err)
		}
		hdr := raw[at:]
		if binary.LittleEndian.Uint32(hdr[14:]) != serial || binary.LittleEndian.Uint32(hdr[18:]) != page {
			t.Fatalf("ogg page %d: serial %08x, sequence number %d", page, binary.LittleEndian.Uint32(hdr[14:]), binary.LittleEndian.Uint32(hdr[18:]))
		}
		s.EOS = hdr[5]&0x04 != 0
		if page == 1 {
			if !bytes.HasPrefix(payload, []byte("OpusTags")) || ph.GranulePosition != 0 {
				t.Fatal("the second ogg page is not OpusTags")
			}
			continue
		}
		if n, err := ogg.OpusSamples(payload); err != nil || ph.GranulePosition != s.Granule+uint64(n) {
			s.Exact = false
		}
		s.Granule = ph.GranulePosition
		s.Packets = append(s.Packets, payload)
	}
}

// ReadFile is Read of the file at path.
func ReadFile(t testing.TB, path string) Stream {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Read(t, f)
}

// Check reports (t.Errorf, naming the stream name) where s differs from
// what package ogg writes: OpusHead version 1 with ogg.Channels, ogg.PreSkip
// and 48 kHz; exact granule positions; the last page ending the stream.
func (s Stream) Check(t testing.TB, name string) {
	t.Helper()
	if h := s.Head; h.Version != 1 || h.Channels != ogg.Channels || h.PreSkip != ogg.PreSkip || h.SampleRate != 48000 {
		t.Errorf("%s: OpusHead %+v", name, *h)
	}
	if !s.Exact || !s.EOS {
		t.Errorf("%s: exact granule positions %v, last page ends the stream %v", name, s.Exact, s.EOS)
	}
}
