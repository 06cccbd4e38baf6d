package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/bench"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// Targets of the voice scenario.
const (
	targetVoiceSetupP95 = 300 // ms, offer published → first audio at the console peer
	targetVoiceCalls    = 200 // concurrent relayed calls with loss under the limit
)

// Limits of the voice scenario's waits.
const (
	voiceAudioTimeout = 20 * time.Second // a call's first audio on both sides
	voiceEndTimeout   = 30 * time.Second // every call ended and the hub's gauge at 0
	voiceSnapLag      = 250 * time.Millisecond
	voiceHubCPUMax    = 190 // % of one core: the hub has saturated 2 cores
)

// VoiceResult is what the voice scenario measured.
type VoiceResult struct {
	Devices  int `json:"devices"`
	MaxCalls int `json:"hub_max_calls"`
	// Setup is offer published → first audio packet at the console peer,
	// one call at a time; OfferAnswer is its first part (the hub's answer
	// applied at the device: the call rings), RingAudio the rest (the
	// console peer answers through the API and hears the device).
	Setup       bench.Latency `json:"setup"`
	OfferAnswer bench.Latency `json:"offer_to_answer_at_device"`
	RingAudio   bench.Latency `json:"ring_to_console_audio"`
	Steps       []*VoiceStep  `json:"steps"`
	// Sustained is the largest step whose loss stayed under MaxLoss both
	// ways; StopReason says why the ramp ended.
	Sustained  int      `json:"sustained_calls"`
	StopReason string   `json:"stop_reason"`
	Problems   []string `json:"problems"` // calls that failed to connect or end cleanly
	ActiveLeft float64  `json:"calls_active_after"`
	// ConsoleTimedOut counts console peers that, after the device hung up,
	// ended by their peer timeout rather than an RTCP BYE from the hub.
	ConsoleTimedOut int `json:"console_ended_by_peer_timeout"`

	maxLoss float64
	rep     *Report
}

// voicePair is one call seen from both ends: the simulated device and the
// console peer answering it.
type voicePair struct {
	dev, con *sim.Call
}

func runVoice(ctx context.Context, env *Env, o VoiceOptions) (*VoiceResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	n := max(o.SetupCalls, o.Steps[len(o.Steps)-1])
	res := &VoiceResult{Devices: n, MaxCalls: o.MaxCalls, maxLoss: o.MaxLoss}
	res.rep = newReport("voice", map[string]any{"devices": n, "setup_calls": o.SetupCalls, "steps": o.Steps,
		"step_time": o.StepTime.String(), "settle": o.Settle.String(), "hub_max_calls": o.MaxCalls, "max_loss_percent": o.MaxLoss,
		"load_generator": "every device and console peer (pion) runs in the bench process, on the same 2 cores as the hub",
		"rules":          benchRules})
	st, err := env.startParts(ctx, "voice")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// bench.StartHub passes the benchmark's own environment on to the hub.
	os.Setenv("HUB_MAX_CALLS", strconv.Itoa(o.MaxCalls))
	err = env.startHub(ctx, st, "", benchRules)
	os.Unsetenv("HUB_MAX_CALLS")
	if err != nil {
		return nil, err
	}
	ds := sosDevices("v", n)
	for _, d := range ds {
		d.Capabilities = []string{devices.CapVoice}
	}
	var specs []sim.DeviceSpec
	for i := 0; i < len(ds); i += 1000 {
		sp, err := sim.Register(ctx, st.Hub.URL, st.API.Token, ds[i:min(i+1000, len(ds))])
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp...)
	}
	s, err := sim.New(sim.Config{BrokerURL: st.BrokerURL, Devices: specs, EventsOnly: true, ConnectConcurrency: 32},
		slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	simDone := make(chan struct{})
	go func() { defer close(simDone); s.Run(ctx) }()
	defer func() { s.Close(); <-simDone }()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = s.WaitConnected(wctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect %d devices: %w", n, err)
	}
	fmt.Fprintf(env.out, "%d voice-capable devices registered and connected\n", n)

	if err := res.measureSetup(ctx, env, st, s, ids(ds[:o.SetupCalls])); err != nil {
		return res, err
	}
	err = res.ramp(ctx, env, st, s, ids(ds), o)
	left, err2 := waitCallsGone(ctx, st)
	res.ActiveLeft = left
	return res, errors.Join(err, err2)
}

