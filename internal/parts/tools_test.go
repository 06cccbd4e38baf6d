package parts

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFindTool(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, ".tools", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// A program in .tools/bin wins over one of the same name on PATH.
	own := filepath.Join(bin, "sh")
	if err := os.WriteFile(own, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := FindTool(root, "sh"); err != nil || p != own {
		t.Errorf("FindTool(root, sh) = %q, %v; want %q", p, err, own)
	}
	if p, err := FindTool("", "sh"); err != nil || p == own {
		t.Errorf("FindTool(\"\", sh) = %q, %v; want sh from PATH", p, err)
	}

	_, err := FindTool(root, "influxd-no-such")
	if err == nil || !strings.Contains(err.Error(), "influxd-no-such not found in .tools/bin, PATH or /usr/sbin: run scripts/setup (it installs what the tests need)") {
		t.Errorf("missing tool: %v", err)
	}
	installHints["influxd-no-such"] = "it builds it"
	defer delete(installHints, "influxd-no-such")
	if _, err := FindTool(root, "influxd-no-such"); err == nil || !strings.HasSuffix(err.Error(), "run scripts/setup (it builds it)") {
		t.Errorf("missing tool with a hint: %v", err)
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "parts", "doc.go")); err != nil {
		t.Errorf("RepoRoot() = %q, which does not hold internal/parts: %v", root, err)
	}
}

func TestFreePortAndReadiness(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if Dialable(addr) {
		t.Fatalf("something accepts connections on free port %d", port)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %d from FreePort is not free: %v", port, err)
	}
	defer l.Close()
	if !Dialable(addr) {
		t.Errorf("Dialable(%s) = false with a listener", addr)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if !Answers(srv.URL+"/ping", http.StatusNoContent) {
		t.Error("Answers(204) = false for a server answering 204")
	}
	if Answers(srv.URL+"/ping", http.StatusOK) {
		t.Error("Answers(200) = true for a server answering 204")
	}
}
