package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/alerts"
)

// LiveSource is where the live feed gets alert changes from: the hub's
// change feed in front of the alert store.
type LiveSource interface {
	// Subscribe starts receiving changes after the sequence number it
	// returns. buffer is how many changes may wait for the console before
	// the source drops the subscription as lagging.
	Subscribe(buffer int) (LiveSubscription, int64)
	// Snapshot returns the open alerts (timelines are not needed) and the
	// devices summary, as they stand now: after every change already
	// delivered to a subscription. A nil summary means the console's own,
	// the object GET /api/v1/devices/summary answers.
	Snapshot(ctx context.Context) (open []*alerts.Alert, devices any, err error)
	// ChangesSince returns stored changes with Seq > seq in ascending
	// order, at most limit, and the lowest Seq still kept (0 if none).
	ChangesSince(ctx context.Context, seq int64, limit int) ([]alerts.Change, int64, error)
}

// LiveSubscription is one subscription to a LiveSource.
type LiveSubscription interface {
	// Changes delivers changes in increasing Seq. It is closed when the
	// subscription ends: by Close, by the source stopping, or because the
	// subscriber fell behind (then Lagged reports true).
	Changes() <-chan alerts.Change
	// Lagged reports whether the source dropped the subscription for
	// falling behind.
	Lagged() bool
	// Close ends the subscription.
	Close()
}

// LiveOptions tunes the live feed. Zero fields take the defaults named in
// their comments; tests shorten them.
type LiveOptions struct {
	// SendBuffer is how many messages may wait for one client before it is
	// dropped as lagging (1024: an alarm storm opens hundreds of alerts in
	// one commit — 900 gas detectors of a leaking estate in the storm
	// benchmark — and a wall screen must take them without a resync).
	SendBuffer int
	// SourceBuffer is the buffer of the console's one subscription to the
	// LiveSource (4096).
	SourceBuffer int
	// MaxReplay is the most changes a resuming client is replayed; one
	// further behind gets a snapshot (1000).
	MaxReplay int
	// PongWait is how long a client may stay silent, pongs included, before
	// it is disconnected (60 s). PingPeriod must be shorter (54 s). The
	// client's session is checked again at every ping.
	PongWait, PingPeriod time.Duration
	// WriteWait bounds every write to a client (10 s).
	WriteWait time.Duration
	// CloseGrace is how long a closing connection waits for the client to
	// answer its close frame (1 s).
	CloseGrace time.Duration
}

// withDefaults fills in zero fields and checks the result.
func (o LiveOptions) withDefaults() (LiveOptions, error) {
	def := func(v *int, d int, name string) error {
		if *v < 0 {
			return fmt.Errorf("console: config.LiveOptions.%s must not be negative", name)
		} else if *v == 0 {
			*v = d
		}
		return nil
	}
	defDur := func(v *time.Duration, d time.Duration, name string) error {
		if *v < 0 {
			return fmt.Errorf("console: config.LiveOptions.%s must not be negative", name)
		} else if *v == 0 {
			*v = d
		}
		return nil
	}
	err := errors.Join(
		def(&o.SendBuffer, 1024, "SendBuffer"),
		def(&o.SourceBuffer, 4096, "SourceBuffer"),
		def(&o.MaxReplay, 1000, "MaxReplay"),
		defDur(&o.PongWait, 60*time.Second, "PongWait"),
		defDur(&o.WriteWait, 10*time.Second, "WriteWait"),
		defDur(&o.CloseGrace, time.Second, "CloseGrace"),
	)
	if err != nil {
		return o, err
	}
	if o.PingPeriod == 0 {
		o.PingPeriod = o.PongWait * 9 / 10
	}
	if o.PingPeriod < 0 || o.PingPeriod >= o.PongWait {
		return o, fmt.Errorf("console: config.LiveOptions.PingPeriod must be positive and shorter than PongWait (%s)", o.PongWait)
	}
	return o, nil
}