// measureSetup places one call at a time from each device, answers it as
// the console and times it, then hangs it up.
func (r *VoiceResult) measureSetup(ctx context.Context, env *Env, st *Stack, s *sim.Sim, devIDs []string) error {
	fmt.Fprintf(env.out, "setup: %d calls, one at a time …\n", len(devIDs))
	var setup, offerAnswer, ringAudio []time.Duration
	for i, id := range devIDs {
		p, err := placeCall(ctx, st, s, id)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
			continue
		}
		d, c := p.dev.Stats(), p.con.Stats()
		setup = append(setup, c.FirstPacketAt.Sub(d.OfferedAt))
		offerAnswer = append(offerAnswer, d.AnsweredAt.Sub(d.OfferedAt))
		ringAudio = append(ringAudio, c.FirstPacketAt.Sub(d.AnsweredAt))
		r.hangup(p, false)
		if _, err := waitCallsGone(ctx, st); err != nil {
			return err
		}
		if (i+1)%10 == 0 {
			fmt.Fprintf(env.out, "  %d/%d calls\n", i+1, len(devIDs))
		}
	}
	r.Setup, r.OfferAnswer, r.RingAudio = bench.Summarise(setup), bench.Summarise(offerAnswer), bench.Summarise(ringAudio)
	fmt.Fprintf(env.out, "setup: %s\n", r.Setup)
	return nil
}

// placeCall calls from device id, answers the call as the console peer as
// soon as the hub has it ringing, and waits until audio arrives both ways.
func placeCall(ctx context.Context, st *Stack, s *sim.Sim, id string) (*voicePair, error) {
	dev, err := s.Call(ctx, id, sim.CallOptions{})
	if err != nil {
		return nil, fmt.Errorf("call from %s: %w", id, err)
	}
	// The device's Call returns once the hub's answer is applied; the hub
	// marks the call ringing (and lets the console answer it) only once
	// the broker has acknowledged that answer, a moment later, so the
	// console peer retries while the hub does not know the call yet.
	var con *sim.Call
	deadline := time.Now().Add(voiceAudioTimeout)
	for {
		con, err = sim.AnswerAsConsole(ctx, st.Hub.URL, st.API.Token, dev.ID(), sim.CallOptions{})
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "HTTP 404") || time.Now().After(deadline) || ctx.Err() != nil {
			why := dev.EndReason()
			dev.Hangup()
			return nil, fmt.Errorf("answer %s's call (device's end: %q): %w", id, why, err)
		}
		time.Sleep(2 * time.Millisecond) // polling for the call to ring
	}
	p := &voicePair{dev: dev, con: con}
	timeout := time.NewTimer(voiceAudioTimeout)
	defer timeout.Stop()
	for _, heard := range []<-chan struct{}{con.Heard(), dev.Heard()} {
		select {
		case <-heard:
			continue
		case <-timeout.C:
		case <-ctx.Done():
		}
		d, c := p.dev.Stats(), p.con.Stats()
		dev.Hangup()
		con.Hangup()
		return nil, fmt.Errorf("call %s from %s: no audio both ways within %v (device heard %d, console %d; ended %q/%q)",
			dev.ID(), id, voiceAudioTimeout, d.PacketsReceived, c.PacketsReceived, d.EndReason, c.EndReason)
	}
	return p, nil
}

