package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/limitlog"
)

// Config is what the console serves from. Registry, Accounts, Alerts,
// History, Ready and Metrics are required.
type Config struct {
	// Registry is where devices are registered.
	Registry devices.Registry
	// Accounts keeps console users and their tokens.
	Accounts accounts.Store
	// Alerts lists alerts and applies people's actions on them.
	Alerts AlertService
	// History returns a device's readings of one field between from and to,
	// aggregated into buckets of every (0 means raw readings).
	History func(ctx context.Context, kind devices.Kind, deviceID, field string, from, to time.Time, every time.Duration) ([]devices.Reading, error)
	// Ready reports whether the hub can do its job, with one entry per
	// dependency checked; it answers GET /readyz.
	Ready func(ctx context.Context) (ok bool, checks map[string]string)
	// Metrics serves GET /metrics.
	Metrics http.Handler
	// OnDeviceChange, if set, is called with a device's ID after the device
	// is created, updated, deleted, imported or given a new password, so the
	// hub can refresh its in-memory index.
	OnDeviceChange func(id string)
	// Silent, if set, lists the life-safety devices that went silent (those
	// with an open offline alert) for GET /api/v1/devices/summary; without
	// it the summary lists the registry's offline life-safety devices.
	Silent func(ctx context.Context) ([]SilentDevice, error)
	// Live, if set, feeds the live feed at GET /api/v1/live (WebSocket);
	// without it that route answers 503.
	Live LiveSource
	// Calls, if set, answers, hangs up and calls back voice calls and
	// serves their recordings; without it those routes answer 503.
	Calls CallService
	// LiveOptions tunes the live feed; the zero value is the defaults.
	LiveOptions LiveOptions
	// AllowedOrigins lists origins besides the console's own (such as
	// "https://duty.example.org") whose pages may open the live feed.
	AllowedOrigins []string
	// PublicURL is the console's address as browsers use it
	// ("https://duty.example.org"), when that is not the host the hub sees:
	// behind a reverse proxy that rewrites the Host header. Its origin may
	// open the live feed and send state-changing requests, and an https
	// one makes the session cookie Secure.
	PublicURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// X-Forwarded-Host and X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
	// LocalCA, if set, is the hub's own certificate authority, offered for
	// download at GET /ca.crt and named on the login page.
	LocalCA *LocalCA
	// BrokerAuth, if set, answers an external broker's HTTP authenticator
	// and authorizer (EMQX 5's format) under /api/v1/broker/emqx/; it checks
	// its own shared secret.
	BrokerAuth http.Handler
	// MosquittoFiles, if set, gives admins mosquitto's password and ACL
	// files for the registry (GET /api/v1/broker/mosquitto).
	MosquittoFiles func(ctx context.Context) (BrokerFiles, error)
	// ICEServers are the STUN and TURN servers the browser is given for
	// calls (GET /api/v1/calls/ice-servers), so a console behind NAT can
	// reach the hub's relay.
	ICEServers []ICEServer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Vendor, if set, answers for off-the-shelf devices: discovered
	// devices, refusals on a device's page, self-test commands.
	Vendor VendorService
	// Places, if set, lists every building the registry knows (the
	// building view's communities); Checkins, if set, is the check-in book
	// of residents living alone; Evacuation orders an incident's evacuation
	// list (its mobility words). See buildings.go, checkins.go.
	Places     func() []Place
	Checkins   CheckinService
	Evacuation alerts.EvacuationRules
	// Photos, if set, keeps photos taken where alerts are handled (a grid
	// worker's phone); without it those routes refuse.
	Photos PhotoService
	// Notify, if set, lists the notification channels and sends a test
	// message on one.
	Notify NotifyService
	// Instances, if set, lists the hub instances sharing the store (GET
	// /api/v1/instances); without it the list is empty.
	Instances InstanceLister
}

// Server is the console's HTTP API.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler
	throttle *loginThrottle
	renewals *renewals                   // when each browser session last slid
	origins  *http.CrossOriginProtection // refuses cross-site browser writes
	live     *liveHub                    // nil without Config.Live
	refusals *limitlog.Logger            // refused live-feed upgrades, at a bounded rate

	publicHTTPS bool // Config.PublicURL is https: browsers are on HTTPS
}

