package sim

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// opusCodec is the one codec a call negotiates.
var opusCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1",
	},
	PayloadType: 111,
}

// newAPI builds the pion API of one call: Opus only, RTCP sender and
// receiver reports (the hub measures loss from them), host candidates over
// UDP4 including loopback, no mDNS, and ICE timeouts that add up to
// peerTimeout.
func newAPI(peerTimeout time.Duration, log *slog.Logger) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(opusCodec, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("rtcp reports: %w", err)
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{log}}
	keepAlive := min(peerTimeout/10, 500*time.Millisecond)
	se.SetICETimeouts(peerTimeout*2/5, peerTimeout*3/5, keepAlive)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// pionLogs adapts pion's logging to slog. Pion is chatty about internals a
// simulator's user cannot act on, so its levels are shifted down one step
// and trace is dropped.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) logf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (p pionLogger) Trace(string)                      {}
func (p pionLogger) Tracef(string, ...any)             {}
func (p pionLogger) Debug(msg string)                  { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Debugf(format string, args ...any) { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Info(msg string)                   { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLogger) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                   { p.logf(slog.LevelInfo, "%s", msg) }
func (p pionLogger) Warnf(format string, args ...any)  { p.logf(slog.LevelInfo, format, args...) }
func (p pionLogger) Error(msg string)                  { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLogger) Errorf(format string, args ...any) { p.logf(slog.LevelWarn, format, args...) }
