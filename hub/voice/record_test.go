package voice

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pion/rtp"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
)

// pkt is an RTP packet of an Opus payload at timestamp ts.
func pkt(ts uint32, payload []byte) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Timestamp: ts}, Payload: payload}
}

// TestRecorder: a recorder creates its file (mode 0640, never over an
// existing one) and records through package ogg (tested there): what is
// Opus, a gap filled; close ends the file once, and a write after it does
// nothing.
func TestRecorder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.ogg")
	log := slog.New(slog.DiscardHandler)
	r, err := newRecorder(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newRecorder(path, log); !errors.Is(err, fs.ErrExist) {
		t.Errorf("recorder over an existing file: %v", err)
	}
	short := append([]byte{0x78}, bytes.Repeat([]byte{1}, 39)...) // hybrid 20 ms
	for _, p := range []*rtp.Packet{pkt(1000, short), pkt(1960, nil), pkt(2920, short)} {
		r.write(p)
	}
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	if err := r.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	r.write(pkt(3880, short))

	// The mode the hub asked for, less the umask.
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	pst, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640&pst.Mode().Perm() {
		t.Errorf("recording mode %v, %v; want 0640 less the umask", st.Mode(), err)
	}
	s := oggtest.ReadFile(t, path)
	s.Check(t, path)
	if want := [][]byte{short, {0x78}, short}; !slices.EqualFunc(s.Packets, want, bytes.Equal) || s.Granule != 3*960 {
		t.Errorf("read back %d packets, granule %d", len(s.Packets), s.Granule)
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