// New checks cfg and returns a server whose Handler serves the API.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	switch {
	case cfg.Registry == nil:
		return nil, errors.New("console: config.Registry is required")
	case cfg.Accounts == nil:
		return nil, errors.New("console: config.Accounts is required")
	case cfg.Alerts == nil:
		return nil, errors.New("console: config.Alerts is required")
	case cfg.History == nil:
		return nil, errors.New("console: config.History is required")
	case cfg.Ready == nil:
		return nil, errors.New("console: config.Ready is required")
	case cfg.Metrics == nil:
		return nil, errors.New("console: config.Metrics is required")
	case logger == nil:
		return nil, errors.New("console: logger is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OnDeviceChange == nil {
		cfg.OnDeviceChange = func(string) {}
	}
	public, err := publicOrigin(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if public != "" {
		cfg.AllowedOrigins = append(slices.Clip(cfg.AllowedOrigins), public)
	}
	s := &Server{
		cfg:         cfg,
		log:         logger,
		mux:         http.NewServeMux(),
		throttle:    newLoginThrottle(),
		renewals:    newRenewals(),
		refusals:    limitlog.New(logger, refusalLogEvery, time.Now),
		publicHTTPS: strings.HasPrefix(public, "https://"),
	}
	if s.origins, err = originCheck(cfg.AllowedOrigins); err != nil {
		return nil, err
	}
	live, err := newLiveHub(cfg, logger)
	if err != nil {
		return nil, err
	}
	s.live = live
	s.routes()
	s.handler = s.observe(s.transport(http.HandlerFunc(s.route)))
	return s, nil
}

// Handler returns the handler serving every route of the console.
func (s *Server) Handler() http.Handler { return s.handler }

// Roles allowed to change devices and to see unregistered ones.
var deviceWriters = []accounts.Role{accounts.RoleInstaller, accounts.RoleAdmin}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.cfg.Metrics)

	s.transportRoutes()
	s.brokerRoutes()
	s.instanceRoutes()
	s.mux.HandleFunc("POST /api/v1/login", s.login)
	s.mux.Handle("POST /api/v1/logout", s.require(nil, s.logout))
	s.mux.Handle("GET /api/v1/me", s.require(nil, s.me))
	s.userRoutes()

	s.mux.Handle("GET /api/v1/devices", s.require(deskRoles, s.listDevices))
	s.mux.Handle("POST /api/v1/devices", s.require(deviceWriters, s.createDevice))
	s.mux.Handle("POST /api/v1/devices/import", s.require(deviceWriters, s.importDevices))
	s.mux.Handle("GET /api/v1/devices/unregistered", s.require(deviceWriters, s.listUnregistered))
	s.mux.Handle("GET /api/v1/devices/summary", s.require(deskRoles, s.getDevicesSummary))
	s.mux.Handle("GET /api/v1/devices/discovered", s.require(deviceWriters, s.listDiscovered))
	s.mux.Handle("POST /api/v1/devices/{id}/selftest", s.require(deviceWriters, s.selfTest))
	s.mux.Handle("GET /api/v1/devices/{id}", s.require(nil, s.getDevice))
	s.mux.Handle("PUT /api/v1/devices/{id}", s.require(deviceWriters, s.updateDevice))
	s.mux.Handle("DELETE /api/v1/devices/{id}", s.require(deviceWriters, s.deleteDevice))
	s.mux.Handle("POST /api/v1/devices/{id}/password", s.require(deviceWriters, s.rotatePassword))
	s.mux.Handle("GET /api/v1/devices/{id}/telemetry", s.require(nil, s.telemetry))

	s.alertRoutes()
	s.incidentRoutes()
	s.loopRoutes()
	s.notifyRoutes()
	s.liveRoutes()
	s.callRoutes()
	s.pprofRoutes()

	web := webHandler() // the duty-room page (web.go)
	s.mux.Handle("GET /{$}", web)
	s.mux.Handle("GET /assets/", web)
	s.mux.Handle("GET /sw.js", web)                // the service worker: the page's shell, never API data
	s.mux.Handle("GET /manifest.webmanifest", web) // the web app manifest: the console on a phone's home screen
}

// route serves a request through the mux, answering unknown routes and
// wrong methods in JSON like every other error.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own answer: a redirect to the canonical path, 404 or 405
	// (with its Allow header). Keep the first, rewrite the others.
	iw := &intercept{ResponseWriter: w}
	s.mux.ServeHTTP(iw, r)
	switch iw.status {
	case http.StatusNotFound:
		s.writeError(w, r, shouwang.Errorf(shouwang.ENOTFOUND, "no such route: %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		s.writeError(w, r, shouwang.Errorf(eMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
	}
}

// intercept passes a response through unless its status is 404 or 405.
type intercept struct {
	http.ResponseWriter
	status int
}

func (w *intercept) WriteHeader(code int) {
	if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *intercept) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ok, checks := s.cfg.Ready(r.Context())
	if checks == nil {
		checks = map[string]string{}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ok": ok, "checks": checks})
}

// observe logs every request at debug level and turns a panic into a 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now() // wall time, not the injected clock
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					s.writeError(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.code(), "duration", time.Since(start))
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder remembers the status of a response. It passes Flush and Hijack
// through, for streaming and for the WebSocket live feed.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *recorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush flushes the underlying writer if it can.
func (w *recorder) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Hijack hands the connection over, for the WebSocket live feed.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}