// parseOrigins checks and normalises Config.AllowedOrigins: each must be
// an origin such as "https://console.example.org" (scheme and host, no
// path).
func parseOrigins(origins []string) ([]string, error) {
	out := make([]string, 0, len(origins))
	for i, o := range origins {
		u, err := url.Parse(strings.TrimSuffix(o, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("console: config.AllowedOrigins[%d] %q is not an origin like https://host[:port]", i, o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// refusalLogEvery bounds how often each kind of refused live-feed upgrade
// is logged.
const refusalLogEvery = 10 * time.Second

// Live-feed close codes besides the standard ones.
const (
	// closeLagging tells a client it fell too far behind; it reconnects
	// with ?since= and gets a snapshot if needed.
	closeLagging = 4000
)

// Messages of the live feed: JSON text frames.
type (
	snapshotMessage struct {
		Type    string          `json:"type"` // "snapshot"
		Seq     int64           `json:"seq"`
		Alerts  []*alerts.Alert `json:"alerts"`
		Devices any             `json:"devices"`
	}
	changeMessage struct {
		Type  string        `json:"type"` // "change"
		Seq   int64         `json:"seq"`
		Alert *alerts.Alert `json:"alert"`
	}
)

// withoutTimeline returns a, or a copy of it without its timeline.
func withoutTimeline(a *alerts.Alert) *alerts.Alert {
	if a == nil || a.Timeline == nil {
		return a
	}
	c := *a
	c.Timeline = nil
	return &c
}

// liveRoutes registers the live feed, giving it the console's devices
// summary for sources that have none.
func (s *Server) liveRoutes() {
	if s.live != nil {
		s.live.summary = func(ctx context.Context) (any, error) {
			sum, err := s.devicesSummary(ctx)
			if err != nil {
				return nil, err
			}
			return sum, nil
		}
	}
	s.mux.HandleFunc("GET /api/v1/live", s.liveFeed)
}

// liveFeed upgrades an authenticated, same-origin request to the live
// feed. Every refusal happens before the upgrade, as a JSON error.
func (s *Server) liveFeed(w http.ResponseWriter, r *http.Request) {
	h := s.live
	if h == nil || !h.open() {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the live feed is not available", Code: "unavailable"})
		return
	}
	// Browsers send an Origin with every WebSocket handshake, and send the
	// session cookie whichever page opened it: this check is what stops
	// another site from reading the feed with a duty officer's session.
	if !h.originAllowed(r) {
		// Behind a proxy that rewrites Host this refuses every console,
		// and the page can only say it cannot connect: the log must say why.
		s.refusals.Warn("live:origin", "live feed refused: the page's origin is not this host's; behind a reverse proxy set -public-url to the address browsers use (or pass X-Forwarded-Host from a -trusted-proxies address)",
			"origin", r.Header.Get("Origin"), "host", r.Host, "x_forwarded_host", r.Header.Get("X-Forwarded-Host"), "remote", r.RemoteAddr)
		s.writeError(w, r, shouwang.Errorf(shouwang.EFORBIDDEN, "origin %q may not open the live feed", r.Header.Get("Origin")))
		return
	}
	sess, err := s.authenticate(r)
	if err != nil {
		s.refusals.Warn("live:auth", "live feed refused: no valid session", "err", err, "cookie", hasSessionCookie(r), "remote", r.RemoteAddr)
		s.writeError(w, r, err)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		// A proxy that drops the Upgrade and Connection headers (nginx
		// without proxy_http_version 1.1 and proxy_set_header Upgrade) ends
		// here.
		s.refusals.Warn("live:upgrade", "live feed refused: not a WebSocket upgrade; a reverse proxy must pass the Upgrade and Connection headers",
			"upgrade", r.Header.Get("Upgrade"), "connection", r.Header.Get("Connection"), "proto", r.Proto, "remote", r.RemoteAddr)
		s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "the live feed is a WebSocket: send an upgrade request"))
		return
	}
	since, resume := int64(0), false
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, shouwang.Errorf(shouwang.EINVALID, "since must be a sequence number (a non-negative integer), not %q", v))
			return
		}
		since, resume = n, true
	}
	// The session is checked again at every ping, so a logout, an expiry or
	// a disabled account ends the feed too. Only the headers are kept.
	creds := r.Clone(context.Background())
	recheck := func(ctx context.Context) error {
		_, err := s.authenticate(creds.WithContext(ctx))
		return err
	}
	h.serve(w, r, liveRequest{user: sess.user.Username, scope: scopeOf(sess.user), since: since, resume: resume, recheck: recheck})
}

// originAllowed reports whether r may open the feed: no Origin (not a
// browser; scripts authenticate with a token), the request's own host, or
// one of Config.AllowedOrigins.
func (h *liveHub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.Contains(h.origins, strings.ToLower(u.Scheme+"://"+u.Host))
}

// LiveClients returns the number of clients connected to the live feed.
func (s *Server) LiveClients() int {
	if s.live == nil {
		return 0
	}
	return int(s.live.count.Load())
}

// CloseLive ends the live feed: every client gets a close frame (1001,
// going away), and CloseLive returns when their connections are closed.
// Later requests to the feed are answered 503. Call it before
// http.Server.Shutdown, which does not wait for hijacked connections. It
// is idempotent.
func (s *Server) CloseLive() {
	if s.live != nil {
		s.live.close()
	}
}
