package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts of the programs the benchmark runs.
const (
	readyTimeout = 90 * time.Second // a hub loading a million devices on a busy 2-core machine
	stopTimeout  = 30 * time.Second // SIGTERM grace before SIGKILL
	pollInterval = 20 * time.Millisecond
	logTailBytes = 8 << 10
)

// ErrExited reports that a program ended before it became ready.
var ErrExited = errors.New("exited before it was ready")

// Proc is one external program the benchmark runs — mosquitto, influxd or
// the hub — with its output appended to a log file. The zero value is not
// usable; fill in Name, Path and LogPath.
type Proc struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // added to the benchmark's own environment
	LogPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
}

// Start launches the program and waits until ready reports true or
// timeout passes. If the program exits first, the error wraps ErrExited
// and quotes the end of its log.
func (p *Proc) Start(ready func() bool, timeout time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.Name)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "--- bench: starting %s %s at %s\n", p.Path, strings.Join(p.Args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := startOnLockedThread(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	deadline := time.Now().Add(timeout)
	for !ready() {
		select {
		case <-done:
			p.cmd, p.done = nil, nil
			return fmt.Errorf("%s: %w (%s):\n%s", p.Name, ErrExited, cmd.ProcessState, p.LogTail())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			p.killLocked()
			return fmt.Errorf("%s: not ready after %s:\n%s", p.Name, timeout, p.LogTail())
		}
	}
	return nil
}

// Pid returns the running program's process ID, or 0.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Stop sends SIGTERM and waits for the program to exit, escalating to
// SIGKILL after 30 s. It reports an error if the program had to be killed.
// Stopping a program that is not running does nothing.
func (p *Proc) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.cmd, p.done = nil, nil
		return nil
	case <-time.After(stopTimeout):
		p.killLocked()
		return fmt.Errorf("%s: did not stop within %s of SIGTERM; killed it", p.Name, stopTimeout)
	}
}

func (p *Proc) killLocked() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd, p.done = nil, nil
}

// LogTail returns the end of the program's log.
func (p *Proc) LogTail() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > logTailBytes {
		b = append([]byte("…"), b[len(b)-logTailBytes:]...)
	}
	return string(b)
}

// Children get Pdeathsig so they die with the benchmark. Linux delivers it
// when the forking *thread* exits, so every child is started from one
// goroutine locked to a thread that lives as long as the process.
var (
	starterOnce sync.Once
	starterReqs chan starterReq
)

type starterReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func startOnLockedThread(cmd *exec.Cmd) error {
	starterOnce.Do(func() {
		starterReqs = make(chan starterReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive its children
			for r := range starterReqs {
				r.errc <- r.cmd.Start()
			}
		}()
	})
	errc := make(chan error, 1)
	starterReqs <- starterReq{cmd, errc}
	return <-errc
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dialable reports whether something accepts TCP connections at addr.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// FindTool returns the path of an external program: in <root>/.tools/bin
// (where scripts/setup builds influxd), then PATH, then /usr/sbin (where
// Debian puts mosquitto). The error says how to install it.
func FindTool(root, name string) (string, error) {
	var candidates []string
	if root != "" {
		candidates = append(candidates, filepath.Join(root, ".tools", "bin", name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, filepath.Join("/usr/sbin", name))
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in .tools/bin, PATH or /usr/sbin: run scripts/setup", name)
}

// RepoRoot walks up from the working directory to the directory holding
// go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the benchmark inside the repository")
		}
		dir = parent
	}
}
