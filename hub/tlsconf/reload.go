package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckEvery is how often, at most, a Reloader looks at its files:
// on the first handshake after this much time has passed since it last
// looked.
const DefaultCheckEvery = time.Second

// Reloader serves a certificate and key from two PEM files and reads them
// again when either changes (its modification time, size or inode), so a
// certificate renewed on disk — by an operator, certbot or the local CA —
// is served from the next handshake on, without a restart. A pair that does
// not load (the key replaced but not yet the certificate, a typo) is logged
// once and the previous certificate is served until the files change again.
//
// It needs no goroutine: GetCertificate looks at the files, at most once
// per CheckEvery.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	checkEvery        time.Duration
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	lastCheck atomic.Int64 // unix nanoseconds

	mu     sync.Mutex // one look at the files at a time
	loaded [2]os.FileInfo
	failed [2]os.FileInfo // the files as they were when they last failed to load
}

// NewReloader loads the certificate (with any intermediates after it in
// certFile) and its private key, and fails if they do not load.
func NewReloader(certFile, keyFile string, logger *slog.Logger) (*Reloader, error) {
	switch {
	case certFile == "":
		return nil, errors.New("tlsconf: certificate file is required")
	case keyFile == "":
		return nil, errors.New("tlsconf: key file is required")
	case logger == nil:
		return nil, errors.New("tlsconf: logger is required")
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: logger, checkEvery: DefaultCheckEvery, now: time.Now}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(cert)
	r.loaded = st
	r.lastCheck.Store(r.now().UnixNano())
	return r, nil
}

// SetCheckEvery changes how often the files are looked at; tests shorten it.
func (r *Reloader) SetCheckEvery(d time.Duration) { r.checkEvery = d }

// GetCertificate is for tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// Certificate returns the certificate to serve now, first reading the files
// again if they changed.
func (r *Reloader) Certificate() *tls.Certificate {
	now := r.now().UnixNano()
	if last := r.lastCheck.Load(); now-last >= int64(r.checkEvery) && r.lastCheck.CompareAndSwap(last, now) {
		r.check()
	}
	return r.cert.Load()
}

// Leaf returns the parsed certificate being served.
func (r *Reloader) Leaf() *x509.Certificate { return r.Certificate().Leaf }

// check reloads the pair if either file changed since it was loaded (or
// since it last failed to load).
func (r *Reloader) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stat()
	if err != nil {
		if !same(r.failed, st) {
			r.log.Warn("TLS certificate files unreadable; still serving the previous certificate", "err", err)
			r.failed = st
		}
		return
	}
	if same(r.loaded, st) || same(r.failed, st) {
		return
	}
	cert, err := r.load()
	if err != nil {
		r.log.Warn("TLS certificate changed but does not load; still serving the previous certificate", "err", err)
		r.failed = st
		return
	}
	r.cert.Store(cert)
	r.loaded, r.failed = st, [2]os.FileInfo{}
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "subject", cert.Leaf.Subject.String(),
		"not_after", cert.Leaf.NotAfter.Format(time.RFC3339))
}

func (r *Reloader) stat() ([2]os.FileInfo, error) {
	var st [2]os.FileInfo
	var err error
	if st[0], err = os.Stat(r.certFile); err != nil {
		return st, fmt.Errorf("tlsconf: certificate: %w", err)
	}
	if st[1], err = os.Stat(r.keyFile); err != nil {
		return st, fmt.Errorf("tlsconf: key: %w", err)
	}
	return st, nil
}

func (r *Reloader) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil { // Go before 1.23, or GODEBUG=x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconf: parse %s: %w", r.certFile, err)
		}
	}
	return &cert, nil
}

// same reports whether two looks at the pair saw the same files.
func same(a, b [2]os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil || !os.SameFile(a[i], b[i]) ||
			!a[i].ModTime().Equal(b[i].ModTime()) || a[i].Size() != b[i].Size() {
			return false
		}
	}
	return true
}

// ServerConfig returns the TLS settings the hub's listeners use, serving
// the certificates get returns: TLS 1.2 or newer (Go's default cipher
// suites, all forward-secret AEADs).
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: get}
}
