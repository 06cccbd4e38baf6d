package ogg_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
	"github.com/shouwang-hub/shouwang/hub/voice/ogg/oggtest"
)

// OpenFile passes its flag and permissions on; Close ends the stream and
// may be called again.
func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.ogg")
	f, err := ogg.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ogg.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second exclusive open: %v", err)
	}
	for i := range 50 {
		if err := f.WriteRTP(uint32(i*960), short); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640&^umask(t) {
		t.Errorf("stat: %v, %v", st.Mode(), err)
	}
	s := oggtest.ReadFile(t, path)
	s.Check(t, path)
	if len(s.Packets) != 50 || s.Duration() != time.Second-ogg.PreSkip*time.Second/48000 {
		t.Errorf("%d packets, %v", len(s.Packets), s.Duration())
	}
}

// umask is the process's file mode creation mask.
func umask(t *testing.T) fs.FileMode {
	path := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(path, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ st.Mode().Perm()
}

// libopusfile, through opusdec, decodes a stream of the spoken test clip
// with a gap in it, to the length the granule positions say.
func TestOpusdecDecodes(t *testing.T) {
	opusdec, err := exec.LookPath("opusdec")
	if err != nil {
		t.Fatal("opusdec not found: apt-get install opus-tools")
	}
	clip := oggtest.ReadFile(t, filepath.Join("..", "..", "..", "internal", "sim", "testdata", "voice", "clip.ogg"))
	dir := t.TempDir()
	path := filepath.Join(dir, "r.ogg")
	f, err := ogg.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ts := uint32(123456)
	for i, p := range clip.Packets {
		if i == 100 {
			ts += 10 * 960 // 10 packets lost
		}
		if err := f.WriteRTP(ts, p); err != nil {
			t.Fatal(err)
		}
		n, _ := ogg.OpusSamples(p)
		ts += uint32(n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s := oggtest.ReadFile(t, path)
	s.Check(t, path)
	if len(s.Packets) != len(clip.Packets)+10 {
		t.Errorf("%d packets written, want the clip's %d and 10 to fill the gap", len(s.Packets), len(clip.Packets))
	}
	wav := filepath.Join(dir, "r.wav")
	if out, err := exec.Command(opusdec, "--quiet", "--rate", "48000", path, wav).CombinedOutput(); err != nil {
		t.Fatalf("opusdec: %v\n%s", err, out)
	}
	st, err := os.Stat(wav)
	if err != nil {
		t.Fatal(err)
	}
	// 16-bit mono samples after a 44-byte WAV header.
	if got, want := (st.Size()-44)/2, int64(s.Granule-ogg.PreSkip); got != want {
		t.Errorf("opusdec decoded %d samples, want %d", got, want)
	}
}
