package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// How the console is reached: over HTTPS served by the hub itself, or
// through a reverse proxy (nginx, Caddy) that terminates TLS and may rewrite
// the Host header. Browsers need the answers right: a session cookie must
// be Secure on HTTPS, the live feed's Origin check must accept the origin
// people type, and the microphone is offered only to a secure page.

// hstsValue asks browsers to use HTTPS for a year. includeSubDomains is
// left out: the hub's name may be a host of a larger domain whose other
// sites it cannot speak for.
const hstsValue = "max-age=31536000"

// ICEServer is a STUN or TURN server the console's browser uses for calls,
// in the shape of RTCIceServer.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// secureKey marks, in a request's context, that the browser reached the
// console over HTTPS (the hub's own, or a trusted proxy's).
type secureKey struct{}

// transport adjusts a request for how it reached the hub before anything
// else sees it. From a trusted proxy it believes X-Forwarded-For (the
// client's address, for logs), X-Forwarded-Host (the host the browser
// asked for, for the same-origin checks) and X-Forwarded-Proto; from anyone
// else those headers mean nothing. A request that arrived over HTTPS gets
// HSTS.
func (s *Server) transport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure := r.TLS != nil || s.publicHTTPS
		if s.fromTrustedProxy(r) {
			if ip := s.forwardedClient(r); ip.IsValid() {
				r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			}
			if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
				r.Host = h
			}
			if strings.EqualFold(firstValue(r.Header.Get("X-Forwarded-Proto")), "https") {
				secure = true
			}
		}
		if secure {
			w.Header().Set("Strict-Transport-Security", hstsValue)
			r = r.WithContext(context.WithValue(r.Context(), secureKey{}, true))
		}
		next.ServeHTTP(w, r)
	})
}

// secureRequest reports whether the browser reached the console over TLS,
// the hub's own or its proxy's; only then is the session cookie marked
// Secure, so that a plain-HTTP duty-room LAN still works.
func secureRequest(r *http.Request) bool {
	v, _ := r.Context().Value(secureKey{}).(bool)
	return v || r.TLS != nil
}

// fromTrustedProxy reports whether the request's peer is one of
// Config.TrustedProxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && s.trusted(ap.Addr())
}

func (s *Server) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedClient is the client's address from X-Forwarded-For: the
// rightmost address that is not a trusted proxy (what is left of it could
// have been written by the client itself), or the leftmost if all are.
func (s *Server) forwardedClient(r *http.Request) netip.Addr {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return last // garbage: trust nothing further left
		}
		last = ip
		if !s.trusted(ip) {
			return ip
		}
	}
	return last
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// publicOrigin checks Config.PublicURL and returns its origin
// ("https://duty.example.org"), or "" if none is set.
func publicOrigin(publicURL string) (string, error) {
	if publicURL == "" {
		return "", nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("console: config.PublicURL %q is not a URL like https://duty.example.org", publicURL)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// siteInfo answers GET /api/v1/site, which the login page reads before
// anyone logs in: whether the hub has a local CA whose certificate a
// duty-room PC should trust, and where to get it.
type siteInfo struct {
	LocalCA *localCAInfo `json:"local_ca,omitempty"`
}

type localCAInfo struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// caPath is where the local CA's certificate is offered for download.
const caPath = "/ca.crt"

func (s *Server) transportRoutes() {
	s.mux.HandleFunc("GET /api/v1/site", func(w http.ResponseWriter, r *http.Request) {
		var info siteInfo
		if s.cfg.LocalCA != nil {
			info.LocalCA = &localCAInfo{URL: caPath, SHA256: s.cfg.LocalCA.SHA256}
		}
		writeJSON(w, http.StatusOK, info)
	})
	if s.cfg.LocalCA != nil {
		s.mux.HandleFunc("GET "+caPath, s.downloadCA)
	}
}

// LocalCA is the hub's own certificate authority, whose certificate the
// console offers for download so that a duty-room PC can trust it once.
type LocalCA struct {
	CertPEM []byte
	SHA256  string // the certificate's fingerprint, as browsers show it
}

// downloadCA serves the local CA's certificate. The MIME type makes
// Firefox offer to trust it and Windows open its certificate dialog.
func (s *Server) downloadCA(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/x-x509-ca-cert")
	h.Set("Content-Disposition", `attachment; filename="shouwang-ca.crt"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.Write(s.cfg.LocalCA.CertPEM)
}

// RedirectHTTPS answers every request on the hub's plain-HTTP port with a
// permanent redirect to the same path over HTTPS: on publicURL if set, else
// on the host the browser asked for at httpsPort. GET /healthz is answered
// here, so a liveness probe needs no certificate.
func RedirectHTTPS(httpsPort, publicURL string) http.Handler {
	public := strings.TrimSuffix(publicURL, "/")
	if !strings.HasPrefix(public, "https://") {
		public = ""
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "ok")
			return
		}
		target := public
		if target == "" {
			host := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
			if host == "" {
				http.Error(w, "use HTTPS", http.StatusBadRequest)
				return
			}
			if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
				host = "[" + host + "]" // an IPv6 literal
			}
			target = "https://" + host
			if httpsPort != "443" {
				target += ":" + httpsPort
			}
		}
		// 308 keeps the method and body, so an API client is not turned
		// from POST to GET.
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}
