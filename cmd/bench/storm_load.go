package main

// The storm's readings are published by a process of their own: this
// program started again with loadEnv set (the load process). The bench's
// own process keeps what it measures with — the presses, the broker watch
// and the console. In one process the probe shared the Go scheduler (two
// Ps) with the sixteen publishers and their paho goroutines: a press's
// timestamp was taken, then the press waited behind them at every hand-off
// to the wire, and the console's and the broker watch's readings waited
// likewise before they were timed, so the probe measured its own load
// generator as much as the hub. A building's devices are not one program;
// the load is unchanged (the same publishers, payloads, window, pacing and
// closed loop), only where it runs.
//
// The protocol, one line each: the bench writes the loadSpec as JSON on
// the load process's standard input; the load process connects, reads the
// hub's progress for -backlog and writes "ready"; the bench starts its
// clock and writes "go"; the load process publishes, writing "acked N"
// every loadTick and, once every PUBACK is in, "done " and the loadResult
// as JSON; then it exits. Its standard input closing stops it.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
)

// loadEnv, set in its environment, makes this program the load process.
const loadEnv = "SHOUWANG_BENCH_STORM_LOAD"

// loadTick is how often the load process reports its acknowledged count.
const loadTick = 100 * time.Millisecond

// loadSpec is one phase's readings, as the load process publishes them:
// Messages readings spread evenly over the gas detectors Devices (the
// first Alarm of them in alarm).
type loadSpec struct {
	BrokerURL    string   `json:"broker_url"`
	HubURL       string   `json:"hub_url"` // its /metrics, for Backlog
	ClientPrefix string   `json:"client_prefix"`
	Devices      []string `json:"devices"`
	Alarm        int      `json:"alarm"`
	Messages     int      `json:"messages"`
	Clients      int      `json:"clients"`
	Window       int      `json:"window"`
	Rate         float64  `json:"rate"`
	Backlog      int64    `json:"backlog"`
	Policy       string   `json:"policy"` // its scheduling policy (storm_policy.go; "": normal)
}

// loadResult is what the load process reports at the end.
type loadResult struct {
	Acked      int64         `json:"acked"`
	Failed     int64         `json:"failed"`
	FailedErr  string        `json:"failed_err,omitempty"`
	Backlog    *BacklogStats `json:"backlog,omitempty"`
	BacklogErr string        `json:"backlog_err,omitempty"`
}

// loadProc is the bench's side of a load process.
type loadProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	acked atomic.Int64
	cpu0  time.Duration // its CPU when it said ready
	// policy is the scheduling policy its threads had when it said ready,
	// read by the bench (storm_policy.go's policyOf).
	policy string
	ready  chan error
	done   chan struct{} // closed once it exited
	res    loadResult
	err    error
}

// startLoad starts a load process for spec and waits until it is connected
// and ready to publish.
func startLoad(ctx context.Context, spec loadSpec, stderr io.Writer) (*loadProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	l := &loadProc{ready: make(chan error, 1), done: make(chan struct{})}
	l.cmd = exec.CommandContext(ctx, exe)
	l.cmd.Env = append(os.Environ(), loadEnv+"=1")
	l.cmd.Stderr = stderr
	if l.in, err = l.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("load process: %w", err)
	}
	go l.read(out)
	b, _ := json.Marshal(spec)
	if _, err := l.in.Write(append(b, '\n')); err != nil {
		l.stop()
		return nil, fmt.Errorf("load process: %w", err)
	}
	select {
	case err = <-l.ready:
	case <-l.done:
		err = l.err
		if err == nil {
			err = errors.New("exited before it was ready")
		}
	}
	if err != nil {
		l.stop()
		return nil, fmt.Errorf("load process: %w", err)
	}
	if s, err := bench.ReadProcStat(l.cmd.Process.Pid); err == nil {
		l.cpu0 = s.CPU
	}
	// Its threads' policy, read from outside: what it ran under, not what
	// it was asked for.
	if l.policy, err = policyOf(l.cmd.Process.Pid); err == nil && spec.Policy == loadPolicyIdle && l.policy != loadPolicyIdle {
		err = fmt.Errorf("asked to run under SCHED_IDLE, its threads run %s", l.policy)
	}
	if err != nil {
		l.stop()
		return nil, fmt.Errorf("load process: %w", err)
	}
	return l, nil
}

