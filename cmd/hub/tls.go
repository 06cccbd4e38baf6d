package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/hub/tlsconf"
)

// TLS modes.
const (
	tlsOff   = "off"
	tlsFiles = "files" // -tls-cert and -tls-key
	tlsAuto  = "auto"  // a local CA under the data directory
)

// off turns a listener off in -http, -mqtt-listen and -mqtt-tls-listen.
const off = "off"

// TLSSettings are how the hub serves HTTPS and MQTT over TLS.
type TLSSettings struct {
	Mode      string   // tlsOff, tlsFiles or tlsAuto
	CertFile  string   // files: the certificate (chain) in PEM
	KeyFile   string   // files: its private key in PEM
	Names     []string // auto: DNS names and IP addresses in the server certificate
	HTTPSAddr string   // the console's HTTPS listener
	// MQTTListen is the embedded broker's MQTT-over-TLS listener, or "off".
	MQTTListen string
	// MQTTCAFile verifies an external broker's certificate (-mqtt-url
	// tls://…); empty uses the system's CAs.
	MQTTCAFile string
}

// On reports whether the hub serves HTTPS itself.
func (t TLSSettings) On() bool { return t.Mode == tlsFiles || t.Mode == tlsAuto }

// WebSettings are how browsers reach the console through a reverse proxy.
type WebSettings struct {
	PublicURL      string // the origin browsers use, when a proxy rewrites Host
	TrustedProxies []netip.Prefix
}

func init() {
	maps.Copy(env, map[string]string{
		"tls":             "HUB_TLS",
		"tls-cert":        "HUB_TLS_CERT",
		"tls-key":         "HUB_TLS_KEY",
		"tls-names":       "HUB_TLS_NAMES",
		"https":           "HUB_HTTPS_ADDR",
		"mqtt-tls-listen": "HUB_MQTT_TLS_LISTEN",
		"mqtt-cafile":     "HUB_MQTT_CAFILE",
		"public-url":      "HUB_PUBLIC_URL",
		"trusted-proxies": "HUB_TRUSTED_PROXIES",
	})
}

// tlsFlags registers the TLS and web settings on the flag set (through str,
// which gives each its environment twin) and returns what turns the parsed
// strings into c.TLS and c.Web.
func tlsFlags(str func(p *string, name, def, usage string), c *Config) (finish func() error) {
	var names, proxies string
	str(&c.TLS.Mode, "tls", "", "HTTPS and MQTT over TLS: off, auto (the hub's own CA under <data>/tls issues the certificate) or files (-tls-cert and -tls-key; the default when they are given)")
	str(&c.TLS.CertFile, "tls-cert", "", "TLS certificate file (PEM, chain after the leaf); re-read when it changes")
	str(&c.TLS.KeyFile, "tls-key", "", "TLS private key file (PEM); re-read when it changes")
	str(&names, "tls-names", "", "with -tls auto: comma-separated host names and IP addresses the certificate is for (default: this host's names and addresses)")
	str(&c.TLS.HTTPSAddr, "https", ":8443", "HTTPS listen address of the console when TLS is on; -http then redirects to it")
	str(&c.TLS.MQTTListen, "mqtt-tls-listen", ":8883", "embedded broker's MQTT-over-TLS listener when TLS is on, or off")
	str(&c.TLS.MQTTCAFile, "mqtt-cafile", "", "CA certificate(s) (PEM) to verify an external broker with, for a tls:// -mqtt-url")
	str(&c.Web.PublicURL, "public-url", "", "the console's address as browsers use it behind a reverse proxy, e.g. https://duty.example.org")
	str(&proxies, "trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-* headers are believed")
	return func() error {
		if c.TLS.Mode == "" {
			c.TLS.Mode = tlsOff
			if c.TLS.CertFile != "" || c.TLS.KeyFile != "" {
				c.TLS.Mode = tlsFiles
			}
		}
		c.TLS.Names = splitList(names)
		for _, p := range splitList(proxies) {
			prefix, err := netip.ParsePrefix(p)
			if err != nil {
				addr, aerr := netip.ParseAddr(p)
				if aerr != nil {
					return fmt.Errorf("-trusted-proxies / HUB_TRUSTED_PROXIES %q: want IP addresses or CIDR ranges such as 127.0.0.1,10.0.0.0/8", p)
				}
				prefix = netip.PrefixFrom(addr, addr.BitLen())
			}
			c.Web.TrustedProxies = append(c.Web.TrustedProxies, prefix.Masked())
		}
		return nil
	}
}

