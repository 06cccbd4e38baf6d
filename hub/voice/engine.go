package voice

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// Opus as browsers offer it: 48 kHz, two channels in the SDP (RFC 7587
// always says 2, whatever the encoder sends), payload type 111.
var opusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

const opusPayloadType = 111

// newAPI builds the one webrtc.API a Manager uses for every peer
// connection.
func newAPI(cfg Config, logger *slog.Logger) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: opusPayloadType}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	// Sender and receiver reports, so both ends (a browser's getStats
	// among them) see loss and round-trip time. No NACK or TWCC: audio
	// is not retransmitted and its bitrate is small.
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: pionLoggers{logger}}
	disconnected, failed, keepalive := iceTimeouts(cfg.PeerTimeout)
	se.SetICETimeouts(disconnected, failed, keepalive)
	if cfg.UDPPortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("UDPPortMin/UDPPortMax: %w", err)
		}
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	// A hub and a console (or a simulator) on one machine talk over
	// loopback; pion leaves loopback candidates out by default.
	se.SetIncludeLoopbackCandidate(true)

	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// iceTimeouts splits PeerTimeout: a peer heard from nothing for half of it
// is disconnected, for all of it failed; keep-alives go out five times per
// timeout (at most every 2 s, pion's default) so a live but quiet peer is
// never mistaken for a gone one.
func iceTimeouts(peer time.Duration) (disconnected, failed, keepalive time.Duration) {
	keepalive = min(peer/5, 2*time.Second)
	return peer / 2, peer - peer/2, keepalive
}

// iceConfig turns the configured STUN/TURN URLs into pion's form.
func iceConfig(cfg Config) webrtc.Configuration {
	var stunURLs, turnURLs []string
	for _, u := range cfg.ICEServers {
		if isTURN(u) {
			turnURLs = append(turnURLs, u)
		} else {
			stunURLs = append(stunURLs, u)
		}
	}
	var c webrtc.Configuration
	if len(stunURLs) > 0 {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: stunURLs})
	}
	if len(turnURLs) > 0 {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: turnURLs, Username: cfg.ICEUsername,
			Credential: cfg.ICECredential, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return c
}

// pionLoggers adapts pion's logging to slog, keeping warnings and errors:
// pion's info and below describe every state change of every connection.
type pionLoggers struct{ log *slog.Logger }

func (f pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}

func (l pionLogger) Warn(msg string) { l.log.Warn(msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelWarn) {
		l.log.Warn(fmt.Sprintf(format, args...))
	}
}
func (l pionLogger) Error(msg string) { l.log.Error(msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelError) {
		l.log.Error(fmt.Sprintf(format, args...))
	}
}
