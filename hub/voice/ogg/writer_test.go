package ogg_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
)

// rtpPacket is an Opus payload at an RTP timestamp.
type rtpPacket struct {
	ts      uint32
	payload []byte
}

// record writes packets with WriteRTP to a new stream and reads it back,
// checking it is what the package writes.
func record(t *testing.T, packets ...rtpPacket) oggtest.Stream {
	t.Helper()
	var buf bytes.Buffer
	w, err := ogg.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		if err := w.WriteRTP(p.ts, p.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s := oggtest.Read(t, &buf)
	s.Check(t, "stream")
	return s
}

// 0x78: hybrid, full band, 20 ms, one frame. 0xfc: CELT 20 ms, code 0.
var (
	short = append([]byte{0x78}, bytes.Repeat([]byte{1}, 39)...)
	long  = append([]byte{0xfc}, bytes.Repeat([]byte{2}, 299)...) // over one Ogg segment
)

func TestWriterPages(t *testing.T) {
	s := record(t, rtpPacket{1000, short}, rtpPacket{1960, long}, rtpPacket{2920, short})
	if !slices.EqualFunc(s.Packets, [][]byte{short, long, short}, bytes.Equal) || s.Granule != 3*960 {
		t.Errorf("read back %d packets, granule %d", len(s.Packets), s.Granule)
	}
}

// The last packet of a stream may be longer than 254 bytes (pion's
// oggwriter corrupted such a file on close), up to MaxPacket.
func TestWriterLongLastPacket(t *testing.T) {
	for _, n := range []int{254, 255, 256, 510, 1275, ogg.MaxPacket} {
		p := append([]byte{0xfc}, bytes.Repeat([]byte{3}, n-1)...)
		s := record(t, rtpPacket{0, short}, rtpPacket{960, p})
		if len(s.Packets) != 2 || !bytes.Equal(s.Packets[1], p) {
			t.Errorf("last packet of %d bytes did not survive", n)
		}
	}
}

// Lost packets become empty frames, so the stream keeps time; a jump of
// MaxFill or more (a new timeline), or back, is not filled.
func TestWriterGaps(t *testing.T) {
	s := record(t, rtpPacket{0, short}, rtpPacket{960, short}, rtpPacket{4 * 960, long})
	empty := []byte{0x78}
	if want := [][]byte{short, short, empty, empty, long}; !slices.EqualFunc(s.Packets, want, bytes.Equal) || s.Granule != 5*960 {
		t.Errorf("gap of two: got %d packets, granule %d", len(s.Packets), s.Granule)
	}
	for _, ts := range []uint32{ogg.MaxFill * 2, 2*960 + ogg.MaxFill, 0} {
		s = record(t, rtpPacket{960, short}, rtpPacket{ts, short})
		if len(s.Packets) != 2 || s.Granule != 2*960 {
			t.Errorf("new timeline at %d: got %d packets, granule %d", ts, len(s.Packets), s.Granule)
		}
	}
	// A 40 ms packet (two 20 ms frames, code 1) gap-filled with 20 ms
	// empty frames.
	two := []byte{0x79, 7, 7}
	s = record(t, rtpPacket{0, two}, rtpPacket{3 * 1920, two})
	if len(s.Packets) != 6 || s.Granule != 2*1920+4*960 {
		t.Errorf("40 ms packets: got %d packets, granule %d", len(s.Packets), s.Granule)
	}
}

// What is not Opus is left out: an empty payload, a code-3 packet with no
// frame count, one longer than a page holds.
func TestWriterSkipsNonOpus(t *testing.T) {
	tooLong := append([]byte{0xfc}, make([]byte, ogg.MaxPacket)...)
	s := record(t, rtpPacket{0, nil}, rtpPacket{0, []byte{0x7b}}, rtpPacket{0, tooLong}, rtpPacket{0, short})
	if len(s.Packets) != 1 || s.Granule != 960 {
		t.Errorf("%d packets recorded, granule %d", len(s.Packets), s.Granule)
	}
}

// A stream with no audio is still a valid (empty) Ogg/Opus stream.
func TestWriterEmpty(t *testing.T) {
	if s := record(t); len(s.Packets) != 0 || s.Granule != 0 {
		t.Errorf("%d packets in an empty stream", len(s.Packets))
	}
}

// WritePacket takes the caller's sample count (so it can write a stream
// that is not exact) and refuses what no page holds, writing nothing.
func TestWritePacket(t *testing.T) {
	var buf bytes.Buffer
	w, err := ogg.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		p []byte
		n int
	}{{nil, 960}, {make([]byte, ogg.MaxPacket+1), 960}, {short, -1}} {
		if err := w.WritePacket(bad.p, bad.n); err == nil {
			t.Errorf("WritePacket of %d bytes, %d samples: no error", len(bad.p), bad.n)
		}
	}
	for _, n := range []int{960, 1920} {
		if err := w.WritePacket(short, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(short, 960); err == nil {
		t.Error("WritePacket after Close: no error")
	}
	if err := w.WriteRTP(0, short); err == nil {
		t.Error("WriteRTP after Close: no error")
	}
	s := oggtest.Read(t, &buf)
	if len(s.Packets) != 2 || s.Granule != 960+1920 || s.Exact || !s.EOS {
		t.Errorf("%d packets, granule %d, exact %v, end of stream %v", len(s.Packets), s.Granule, s.Exact, s.EOS)
	}
}

var errDisk = errors.New("disk full")

// failAfter takes n bytes, then fails.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDisk
	}
	w.n -= len(p)
	return len(p), nil
}

