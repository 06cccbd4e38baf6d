package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// The voice scenario's ramp: calls added step by step, each step's packets
// counted at both ends of every call over a measured window, and the ramp
// stopped at the first limit it meets (voice.go sets the scenario up and
// times call setup one call at a time).

// VoiceStep is one ramp step: its calls all relayed at once.
type VoiceStep struct {
	Calls       int     `json:"calls"`
	HubActive   float64 `json:"hub_calls_active"`
	ConnectSecs float64 `json:"connect_seconds"` // to add this step's new calls
	WindowSecs  float64 `json:"window_seconds"`
	UpSent      uint64  `json:"device_to_console_sent"`
	UpRecv      uint64  `json:"device_to_console_received"`
	DownSent    uint64  `json:"console_to_device_sent"`
	DownRecv    uint64  `json:"console_to_device_received"`
	UpLoss      float64 `json:"device_to_console_loss_percent"`
	DownLoss    float64 `json:"console_to_device_loss_percent"`
	HubCPU      float64 `json:"hub_cpu_percent"`
	BenchCPU    float64 `json:"load_generator_cpu_percent"`
	MosqCPU     float64 `json:"mosquitto_cpu_percent"`
	HubRSSMiB   float64 `json:"hub_rss_mib"`
	Profile     string  `json:"profile,omitempty"`
}

// ramp adds calls step by step, measures loss and CPU over each step, and
// stops past the loss limit, at CPU saturation or at the hub's cap. Every
// call is hung up at the end.
func (r *VoiceResult) ramp(ctx context.Context, env *Env, st *Stack, s *sim.Sim, devIDs []string, o VoiceOptions) error {
	var pairs []*voicePair
	var mu sync.Mutex
	defer func() {
		var wg sync.WaitGroup
		for i, p := range pairs {
			wg.Go(func() {
				var sub VoiceResult
				sub.hangup(p, i%2 == 0)
				mu.Lock()
				r.Problems = append(r.Problems, sub.Problems...)
				r.ConsoleTimedOut += sub.ConsoleTimedOut
				mu.Unlock()
			})
		}
		wg.Wait()
		fmt.Fprintf(env.out, "ramp: %d calls hung up\n", len(pairs))
	}()
	for _, n := range o.Steps {
		if n > o.MaxCalls {
			r.StopReason = fmt.Sprintf("the hub's -max-calls %d", o.MaxCalls)
			return nil
		}
		step := &VoiceStep{Calls: n}
		fmt.Fprintf(env.out, "ramp: %d concurrent calls …\n", n)
		t0 := time.Now()
		var failed []string
		var wg sync.WaitGroup
		sem := make(chan struct{}, o.Connect)
		for _, id := range devIDs[len(pairs):n] {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				p, err := placeCall(ctx, st, s, id)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed = append(failed, err.Error())
					return
				}
				pairs = append(pairs, p)
			})
		}
		wg.Wait()
		step.ConnectSecs = time.Since(t0).Seconds()
		if len(failed) > 0 {
			r.Problems = append(r.Problems, failed...)
			r.StopReason = fmt.Sprintf("%d of %d calls failed to connect at step %d", len(failed), n, n)
			return nil
		}
		if m, err := st.API.Metrics(ctx); err == nil {
			step.HubActive = m.Sum("shouwang_calls_active")
		}
		select {
		case <-time.After(o.Settle):
		case <-ctx.Done():
			return ctx.Err()
		}
		profiled := env.profileCPU(ctx, st, fmt.Sprintf("voice-%d", n), o.StepTime)
		stopTicker := tick(env, st, fmt.Sprintf("%d calls", n), func() string { return fmt.Sprintf("%d calls relayed", len(pairs)) })
		r.measureStep(ctx, st, pairs, step, o.StepTime)
		stopTicker()
		step.Profile = profiled()
		r.Steps = append(r.Steps, step)
		fmt.Fprintf(env.out, "  %d calls: loss device→console %.3f%%, console→device %.3f%%; CPU hub %.0f%%, load generator %.0f%%; hub RSS %.0f MiB\n",
			n, step.UpLoss, step.DownLoss, step.HubCPU, step.BenchCPU, step.HubRSSMiB)
		if int(step.HubActive) != n {
			r.Problems = append(r.Problems, fmt.Sprintf("step %d: the hub reports %.0f calls active", n, step.HubActive))
		}
		if step.UpLoss >= o.MaxLoss || step.DownLoss >= o.MaxLoss {
			r.StopReason = fmt.Sprintf("loss ≥ %.1f%% at %d calls", o.MaxLoss, n)
			return nil
		}
		r.Sustained = n
		if step.HubCPU >= voiceHubCPUMax {
			r.StopReason = fmt.Sprintf("hub CPU %.0f%% at %d calls", step.HubCPU, n)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	r.StopReason = "the last step"
	return nil
}

// measureStep counts packets sent and received on every call over a window
// of length d. Receive counts are read voiceSnapLag after send counts at
// both ends of the window, so packets in flight at its edges count on both
// sides.
func (r *VoiceResult) measureStep(ctx context.Context, st *Stack, pairs []*voicePair, step *VoiceStep, d time.Duration) {
	sent := func() (up, down uint64) {
		for _, p := range pairs {
			up += p.dev.Stats().PacketsSent
			down += p.con.Stats().PacketsSent
		}
		return
	}
	recv := func() (up, down uint64) {
		for _, p := range pairs {
			up += p.con.Stats().PacketsReceived
			down += p.dev.Stats().PacketsReceived
		}
		return
	}
	wait := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	cpu0, t0 := st.cpuSnapshot(), time.Now()
	us0, ds0 := sent()
	wait(voiceSnapLag)
	ur0, dr0 := recv()
	wait(d - voiceSnapLag)
	cpu1, dt := st.cpuSnapshot(), time.Since(t0).Seconds()
	us1, ds1 := sent()
	wait(voiceSnapLag)
	ur1, dr1 := recv()
	step.WindowSecs = dt
	step.UpSent, step.UpRecv = us1-us0, ur1-ur0
	step.DownSent, step.DownRecv = ds1-ds0, dr1-dr0
	step.UpLoss, step.DownLoss = lossPercent(step.UpSent, step.UpRecv), lossPercent(step.DownSent, step.DownRecv)
	pct := func(name string) float64 { return 100 * (cpu1[name] - cpu0[name]).Seconds() / dt }
	step.HubCPU, step.BenchCPU, step.MosqCPU = pct("hub"), pct("bench"), pct("mosquitto")
	if ps, err := bench.ReadProcStat(st.Hub.Proc.Pid()); err == nil {
		step.HubRSSMiB = mb(ps.RSS)
	}
}

// lossPercent is 1 − received/sent, in percent, never below 0.
func lossPercent(sent, recv uint64) float64 {
	if sent == 0 || recv >= sent {
		return 0
	}
	return 100 * float64(sent-recv) / float64(sent)
}