// hangup ends a call from the device or from the console, and checks that
// both ends stopped: with a hang-up, or — the console peer after the
// device hung up — by its peer timeout, as the hub sends the console no
// RTCP BYE (a browser learns of the end from the live feed); those are
// counted in ConsoleTimedOut.
func (r *VoiceResult) hangup(p *voicePair, fromDevice bool) {
	by, other := p.con, p.dev
	if fromDevice {
		by, other = p.dev, p.con
	}
	if err := by.Hangup(); err != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("call %s: hang up: %v", p.dev.ID(), err))
	}
	select {
	case <-other.Done():
		why := other.EndReason()
		if fromDevice && why == sim.ReasonPeerGone {
			r.ConsoleTimedOut++
			break
		}
		if why != sim.ReasonHangup {
			r.Problems = append(r.Problems, fmt.Sprintf("call %s: the other end ended with %q, not hangup", p.dev.ID(), why))
		}
	case <-time.After(voiceEndTimeout):
		other.Hangup()
		r.Problems = append(r.Problems, fmt.Sprintf("call %s: the other end did not end within %v of the hang-up", p.dev.ID(), voiceEndTimeout))
	}
}

// waitCallsGone waits until the hub's shouwang_calls_active is 0 and
// returns its last value.
func waitCallsGone(ctx context.Context, st *Stack) (float64, error) {
	deadline := time.Now().Add(voiceEndTimeout)
	for {
		m, err := st.API.Metrics(ctx)
		if err != nil {
			return -1, err
		}
		v := m.Sum("shouwang_calls_active")
		if v == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			return v, fmt.Errorf("the hub still relays %.0f calls %v after they were hung up", v, voiceEndTimeout)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return v, ctx.Err()
		}
	}
}

func (r *VoiceResult) report() *Report {
	rep := r.rep
	rep.Details = r
	rep.fig("setup calls timed", float64(r.Setup.N), "")
	rep.fig("setup (offer → first audio at console): p50", r.Setup.P50, "ms")
	rep.fig("setup: p95", r.Setup.P95, "ms")
	rep.fig("setup: max", r.Setup.Max, "ms")
	rep.fig("offer → hub's answer applied at device: p50", r.OfferAnswer.P50, "ms")
	rep.fig("offer → hub's answer applied at device: p95", r.OfferAnswer.P95, "ms")
	rep.fig("ringing → first audio at console: p50", r.RingAudio.P50, "ms")
	rep.fig("ringing → first audio at console: p95", r.RingAudio.P95, "ms")
	for _, s := range r.Steps {
		p := fmt.Sprintf("%d calls: ", s.Calls)
		rep.fig(p+"loss device→console", s.UpLoss, "%")
		rep.fig(p+"loss console→device", s.DownLoss, "%")
		rep.fig(p+"hub CPU", s.HubCPU, "% of one core")
		rep.fig(p+"load generator CPU", s.BenchCPU, "% of one core")
		rep.fig(p+"hub RSS", s.HubRSSMiB, "MiB")
	}
	rep.fig("console peers ended by peer timeout after the device hung up", float64(r.ConsoleTimedOut), "")
	rep.fig("largest step with loss < "+formatValue(r.maxLoss)+" %", float64(r.Sustained), "calls")
	rep.target(fmt.Sprintf("voice setup p95 ≤ %d ms on loopback", targetVoiceSetupP95), r.Setup.N > 0 && r.Setup.P95 <= targetVoiceSetupP95,
		"p95 %.1f ms", r.Setup.P95)
	rep.target(fmt.Sprintf("≥ %d concurrent relayed calls with loss < %s %%", targetVoiceCalls, formatValue(r.maxLoss)), r.Sustained >= targetVoiceCalls,
		"%d calls (stopped: %s)", r.Sustained, r.StopReason)
	for _, p := range r.Problems {
		rep.failf("%s", p)
	}
	if r.ActiveLeft != 0 {
		rep.failf("shouwang_calls_active is %.0f after every call was hung up", r.ActiveLeft)
	}
	return rep
}