// A write error stops the stream: every later call returns it.
func TestWriterWriteError(t *testing.T) {
	if _, err := ogg.NewWriter(&failAfter{10}); !errors.Is(err, errDisk) {
		t.Errorf("NewWriter on a full disk: %v", err)
	}
	w, err := ogg.NewWriter(&failAfter{200})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for i := range 10 {
		if first = w.WriteRTP(uint32(i*960), short); first != nil {
			break
		}
	}
	if !errors.Is(first, errDisk) {
		t.Fatalf("no write error: %v", first)
	}
	if err := w.WriteRTP(0, short); !errors.Is(err, errDisk) {
		t.Errorf("WriteRTP after the error: %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Errorf("Close after the error: %v", err)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0x00}, 480},           // SILK NB 10 ms
		{[]byte{0x08}, 960},           // SILK NB 20 ms
		{[]byte{0x18}, 2880},          // SILK NB 60 ms
		{[]byte{0x60}, 480},           // hybrid SWB 10 ms
		{[]byte{0x70}, 480},           // hybrid FB 10 ms
		{[]byte{0x78}, 960},           // hybrid FB 20 ms
		{[]byte{0x80}, 120},           // CELT NB 2.5 ms
		{[]byte{0xf8}, 960},           // CELT FB 20 ms
		{[]byte{0xf9}, 1920},          // CELT FB 20 ms, two frames
		{[]byte{0xe3, 0x03}, 3 * 120}, // CELT 2.5 ms, code 3 with 3 frames
		{[]byte{0x1b, 0x02}, 5760},    // 2 x 60 ms
	} {
		if got, err := ogg.OpusSamples(tc.p); err != nil || got != tc.want {
			t.Errorf("OpusSamples(% x) = %d, %v; want %d", tc.p, got, err, tc.want)
		}
	}
	for _, bad := range [][]byte{
		nil,
		{0x03},       // code 3 without its count
		{0xfb, 0x00}, // code 3, no frames
		{0x1b, 0x03}, // 3 x 60 ms: too long
	} {
		if n, err := ogg.OpusSamples(bad); err == nil {
			t.Errorf("OpusSamples(% x) = %d, want an error", bad, n)
		}
	}
}
