package outbox

import (
	"log/slog"
	"strings"
	"testing"
)

type fakeDepths struct{ depth, bytes int64 }

func (f *fakeDepths) Depth() int64 { return f.depth }
func (f *fakeDepths) Bytes() int64 { return f.bytes }

// TestWatchWarns: the watch warns at half and at all of the warning depth,
// and when free disk is under 1 GiB or under twice what the spool holds;
// the disk comes first, and the warning goes once the cause has.
func TestWatchWarns(t *testing.T) {
	sp := &fakeDepths{}
	free := int64(10 << 30)
	w := newWatch(sp, t.TempDir(), 1000, slog.New(slog.DiscardHandler))
	w.free = func(string) (int64, error) { return free, nil }
	cases := []struct {
		depth, bytes, free int64
		want               string
	}{
		{10, 1 << 10, 10 << 30, ""},
		{500, 1 << 20, 10 << 30, "half the warning depth"},
		{1000, 1 << 20, 10 << 30, "past the warning depth"},
		{10, 1 << 10, 512 << 20, "disk nearly full"},
		{1000, 6 << 30, 10 << 30, "disk nearly full"},
		{10, 1 << 10, 10 << 30, ""},
	}
	for _, c := range cases {
		sp.depth, sp.bytes, free = c.depth, c.bytes, c.free
		w.check()
		got := w.Warning()
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("depth %d, %d bytes, %d free: warning %q, want %q", c.depth, c.bytes, c.free, got, c.want)
		}
		if w.DiskFree() != c.free {
			t.Errorf("DiskFree = %d, want %d", w.DiskFree(), c.free)
		}
	}
}