// read follows the load process's reports until it exits.
func (l *loadProc) read(out io.Reader) {
	defer close(l.done)
	sc := bufio.NewScanner(out)
	var perr error
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "ready":
			l.ready <- nil
		case strings.HasPrefix(line, "acked "):
			if n, err := strconv.ParseInt(strings.TrimPrefix(line, "acked "), 10, 64); err == nil {
				l.acked.Store(n)
			}
		case strings.HasPrefix(line, "done "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "done ")), &l.res); err != nil {
				perr = fmt.Errorf("its result: %w", err)
			} else {
				l.acked.Store(l.res.Acked)
			}
		}
	}
	if err := l.cmd.Wait(); err != nil {
		perr = errors.Join(perr, err)
	}
	l.err = perr
}

// publish lets the load process publish.
func (l *loadProc) publish() error {
	_, err := io.WriteString(l.in, "go\n")
	return err
}

// wait waits for the load process to exit and returns its result and the
// CPU it used since it was ready.
func (l *loadProc) wait() (loadResult, time.Duration, error) {
	<-l.done
	var cpu time.Duration
	if ps := l.cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime() - l.cpu0
	}
	return l.res, cpu, l.err
}

// stop ends the load process (closing its input stops it) and waits.
func (l *loadProc) stop() {
	l.in.Close()
	<-l.done
}

// runLoad is the load process: it reads its spec from in, reports on out
// and publishes when told to.
func runLoad(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	if !sc.Scan() {
		return errors.New("load: no spec")
	}
	var spec loadSpec
	if err := json.Unmarshal(sc.Bytes(), &spec); err != nil {
		return fmt.Errorf("load: spec: %w", err)
	}
	if err := setLoadPolicy(spec.Policy); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := bench.NewPool(ctx, spec.BrokerURL, spec.ClientPrefix, spec.Clients, spec.Window)
	if err != nil {
		return err
	}
	defer pool.Close()
	var gate *backlogGate
	if spec.Backlog > 0 {
		if gate, err = newBacklogGate(ctx, spec.Backlog, hubTelemetryTaken(&bench.API{Base: spec.HubURL})); err != nil {
			return err
		}
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	say("ready")
	if !sc.Scan() || sc.Text() != "go" {
		return errors.New("load: not told to go")
	}
	// The bench closing its end stops the publishing.
	go func() {
		for sc.Scan() {
		}
		cancel()
	}()
	var gateDone sync.WaitGroup
	gateCtx, stopGate := context.WithCancel(ctx)
	defer func() { stopGate(); gateDone.Wait() }()
	if gate != nil {
		gateDone.Go(func() { gate.run(gateCtx, backlogPoll) })
	}
	published := make(chan struct{})
	var tickDone sync.WaitGroup
	tickDone.Go(func() {
		t := time.NewTicker(loadTick)
		defer t.Stop()
		for {
			select {
			case <-published:
				return
			case <-t.C:
				say("acked %d", pool.Acked())
			}
		}
	})
	publishReadings(ctx, pool, spec.Devices, spec.Alarm, spec.Messages, spec.Rate, gate)
	pool.Close()
	close(published)
	tickDone.Wait()
	stopGate()
	gateDone.Wait()
	res := loadResult{Acked: pool.Acked()}
	var ferr error
	if res.Failed, ferr = pool.Failed(); ferr != nil {
		res.FailedErr = ferr.Error()
	}
	if gate != nil {
		var gerr error
		if res.Backlog, gerr = gate.stats(); gerr != nil {
			res.BacklogErr = gerr.Error()
		}
	}
	b, _ := json.Marshal(res)
	say("done %s", b)
	return ctx.Err()
}

// publishReadings publishes messages readings from the devices ids (the
// first alarm of them in alarm), spread evenly, each connection of pool
// taking every len(pool.Pubs)-th device; paced at rate a second in all if
// rate > 0, and held to the gate's backlog if gate is not nil.
func publishReadings(ctx context.Context, pool *bench.Pool, ids []string, alarm, messages int, rate float64, gate *backlogGate) {
	counts := evenCounts(messages, len(ids))
	var wg sync.WaitGroup
	for c, pub := range pool.Pubs {
		wg.Go(func() {
			var pace *bench.Pacer
			if rate > 0 {
				pace = bench.NewPacer(rate / float64(len(pool.Pubs)) / paceEvery)
			}
			sent := 0
			for seq := 1; seq <= counts[0]; seq++ {
				for i := c; i < len(ids); i += len(pool.Pubs) {
					if seq > counts[i] || ctx.Err() != nil {
						continue
					}
					if sent%paceEvery == 0 && (pace != nil && !pace.Wait(ctx) || gate != nil && !gate.acquire(ctx, paceEvery)) {
						return
					}
					sent++
					pub.Publish(devices.Topic(ids[i], devices.ChannelTelemetry), stormPayload(i < alarm, seq), nil)
				}
			}
		})
	}
	wg.Wait()
}