// validateTLS checks the TLS and web settings, naming the first bad one.
func (c Config) validateTLS() error {
	t := c.TLS
	switch t.Mode {
	case tlsOff:
		if t.CertFile != "" || t.KeyFile != "" {
			return errors.New("-tls / HUB_TLS off: -tls-cert / HUB_TLS_CERT and -tls-key / HUB_TLS_KEY would not be used")
		}
	case tlsFiles:
		if t.CertFile == "" || t.KeyFile == "" {
			return errors.New("-tls-cert / HUB_TLS_CERT and -tls-key / HUB_TLS_KEY: both are required for TLS from files")
		}
	case tlsAuto:
		if t.CertFile != "" || t.KeyFile != "" {
			return errors.New("-tls-cert / HUB_TLS_CERT: not used with -tls auto, which issues its own certificate; give one or the other")
		}
	default:
		return fmt.Errorf("-tls / HUB_TLS %q: want off, auto or files", t.Mode)
	}
	if len(t.Names) > 0 {
		if t.Mode != tlsAuto {
			return errors.New("-tls-names / HUB_TLS_NAMES: only used with -tls auto")
		}
		if _, _, err := tlsconf.ParseNames(t.Names); err != nil {
			return fmt.Errorf("-tls-names / HUB_TLS_NAMES: %w", err)
		}
	}
	if t.On() {
		if err := checkAddr(t.HTTPSAddr); err != nil {
			return fmt.Errorf("-https / HUB_HTTPS_ADDR %q: %w", t.HTTPSAddr, err)
		}
		if t.HTTPSAddr == c.HTTPAddr && !strings.HasSuffix(t.HTTPSAddr, ":0") {
			return fmt.Errorf("-https / HUB_HTTPS_ADDR %q: the same as -http, which redirects to it; give another port (or -http off)", t.HTTPSAddr)
		}
		if c.MQTTURL == "" && t.MQTTListen != off {
			if err := checkAddr(t.MQTTListen); err != nil {
				return fmt.Errorf("-mqtt-tls-listen / HUB_MQTT_TLS_LISTEN %q: %w (or off)", t.MQTTListen, err)
			}
		}
	}
	if c.HTTPAddr == off && !t.On() {
		return errors.New("-http / HUB_HTTP_ADDR off: only with TLS on (-tls), which serves the console on -https")
	}
	if c.MQTTURL == "" && c.MQTTListen == off && !c.brokerTLS() {
		return errors.New("-mqtt-listen / HUB_MQTT_LISTEN off: the embedded broker needs the TLS listener then (-tls and -mqtt-tls-listen)")
	}
	if t.MQTTCAFile != "" {
		u, _ := url.Parse(c.MQTTURL)
		if u == nil || !slices.Contains([]string{"tls", "ssl", "mqtts"}, u.Scheme) {
			return fmt.Errorf("-mqtt-cafile / HUB_MQTT_CAFILE: only for an external broker over TLS (-mqtt-url tls://host:8883)")
		}
	}
	if c.Web.PublicURL != "" {
		u, err := url.Parse(c.Web.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("-public-url / HUB_PUBLIC_URL %q: want the origin browsers use, such as https://duty.example.org", c.Web.PublicURL)
		}
	}
	return nil
}

