package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout = 60 * time.Second // a cold influxd on a busy 2-core machine takes a few seconds
	stopTimeout  = 30 * time.Second // SIGTERM grace before SIGKILL
	pollInterval = 20 * time.Millisecond
	logTailBytes = 32 << 10
)

// errExited reports that the program ended before it became ready.
var errExited = errors.New("exited before it was ready")

// process runs one server program that can be stopped and started again, with
// its stdout and stderr appended to a log file.
type process struct {
	name    string
	path    string
	args    []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
}

// start launches the program and waits until ready reports true. If the
// program exits first, the error wraps errExited and quotes its log.
func (p *process) start(ready func() bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	fmt.Fprintf(logf, "--- testenv: starting %s %s at %s\n", p.path, strings.Join(p.args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := startOnLockedThread(cmd); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	deadline := time.Now().Add(readyTimeout)
	for !ready() {
		select {
		case <-done:
			p.cmd, p.done = nil, nil
			return fmt.Errorf("%s: %w (%s):\n%s", p.name, errExited, cmd.ProcessState, p.logTail())
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			p.killLocked()
			return fmt.Errorf("%s: not ready after %s:\n%s", p.name, readyTimeout, p.logTail())
		}
	}
	return nil
}

// stop sends SIGTERM and waits for the program to exit, escalating to SIGKILL
// after stopTimeout. It reports whether the program had to be killed.
func (p *process) stop() (killed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.cmd, p.done = nil, nil
		return false
	case <-time.After(stopTimeout):
		p.killLocked()
		return true
	}
}

// kill sends SIGKILL and waits for the program to be gone.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killLocked()
}

func (p *process) killLocked() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd, p.done = nil, nil
}

// logTail returns the end of the log file.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > logTailBytes {
		b = append([]byte("…"), b[len(b)-logTailBytes:]...)
	}
	return string(b)
}

// dumpLogOnFailure prints the log when the test has failed. Register it before
// the cleanup that stops the process, so it runs after and sees the whole log.
func (p *process) dumpLogOnFailure(t testing.TB) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: %s log (%s):\n%s", p.name, p.logPath, p.logTail())
		}
	})
}

// Children get Pdeathsig so they die with the test binary. Linux delivers it
// when the forking *thread* exits, not the process, so every child is
// started from one goroutine locked to a thread that lives as long as the
// test binary.
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
