package sim

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// A call's media: the clip streamed out as the microphone once the
// connection is up, the other side's audio counted and recorded, and the
// RTCP of each direction read (the other side's RTCP BYE may end the
// call). Each goroutine here is the Call's: newCall starts them or has
// pion start them (callpeer.go), and supervise waits for them all.

// stream sends the clip, looped, once the connection is up, one Opus packet
// per sample at the pace of the clip's granule positions. It keeps to the
// schedule rather than sleeping a fixed 20 ms per packet, so it does not
// drift; after a stall it starts afresh instead of bursting.
func (c *Call) stream() {
	defer c.wg.Done()
	select {
	case <-c.connected:
	case <-c.ctx.Done():
		return
	}
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	next := time.Now()
	for i := 0; ; i = (i + 1) % len(c.frames) {
		f := c.frames[i]
		if err := c.track.WriteSample(media.Sample{Data: f.data, Duration: f.dur}); err != nil {
			c.log.Debug("write audio sample", "err", err)
		} else {
			c.sent.Add(1)
		}
		next = next.Add(f.dur)
		wait := time.Until(next)
		if wait < -250*time.Millisecond {
			next, wait = time.Now(), 0
		}
		t.Reset(max(wait, 0))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
	}
}

// drainRTCP reads the RTCP that arrives for our track, which the
// interceptors need read; it ends when the peer connection closes.
func (c *Call) drainRTCP() {
	defer c.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := c.sender.Read(buf); err != nil {
			return
		}
	}
}

// onTrack receives the other side's audio: it counts and records every RTP
// packet, and ends the call on the other side's RTCP BYE.
func (c *Call) onTrack(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
	c.mu.Lock()
	if c.reason != "" || c.tracks > 0 || tr.Kind() != webrtc.RTPCodecTypeAudio {
		c.mu.Unlock()
		return
	}
	c.tracks++
	c.wg.Add(2)
	c.mu.Unlock()
	go c.readRTCP(rx)
	defer c.wg.Done()
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if c.recv.Add(1) == 1 {
			c.mu.Lock()
			c.st.FirstPacketAt = time.Now()
			c.mu.Unlock()
			close(c.heard)
		}
		c.recvBytes.Add(uint64(len(pkt.Payload)))
		if c.rec != nil {
			if err := c.rec.WriteRTP(pkt.Timestamp, pkt.Payload); err != nil {
				if c.recErrs.Add(1) == 1 {
					c.log.Warn("record call audio", "err", err)
				}
			}
		}
	}
}

// readRTCP reads the RTCP about the other side's audio; an RTCP BYE ends
// the call when byeEnds.
func (c *Call) readRTCP(rx *webrtc.RTPReceiver) {
	defer c.wg.Done()
	for {
		pkts, _, err := rx.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.Goodbye); ok && c.byeEnds {
				c.log.Debug("rtcp goodbye from the peer")
				c.end(ReasonHangup, false)
			}
		}
	}
}
