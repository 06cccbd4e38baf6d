package parts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func shProc(t *testing.T, script string, env ...string) *Proc {
	t.Helper()
	sh, err := FindTool("", "sh")
	if err != nil {
		t.Fatal(err)
	}
	return &Proc{Name: "sh", Path: sh, Args: []string{"-c", script}, Env: env, LogPath: filepath.Join(t.TempDir(), "sh.log")}
}

// logSays is a readiness check: the program has written s to its log.
func logSays(p *Proc, s string) func() bool {
	return func() bool {
		b, _ := os.ReadFile(p.LogPath)
		return strings.Contains(string(b), s)
	}
}

func TestProcStartStopRestart(t *testing.T) {
	p := shProc(t, `echo "up $GREETING"; exec sleep 60`, "GREETING=ni-hao")
	t.Cleanup(p.Kill)
	if err := p.Start(logSays(p, "up ni-hao"), time.Minute); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if p.Pid() == 0 {
		t.Fatal("Pid() = 0 while running")
	}
	if err := p.Start(logSays(p, "up"), time.Minute); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Start = %v; want already running", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if p.Pid() != 0 {
		t.Fatalf("Pid() = %d after Stop", p.Pid())
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop when stopped: %v", err)
	}
	if err := p.Start(func() bool { return strings.Count(p.LogTail(1<<20), "up ni-hao") == 2 }, time.Minute); err != nil {
		t.Fatalf("restart: %v", err)
	}
	p.Kill()
	if p.Pid() != 0 {
		t.Fatalf("Pid() = %d after Kill", p.Pid())
	}
	if n := strings.Count(p.LogTail(1<<20), "--- starting "); n != 2 {
		t.Errorf("log has %d start headers, want 2 (appended, not truncated):\n%s", n, p.LogTail(1<<20))
	}
}

func TestProcExitedBeforeReady(t *testing.T) {
	p := shProc(t, `echo "address already in use"; exit 3`)
	err := p.Start(func() bool { return false }, time.Minute)
	if !errors.Is(err, ErrExited) {
		t.Fatalf("Start = %v; want ErrExited", err)
	}
	if !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("error %q does not quote the log and the exit status", err)
	}
	if p.Pid() != 0 {
		t.Errorf("Pid() = %d after the program exited", p.Pid())
	}
}

func TestProcNotReady(t *testing.T) {
	p := shProc(t, `exec sleep 60`)
	err := p.Start(func() bool { return false }, 100*time.Millisecond)
	if err == nil || errors.Is(err, ErrExited) || !strings.Contains(err.Error(), "sh: not ready after 100ms") {
		t.Fatalf("Start = %v; want not ready after 100ms", err)
	}
	if p.Pid() != 0 {
		t.Errorf("Pid() = %d: the program was not killed", p.Pid())
	}
}

func TestLogTail(t *testing.T) {
	p := &Proc{LogPath: filepath.Join(t.TempDir(), "x.log")}
	if got := p.LogTail(10); !strings.HasPrefix(got, "(no log: ") {
		t.Errorf("LogTail of a missing log = %q", got)
	}
	if err := os.WriteFile(p.LogPath, []byte("0123456789abcdef"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := p.LogTail(4); got != "…cdef" {
		t.Errorf("LogTail(4) = %q, want …cdef", got)
	}
	if got := p.LogTail(100); got != "0123456789abcdef" {
		t.Errorf("LogTail(100) = %q", got)
	}
}
