package voice

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pion/rtp"
)

// pkt is an RTP packet of an Opus payload at timestamp ts.
func pkt(ts uint32, payload []byte) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Timestamp: ts}, Payload: payload}
}

// record writes packets to a new recording and reads it back.
func record(t *testing.T, packets ...*rtp.Packet) ([][]byte, oggInfo) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.ogg")
	r, err := newRecorder(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		r.write(p)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if err := r.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, info := readOgg(t, f)
	if !info.bos || !info.eos || !info.exact {
		t.Errorf("begins %v, ends %v, exact granules %v", info.bos, info.eos, info.exact)
	}
	if h := info.header; h.Channels != 1 || h.PreSkip != recPreSkip || h.SampleRate != 48000 {
		t.Errorf("header %+v", *h)
	}
	return got, info
}

// 0x78: hybrid, full band, 20 ms, one frame. 0xfc: CELT 20 ms, code 0.
var (
	short = append([]byte{0x78}, bytes.Repeat([]byte{1}, 39)...)
	long  = append([]byte{0xfc}, bytes.Repeat([]byte{2}, 299)...) // over one Ogg segment
)

func TestRecorderPages(t *testing.T) {
	got, info := record(t, pkt(1000, short), pkt(1960, long), pkt(2920, short))
	if !slices.EqualFunc(got, [][]byte{short, long, short}, bytes.Equal) || info.lastGranule != 3*960 {
		t.Errorf("read back %d packets, granule %d", len(got), info.lastGranule)
	}
}

// The last packet of a recording may be longer than 254 bytes (pion's
// oggwriter corrupted such a file on close).
func TestRecorderLongLastPacket(t *testing.T) {
	for _, n := range []int{254, 255, 256, 510, 1275} {
		p := append([]byte{0xfc}, bytes.Repeat([]byte{3}, n-1)...)
		got, _ := record(t, pkt(0, short), pkt(960, p))
		if len(got) != 2 || !bytes.Equal(got[1], p) {
			t.Errorf("last packet of %d bytes did not survive", n)
		}
	}
}

// Lost packets become empty frames, so the recording keeps time; a jump
// of more than maxFill (a new timeline) is not filled.
func TestRecorderGaps(t *testing.T) {
	got, info := record(t, pkt(0, short), pkt(960, short), pkt(4*960, long))
	empty := []byte{0x78}
	if want := [][]byte{short, short, empty, empty, long}; !slices.EqualFunc(got, want, bytes.Equal) || info.lastGranule != 5*960 {
		t.Errorf("gap of two: got %d packets, granule %d", len(got), info.lastGranule)
	}
	got, info = record(t, pkt(0, short), pkt(maxFill*2, short))
	if len(got) != 2 || info.lastGranule != 2*960 {
		t.Errorf("new timeline: got %d packets, granule %d", len(got), info.lastGranule)
	}
	// A 40 ms packet (two 20 ms frames, code 1) gap-filled with 20 ms
	// empty frames.
	two := []byte{0x79, 7, 7}
	got, info = record(t, pkt(0, two), pkt(3*1920, two))
	if len(got) != 6 || info.lastGranule != 2*1920+4*960 {
		t.Errorf("40 ms packets: got %d packets, granule %d", len(got), info.lastGranule)
	}
}

// What is not Opus is left out: an empty payload, a code-3 packet with no
// frame count.
func TestRecorderSkipsNonOpus(t *testing.T) {
	got, _ := record(t, pkt(0, nil), pkt(0, []byte{0x7b}), pkt(0, short))
	if len(got) != 1 {
		t.Errorf("%d packets recorded", len(got))
	}
}

// A recording with no audio is still a valid (empty) Ogg/Opus file.
func TestRecorderEmpty(t *testing.T) {
	if got, _ := record(t); len(got) != 0 {
		t.Errorf("%d packets in an empty recording", len(got))
	}
}

func TestOpusSamples(t *testing.T) {
	cases := []struct {
		p    []byte
		want uint32
	}{
		{[]byte{0x00}, 480},        // SILK NB 10 ms
		{[]byte{0x08}, 960},        // SILK NB 20 ms
		{[]byte{0x18}, 2880},       // SILK NB 60 ms
		{[]byte{0x60}, 480},        // hybrid SWB 10 ms
		{[]byte{0x80}, 120},        // CELT NB 2.5 ms
		{[]byte{0xf9}, 1920},       // CELT FB 20 ms, two frames
		{[]byte{0x1b, 0x02}, 5760}, // 2 x 60 ms
		{[]byte{0x1b, 0x03}, 0},    // 3 x 60 ms: too long
		{[]byte{0x1b}, 0},          // code 3 without its count
		{nil, 0},
	}
	for _, c := range cases {
		if got := opusSamples(c.p); got != c.want {
			t.Errorf("%x: %d samples, want %d", c.p, got, c.want)
		}
	}
}

func TestSeqTracker(t *testing.T) {
	var s seqTracker
	steps := []struct {
		seq     uint16
		gap     uint64
		inOrder bool
	}{
		{65530, 0, true},
		{65531, 0, true},
		{65531, 0, false}, // duplicate
		{65534, 2, true},
		{65533, 0, false}, // late
		{1, 2, true},      // across the wrap: 65535 and 0 missing
		{2, 0, true},
	}
	for _, st := range steps {
		gap, in := s.next(st.seq)
		if gap != st.gap || in != st.inOrder {
			t.Errorf("seq %d: gap %d in order %v, want %d %v", st.seq, gap, in, st.gap, st.inOrder)
		}
	}
}