// brokerTLS reports whether the embedded broker has a TLS listener.
func (c Config) brokerTLS() bool { return c.TLS.On() && c.TLS.MQTTListen != off }

// tlsParts are the running pieces of TLS.
type tlsParts struct {
	certs    *tlsconf.Reloader // the certificate HTTPS and MQTT present; nil with TLS off
	ca       *tlsconf.LocalCA  // -tls auto
	redirect *http.Server      // -http when TLS is on
	httpsLn  net.Listener
}

// startTLS loads the certificate, creating the local CA and its server
// certificate first in auto mode.
func (m *Main) startTLS(ctx context.Context) error {
	c := m.Config.TLS
	log := m.Logger.With("part", "tls")
	certFile, keyFile := c.CertFile, c.KeyFile
	switch c.Mode {
	case tlsOff:
		return nil
	case tlsAuto:
		names := c.Names
		if len(names) == 0 {
			names = tlsconf.DefaultNames()
		}
		ca, err := tlsconf.OpenLocalCA(filepath.Join(m.Config.DataDir, "tls"), names, log)
		if err != nil {
			return fmt.Errorf("-tls auto: %w", err)
		}
		m.tls.ca = ca
		m.goRun(func() { ca.Run(ctx) })
		certFile, keyFile = ca.CertFile(), ca.KeyFile()
		log.Info("TLS from the hub's local CA", "ca", ca.CAFile(), "sha256", ca.Fingerprint(), "names", strings.Join(names, ","))
	}
	certs, err := tlsconf.NewReloader(certFile, keyFile, log)
	if err != nil {
		if c.Mode == tlsFiles {
			return fmt.Errorf("-tls-cert / HUB_TLS_CERT, -tls-key / HUB_TLS_KEY: %w", err)
		}
		return err
	}
	m.tls.certs = certs
	if leaf := certs.Leaf(); time.Until(leaf.NotAfter) < 14*24*time.Hour {
		log.Warn("the TLS certificate expires soon; replace the files (they are re-read without a restart)", "not_after", leaf.NotAfter)
	}
	return nil
}

// brokerListeners returns the embedded broker's plain and TLS listen
// addresses and the TLS settings of the latter.
func (m *Main) brokerListeners() (plain, secure string, tc *tls.Config) {
	c := m.Config
	if c.MQTTListen != off {
		plain = c.MQTTListen
	}
	if c.brokerTLS() {
		secure, tc = c.TLS.MQTTListen, tlsconf.ServerConfig(m.tls.certs.GetCertificate)
	}
	return plain, secure, tc
}

// embeddedClientURL is how the hub's own MQTT clients reach the embedded
// broker: over loopback, in plain TCP when that listener is on, else over
// TLS, accepting exactly the certificate the hub itself serves (whatever
// names it has).
func (m *Main) embeddedClientURL() (string, *tls.Config) {
	if at := m.broker.Addr(); at != "" {
		return "tcp://" + loopback(at), nil
	}
	certs := m.tls.certs
	return "tls://" + loopback(m.broker.TLSAddr()), &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified below: it must be the hub's own certificate
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !cs.PeerCertificates[0].Equal(certs.Leaf()) {
				return errors.New("the embedded broker did not present the hub's own certificate")
			}
			return nil
		},
	}
}

// externalBrokerTLS is the TLS setting for an external broker: its CA from
// -mqtt-cafile, or the system's.
func externalBrokerTLS(c Config) (*tls.Config, error) {
	u, err := url.Parse(c.MQTTURL)
	if err != nil || !slices.Contains([]string{"tls", "ssl", "mqtts"}, u.Scheme) {
		return nil, nil
	}
	tc, err := tlsconf.ClientConfig(c.TLS.MQTTCAFile)
	if err != nil {
		return nil, fmt.Errorf("-mqtt-cafile / HUB_MQTT_CAFILE: %w", err)
	}
	return tc, nil
}

