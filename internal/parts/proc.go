package parts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// StopTimeout is the SIGTERM grace before Stop escalates to SIGKILL.
	StopTimeout = 30 * time.Second
	// errTailBytes is how much of the log a start error quotes.
	errTailBytes = 8 << 10
	pollInterval = 20 * time.Millisecond
)

// ErrExited reports that a program ended before it became ready.
var ErrExited = errors.New("exited before it was ready")

// Proc is one external program — mosquitto, influxd or the hub — that can be
// stopped and started again, with its stdout and stderr appended to a log
// file. The zero value is not usable; fill in Name, Path and LogPath. Its
// methods may be called from any goroutine.
type Proc struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // added to this process's own environment
	LogPath string
	// StopSignal is what Stop sends first; zero means SIGTERM. PostgreSQL
	// wants SIGINT (a fast shutdown: SIGTERM would wait for every client
	// to disconnect).
	StopSignal syscall.Signal
	// Prepare, if set, adjusts the command before it starts (PostgreSQL
	// runs as its own system user when the caller is root).
	Prepare func(*exec.Cmd)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has been waited for
}

// Start launches the program and waits until ready reports true or timeout
// passes; on timeout it kills the program. If the program exits first, the
// error wraps ErrExited. Either error quotes the end of the log.
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
	fmt.Fprintf(logf, "--- starting %s %s at %s\n", p.Path, strings.Join(p.Args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	if p.Prepare != nil {
		p.Prepare(cmd)
	}
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
			return fmt.Errorf("%s: %w (%s):\n%s", p.Name, ErrExited, cmd.ProcessState, p.LogTail(errTailBytes))
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			p.killLocked()
			return fmt.Errorf("%s: not ready after %s:\n%s", p.Name, timeout, p.LogTail(errTailBytes))
		}
	}
	return nil
}

// Stop sends SIGTERM (or StopSignal) and waits for the program to exit,
// escalating to SIGKILL after StopTimeout; it returns an error if it had to
// kill. Stopping a program that is not running does nothing.
func (p *Proc) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	sig := p.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		p.cmd, p.done = nil, nil
		return nil
	case <-time.After(StopTimeout):
		p.killLocked()
		return fmt.Errorf("%s: did not stop within %s of SIGTERM; killed it", p.Name, StopTimeout)
	}
}

// Kill sends SIGKILL, as a crash would, and waits for the program to be gone.
func (p *Proc) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killLocked()
}

func (p *Proc) killLocked() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd, p.done = nil, nil
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

// LogTail returns the last max bytes of the program's log, marked with "…"
// when cut.
func (p *Proc) LogTail(max int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > max {
		b = append([]byte("…"), b[len(b)-max:]...)
	}
	return string(b)
}

// Children get Pdeathsig so they die with this process. Linux delivers it
// when the forking *thread* exits, not the process, so every child is
// started from one goroutine locked to a thread that lives as long as the
// process.
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
