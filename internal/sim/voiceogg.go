package sim

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3/pkg/media/oggreader"

	"github.com/shouwang-hub/shouwang/hub/voice/ogg"
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
	rd, head, err := oggreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("read ogg/opus header: %w", err)
	}
	if head.Channels < 1 || head.Channels > 2 {
		return nil, fmt.Errorf("%d channels: want mono or stereo", head.Channels)
	}
	var frames []opusFrame
	var granule uint64
	for page := 0; ; page++ {
		payload, ph, err := rd.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		if bytes.HasPrefix(payload, []byte("OpusTags")) || len(payload) == 0 {
			continue
		}
		samples, err := ogg.OpusSamples(payload)
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

// clipDuration is how long frames play.
func clipDuration(frames []opusFrame) time.Duration {
	var d time.Duration
	for _, f := range frames {
		d += f.dur
	}
	return d
}

// openRecording creates (or truncates) the Ogg/Opus recording at path, as
// os.Create would.
func openRecording(path string) (*ogg.File, error) {
	return ogg.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}