// consoleTLS fills in what the console needs to know about how browsers
// reach it.
func (m *Main) consoleTLS(cfg *console.Config) {
	c := m.Config
	cfg.PublicURL = c.Web.PublicURL
	cfg.TrustedProxies = c.Web.TrustedProxies
	if ca := m.tls.ca; ca != nil {
		cfg.LocalCA = &console.LocalCA{CertPEM: ca.CertPEM(), SHA256: ca.Fingerprint()}
	}
	var stun, turn []string
	for _, u := range c.ICEServers {
		if strings.HasPrefix(u, "stun:") {
			stun = append(stun, u)
		} else {
			turn = append(turn, u)
		}
	}
	if len(stun) > 0 {
		cfg.ICEServers = append(cfg.ICEServers, console.ICEServer{URLs: stun})
	}
	if len(turn) > 0 {
		cfg.ICEServers = append(cfg.ICEServers, console.ICEServer{URLs: turn, Username: c.ICEUsername, Credential: c.ICECredential})
	}
}

// serveHTTP starts the console's listeners: plain HTTP with TLS off; with
// TLS on, HTTPS on -https and, on -http, a redirect to it.
func (m *Main) serveHTTP(handler http.Handler) error {
	c, log := m.Config, m.Logger
	m.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.With("part", "http").Handler(), slog.LevelInfo), // TLS handshake failures: a PC that does not trust the CA yet
	}
	if !c.TLS.On() {
		ln, err := net.Listen("tcp", c.HTTPAddr)
		if err != nil {
			return fmt.Errorf("-http / HUB_HTTP_ADDR %s: %w", c.HTTPAddr, err)
		}
		m.httpLn = ln
		m.goServe(m.http, func() error { return m.http.Serve(ln) })
		return nil
	}
	ln, err := net.Listen("tcp", c.TLS.HTTPSAddr)
	if err != nil {
		return fmt.Errorf("-https / HUB_HTTPS_ADDR %s: %w", c.TLS.HTTPSAddr, err)
	}
	m.tls.httpsLn = ln
	m.http.TLSConfig = tlsconf.ServerConfig(m.tls.certs.GetCertificate)
	m.goServe(m.http, func() error { return m.http.ServeTLS(ln, "", "") })
	if c.HTTPAddr != off {
		pln, err := net.Listen("tcp", c.HTTPAddr)
		if err != nil {
			return fmt.Errorf("-http / HUB_HTTP_ADDR %s: %w", c.HTTPAddr, err)
		}
		m.httpLn = pln
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		m.tls.redirect = &http.Server{Handler: console.RedirectHTTPS(port, c.Web.PublicURL), ReadHeaderTimeout: 10 * time.Second}
		m.goServe(m.tls.redirect, func() error { return m.tls.redirect.Serve(pln) })
	}
	return nil
}

func (m *Main) goServe(srv *http.Server, serve func() error) {
	m.goRun(func() {
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server", "err", err)
		}
	})
}

// closeRedirect stops the plain-HTTP redirect.
func (m *Main) closeRedirect(ctx context.Context) error {
	if m.tls.redirect == nil {
		return nil
	}
	return m.tls.redirect.Shutdown(ctx)
}

// HTTPSAddr is the address the console's HTTPS listens on, or "" with TLS
// off.
func (m *Main) HTTPSAddr() string {
	if m.tls.httpsLn == nil {
		return ""
	}
	return m.tls.httpsLn.Addr().String()
}

// BrokerTLSAddr is the embedded broker's MQTT-over-TLS address, or "".
func (m *Main) BrokerTLSAddr() string {
	if m.broker == nil {
		return ""
	}
	return m.broker.TLSAddr()
}

// LocalCAFile is the local CA's certificate in -tls auto, or "".
func (m *Main) LocalCAFile() string {
	if m.tls.ca == nil {
		return ""
	}
	return m.tls.ca.CAFile()
}
