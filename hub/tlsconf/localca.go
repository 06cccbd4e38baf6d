package tlsconf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/internal/atomicfile"
)

// Lifetimes of what the local CA issues. The server certificate stays under
// the 398 days browsers accept from any CA and is renewed a month before it
// ends; the CA, which duty-room PCs trust once, lasts ten years.
const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 397 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
	renewCheck     = 12 * time.Hour
	backdate       = time.Hour // tolerate PCs whose clocks run a little behind
)

// Files of the local CA, in its directory.
const (
	CACertFile     = "ca.crt"
	caKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

// LocalCA is a certificate authority of the hub's own, kept in a directory
// (<data>/tls): its certificate and key, and the server certificate it
// issued for the names and addresses the hub is reached by. Duty-room PCs
// trust the CA once (the console offers its certificate for download); the
// server certificate can then be reissued — for new names, or before it
// expires — without anyone noticing.
//
// Whoever holds ca.key can make certificates those PCs trust for any site,
// so it is written readable by the hub's user only.
type LocalCA struct {
	dir   string
	names []string
	log   *slog.Logger
	now   func() time.Time

	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// OpenLocalCA loads the CA in dir, creating it the first time, and makes
// sure dir holds a current server certificate for names (DNS names and IP
// addresses; see ParseNames).
func OpenLocalCA(dir string, names []string, logger *slog.Logger) (*LocalCA, error) {
	if logger == nil {
		return nil, errors.New("tlsconf: logger is required")
	}
	if _, _, err := ParseNames(names); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("tlsconf: the local CA needs at least one name or address to certify")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	ca := &LocalCA{dir: dir, names: slices.Clone(names), log: logger, now: time.Now}
	if err := ca.loadOrCreate(); err != nil {
		return nil, err
	}
	if _, err := ca.EnsureServerCert(); err != nil {
		return nil, err
	}
	return ca, nil
}

// CertPEM returns the CA's certificate, PEM-encoded: what a duty-room PC
// trusts, and what clients (devices, devsim, hubctl) verify the hub with.
func (ca *LocalCA) CertPEM() []byte { return ca.pem }

// CAFile is the path of the CA's certificate.
func (ca *LocalCA) CAFile() string { return filepath.Join(ca.dir, CACertFile) }

// CertFile and KeyFile are the paths of the server certificate (followed by
// the CA's, so clients given only the leaf's chain find the root) and its
// key, for a Reloader.
func (ca *LocalCA) CertFile() string { return filepath.Join(ca.dir, ServerCertFile) }
func (ca *LocalCA) KeyFile() string  { return filepath.Join(ca.dir, ServerKeyFile) }

// Fingerprint is the SHA-256 of the CA certificate, in the colon-separated
// hex that Windows, Firefox and Chromium show, so a person can check the
// file they trust is the hub's.
func (ca *LocalCA) Fingerprint() string { return Fingerprint(ca.cert) }

// Fingerprint returns the SHA-256 of a certificate as colon-separated hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Run reissues the server certificate when it comes within a month of
// expiring, looking twice a day, until ctx is done. A Reloader of CertFile
// and KeyFile then serves the new one.
func (ca *LocalCA) Run(ctx context.Context) {
	t := time.NewTicker(renewCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := ca.EnsureServerCert(); err != nil {
				ca.log.Error("renew the local CA's server certificate", "err", err)
			}
		}
	}
}

func (ca *LocalCA) loadOrCreate() error {
	certPath, keyPath := filepath.Join(ca.dir, CACertFile), filepath.Join(ca.dir, caKeyFile)
	certPEM, errC := os.ReadFile(certPath)
	keyPEM, errK := os.ReadFile(keyPath)
	switch {
	case errors.Is(errC, os.ErrNotExist) && errors.Is(errK, os.ErrNotExist):
		return ca.create(certPath, keyPath)
	case errC != nil:
		return fmt.Errorf("tlsconf: local CA certificate: %w", errC)
	case errK != nil:
		return fmt.Errorf("tlsconf: local CA key: %w", errK)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return fmt.Errorf("tlsconf: local CA certificate %s: %w", certPath, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return fmt.Errorf("tlsconf: local CA key %s: %w", keyPath, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return fmt.Errorf("tlsconf: local CA key %s does not belong to %s", keyPath, certPath)
	}
	if !cert.IsCA {
		return fmt.Errorf("tlsconf: %s is not a CA certificate", certPath)
	}
	if ca.now().After(cert.NotAfter) {
		return fmt.Errorf("tlsconf: the local CA %s expired on %s: move the tls directory aside to create a new one (and trust it again on the duty-room PCs)", certPath, cert.NotAfter.Format(time.DateOnly))
	}
	ca.cert, ca.key, ca.pem = cert, key, certPEM
	return nil
}

func (ca *LocalCA) create(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsconf: CA key: %w", err)
	}
	host, _ := os.Hostname()
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{
			Organization: []string{"Shouwang"},
			CommonName:   strings.TrimSpace("Shouwang local CA " + host + " " + now.Format("2006-01-02")),
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs server certificates only, never another CA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("tlsconf: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("tlsconf: parse CA certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a certificate without its key would stop the next
	// start, a key without its certificate is replaced.
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	ca.cert, ca.key, ca.pem = cert, key, certPEM
	ca.log.Info("created a local certificate authority; trust its certificate once on each duty-room PC",
		"ca", certPath, "sha256", Fingerprint(cert))
	return nil
}

// EnsureServerCert issues a new server certificate unless the one on disk
// was issued by this CA, for exactly the configured names, with its key,
// and has more than a month left. It reports whether it issued one.
func (ca *LocalCA) EnsureServerCert() (bool, error) {
	why := ca.serverCertProblem()
	if why == "" {
		return false, nil
	}
	if err := ca.issue(); err != nil {
		return false, err
	}
	ca.log.Info("issued the server certificate", "why", why, "names", strings.Join(ca.names, ","), "cert", ca.CertFile())
	return true, nil
}

// serverCertProblem says why the server certificate on disk will not do,
// or "" if it will.
func (ca *LocalCA) serverCertProblem() string {
	certPEM, err := os.ReadFile(ca.CertFile())
	if err != nil {
		return "none yet"
	}
	keyPEM, err := os.ReadFile(ca.KeyFile())
	if err != nil {
		return "no key"
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return "unreadable"
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil || !publicKeysEqual(cert.PublicKey, key.Public()) {
		return "key does not match"
	}
	if err := cert.CheckSignatureFrom(ca.cert); err != nil {
		return "not issued by this CA"
	}
	dns, ips, _ := ParseNames(ca.names)
	if !sameNames(cert, dns, ips) {
		return "names changed"
	}
	if ca.now().Add(renewBefore).After(cert.NotAfter) {
		return "expires " + cert.NotAfter.Format(time.DateOnly)
	}
	return ""
}

func (ca *LocalCA) issue() error {
	dns, ips, err := ParseNames(ca.names)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsconf: server key: %w", err)
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"Shouwang"}, CommonName: ca.names[0]},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return fmt.Errorf("tlsconf: issue server certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return err
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain = append(chain, ca.pem...)
	// The key is written first and the certificate last: a Reloader that
	// looks in between finds a pair that does not match, keeps serving the
	// old one and loads the new pair once the certificate is in place.
	if err := atomicfile.Write(ca.KeyFile(), keyPEM, 0o600); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := atomicfile.Write(ca.CertFile(), chain, 0o644); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	return nil
}

// sameNames reports whether c certifies exactly these names and addresses.
func sameNames(c *x509.Certificate, dns []string, ips []net.IP) bool {
	if !sameSet(c.DNSNames, dns) {
		return false
	}
	got := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		got[i] = ip.String()
	}
	want := make([]string, len(ips))
	for i, ip := range ips {
		want[i] = ip.String()
	}
	return sameSet(got, want)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails; see crypto/rand
	return n.Add(n, big.NewInt(1))
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key of type %T cannot sign", k)
	}
	return s, nil
}

func marshalKeyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, err1 := x509.MarshalPKIXPublicKey(a)
	eb, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}
