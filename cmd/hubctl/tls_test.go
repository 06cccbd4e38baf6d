package main

import (
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/console/consoletest"
)

// A hub over HTTPS with its own CA: without -cafile hubctl says what to
// do; with it (or HUBCTL_CAFILE) it works.
func TestHTTPSWithTheHubsCA(t *testing.T) {
	dir := isolate(t)
	t.Setenv("HUBCTL_CAFILE", "")
	e := consoletest.StartTLS(t)
	ca := filepath.Join(dir, "ca.crt")
	// httptest's server certificate is its own root: take it from a
	// handshake.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(e.URL, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	srvCert := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvCert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	hubctl(t, e, "pw-admin\n", "login", "-user", "admin", "-password-stdin").want(t, 1, "", "-cafile or HUBCTL_CAFILE")
	hubctl(t, e, "pw-admin\n", "-cafile", ca, "login", "-user", "admin", "-password-stdin").want(t, 0, "as admin", "")
	t.Setenv("HUBCTL_CAFILE", ca)
	hubctl(t, e, "", "users", "list").want(t, 0, "admin", "")
	hubctl(t, e, "", "-cafile", filepath.Join(dir, "missing.crt"), "users", "list").want(t, 2, "", "-cafile")
}
