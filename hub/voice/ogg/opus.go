package ogg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// OpusSamples returns how many 48 kHz samples an Opus packet holds, from
// its table-of-contents byte (RFC 6716 section 3.1). It fails on what is
// not a valid Opus packet: an empty one, a code-3 packet without its frame
// count or with no frames, one longer than 120 ms.
func OpusSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, errors.New("empty opus packet")
	}
	toc := p[0]
	cfg := toc >> 3
	var frame int // samples per frame
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		frame = [2]int{480, 960}[cfg&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = [4]int{120, 240, 480, 960}[cfg&3]
	}
	n := 1
	switch toc & 0x03 {
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

// opusHead is the identification header (RFC 7845 section 5.1): version 1,
// Channels, PreSkip, 48 kHz input, no gain, channel mapping family 0.
func opusHead() []byte {
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1
	head[9] = Channels
	binary.LittleEndian.PutUint16(head[10:], PreSkip)
	binary.LittleEndian.PutUint32(head[12:], 48000) // informational
	return head
}

// opusTags is the comment header (RFC 7845 section 5.2): the vendor and
// no user comments.
func opusTags() []byte {
	const vendor = "shouwang"
	tags := make([]byte, 0, 8+4+len(vendor)+4)
	tags = append(tags, "OpusTags"...)
	tags = binary.LittleEndian.AppendUint32(tags, uint32(len(vendor)))
	tags = append(tags, vendor...)
	return binary.LittleEndian.AppendUint32(tags, 0)
}
