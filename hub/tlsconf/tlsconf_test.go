package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// logTo returns a logger writing into buf.
func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

func pool(t *testing.T, ca *LocalCA) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CA PEM does not parse")
	}
	return p
}

func serverLeaf(t *testing.T, ca *LocalCA) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(ca.CertFile(), ca.KeyFile())
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	return chain[0], chain
}

func TestLocalCAIssuesForEveryNameAndKeepsItsKeysPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	names := []string{"duty.street.lan", "Hub-PC", "192.168.1.10", "::1"}
	ca, err := OpenLocalCA(dir, names, quiet())
	if err != nil {
		t.Fatal(err)
	}
	leaf, chain := serverLeaf(t, ca)
	if len(chain) != 2 || !chain[1].Equal(ca.cert) {
		t.Errorf("server.crt holds %d certificates; want the leaf and the CA", len(chain))
	}
	for _, name := range []string{"duty.street.lan", "hub-pc", "192.168.1.10", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool(t, ca)}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.lan", Roots: pool(t, ca)}); err == nil {
		t.Error("the certificate verified for a name it was not issued for")
	}
	// A CA of another hub is not this one.
	other, err := OpenLocalCA(filepath.Join(t.TempDir(), "tls"), names, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "duty.street.lan", Roots: pool(t, other)}); err == nil {
		t.Error("the certificate verified against another CA")
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) > 398*24*time.Hour {
		t.Errorf("server certificate valid %s: browsers refuse more than 398 days", leaf.NotAfter.Sub(leaf.NotBefore))
	}
	for file, want := range map[string]os.FileMode{CACertFile: 0o644, caKeyFile: 0o600, ServerCertFile: 0o644, ServerKeyFile: 0o600} {
		st, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", file, st.Mode().Perm(), want)
		}
	}
	if fp := ca.Fingerprint(); len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestLocalCAReopensAndReissuesOnlyWhenNeeded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, err := OpenLocalCA(dir, []string{"hub.lan", "10.0.0.2"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	first, _ := serverLeaf(t, ca)

	// Same names: the same CA and the same server certificate.
	again, err := OpenLocalCA(dir, []string{"10.0.0.2", "hub.lan"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Fatal("reopening made a new CA")
	}
	if leaf, _ := serverLeaf(t, again); !leaf.Equal(first) {
		t.Error("reopening with the same names reissued the server certificate")
	}

	// A new name: a new server certificate from the same CA.
	renamed, err := OpenLocalCA(dir, []string{"hub.lan", "10.0.0.2", "10.0.0.3"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := serverLeaf(t, renamed)
	if leaf.Equal(first) {
		t.Fatal("a new address did not reissue the server certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "10.0.0.3", Roots: pool(t, ca)}); err != nil {
		t.Errorf("the reissued certificate does not verify against the original CA: %v", err)
	}

	// A month before expiry, it is renewed; not before.
	renamed.now = func() time.Time { return leaf.NotAfter.Add(-renewBefore - time.Hour) }
	if issued, err := renamed.EnsureServerCert(); err != nil || issued {
		t.Errorf("31 days before expiry: issued=%v err=%v; want no renewal yet", issued, err)
	}
	renamed.now = func() time.Time { return leaf.NotAfter.Add(-renewBefore + time.Hour) }
	if issued, err := renamed.EnsureServerCert(); err != nil || !issued {
		t.Errorf("29 days before expiry: issued=%v err=%v; want a renewal", issued, err)
	}
}

func TestLocalCARefusesBadSetups(t *testing.T) {
	if _, err := OpenLocalCA(t.TempDir(), []string{"http://hub.lan"}, quiet()); err == nil || !strings.Contains(err.Error(), "http://hub.lan") {
		t.Errorf("a URL as a name: %v", err)
	}
	if _, err := OpenLocalCA(t.TempDir(), nil, quiet()); err == nil {
		t.Error("no names accepted")
	}
	// A CA key that is not the CA certificate's.
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, d := range []string{a, b} {
		if _, err := OpenLocalCA(d, []string{"hub.lan"}, quiet()); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := os.ReadFile(filepath.Join(b, caKeyFile))
	os.WriteFile(filepath.Join(a, caKeyFile), key, 0o600)
	if _, err := OpenLocalCA(a, []string{"hub.lan"}, quiet()); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("mismatched CA key: %v", err)
	}
}

func TestParseAndDefaultNames(t *testing.T) {
	dns, ips, err := ParseNames([]string{"Duty-Room.lan", "192.168.0.5", "fe80::1"})
	if err != nil || len(dns) != 1 || dns[0] != "duty-room.lan" || len(ips) != 2 {
		t.Errorf("ParseNames: %v %v %v", dns, ips, err)
	}
	for _, bad := range []string{"", "hub.lan:8443", "a b", "-x.lan", "https://x"} {
		if _, _, err := ParseNames([]string{bad}); err == nil {
			t.Errorf("ParseNames(%q) accepted", bad)
		}
	}
	def := DefaultNames()
	for _, want := range []string{"localhost", "127.0.0.1"} {
		found := false
		for _, n := range def {
			found = found || n == want
		}
		if !found {
			t.Errorf("DefaultNames() = %v: no %s", def, want)
		}
	}
	if _, _, err := ParseNames(def); err != nil {
		t.Errorf("DefaultNames() = %v do not parse: %v", def, err)
	}
	for _, n := range def {
		if ip := net.ParseIP(n); ip != nil && ip.IsLinkLocalUnicast() {
			t.Errorf("DefaultNames() has link-local %s", n)
		}
	}
}

func TestReloaderServesReplacedFilesAndKeepsTheOldOnABadPair(t *testing.T) {
	dir := t.TempDir()
	caA, err := OpenLocalCA(filepath.Join(dir, "a"), []string{"a.lan"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	caB, err := OpenLocalCA(filepath.Join(dir, "b"), []string{"b.lan"}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(ca *LocalCA, cert, key bool) {
		t.Helper()
		if cert {
			b, _ := os.ReadFile(ca.CertFile())
			if err := os.WriteFile(certFile+".tmp", b, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Rename(certFile+".tmp", certFile)
		}
		if key {
			b, _ := os.ReadFile(ca.KeyFile())
			if err := os.WriteFile(keyFile+".tmp", b, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Rename(keyFile+".tmp", keyFile)
		}
	}
	install(caA, true, true)
	var logs bytes.Buffer
	r, err := NewReloader(certFile, keyFile, logTo(&logs))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	r.now = func() time.Time { return clock }
	tick := func() { clock = clock.Add(DefaultCheckEvery) }
	if cn := r.Leaf().Subject.CommonName; cn != "a.lan" {
		t.Fatalf("serving %q, want a.lan", cn)
	}

	// Only the key replaced: the pair does not match; keep serving a.lan.
	install(caB, false, true)
	if cn := r.Leaf().Subject.CommonName; cn != "a.lan" {
		t.Fatalf("before the check interval: serving %q", cn)
	}
	tick()
	if cn := r.Leaf().Subject.CommonName; cn != "a.lan" {
		t.Fatalf("half-replaced pair: serving %q, want the previous a.lan", cn)
	}
	if !strings.Contains(logs.String(), "does not load") {
		t.Errorf("a bad pair was not logged: %s", logs.String())
	}
	n := strings.Count(logs.String(), "does not load")
	tick()
	r.Leaf()
	if strings.Count(logs.String(), "does not load") != n {
		t.Error("the same bad pair was logged again")
	}

	// Now the certificate too: b.lan from the next check on.
	install(caB, true, false)
	tick()
	if cn := r.Leaf().Subject.CommonName; cn != "b.lan" {
		t.Fatalf("replaced pair: serving %q, want b.lan", cn)
	}

	// Files gone: keep serving.
	os.Remove(certFile)
	tick()
	if cn := r.Leaf().Subject.CommonName; cn != "b.lan" {
		t.Errorf("files removed: serving %q", cn)
	}

	if _, err := NewReloader(filepath.Join(dir, "nope"), keyFile, quiet()); err == nil {
		t.Error("NewReloader of a missing file succeeded")
	}
}
