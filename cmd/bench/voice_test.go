package main

import (
	"testing"
	"time"
)

// TestVoiceSmall runs the voice scenario with tiny sizes against the real
// parts — mosquitto, InfluxDB and the hub built from the tree, with pion
// peers for the devices and the console: every call connects with audio
// both ways, is timed, ends cleanly, and the hub relays nothing afterwards.
// It asserts counts, never speed.
func TestVoiceSmall(t *testing.T) {
	ctx, env := startTestEnv(t)

	r, err := runVoice(ctx, env, VoiceOptions{SetupCalls: 3, Steps: []int{3}, StepTime: 2 * time.Second,
		Settle: 200 * time.Millisecond, MaxLoss: 0.5, Connect: 2})
	if err != nil {
		t.Fatal(err)
	}
	noFailures(t, r.report())
	if r.Setup.N != 3 || r.OfferAnswer.N != 3 || r.RingAudio.N != 3 {
		t.Errorf("timed %d/%d/%d setups; want 3 each", r.Setup.N, r.OfferAnswer.N, r.RingAudio.N)
	}
	if r.Setup.Max <= 0 || r.Setup.Max < r.OfferAnswer.Max {
		t.Errorf("setup %v shorter than its first part %v", r.Setup, r.OfferAnswer)
	}
	if len(r.Steps) != 1 {
		t.Fatalf("%d ramp steps measured; want 1", len(r.Steps))
	}
	s := r.Steps[0]
	if s.Calls != 3 || s.HubActive != 3 {
		t.Errorf("step of %d calls, the hub relaying %.0f; want 3 and 3", s.Calls, s.HubActive)
	}
	if s.UpSent == 0 || s.UpRecv == 0 || s.DownSent == 0 || s.DownRecv == 0 {
		t.Errorf("packets device→console %d/%d, console→device %d/%d: audio did not flow both ways",
			s.UpRecv, s.UpSent, s.DownRecv, s.DownSent)
	}
	if s.HubCPU <= 0 || s.HubRSSMiB <= 0 {
		t.Errorf("hub CPU %v%%, RSS %v MiB: /proc not read", s.HubCPU, s.HubRSSMiB)
	}
	if r.ActiveLeft != 0 || len(r.Problems) != 0 {
		t.Errorf("%.0f calls left on the hub; problems %q", r.ActiveLeft, r.Problems)
	}
}

// TestVoiceOptions checks the voice flags' validation and the hub cap's
// default.
func TestVoiceOptions(t *testing.T) {
	o := VoiceOptions{SetupCalls: 1, Steps: []int{5, 10}, StepTime: time.Second, MaxLoss: 0.5, Connect: 1}
	if err := o.validate(); err != nil || o.MaxCalls != 10 {
		t.Errorf("valid options: %v, max calls %d; want nil and 10", err, o.MaxCalls)
	}
	o.Steps = []int{10, 5}
	if err := o.validate(); err == nil {
		t.Error("descending steps accepted")
	}
	if got := lossPercent(1000, 995); got != 0.5 {
		t.Errorf("loss of 5 in 1000 = %v%%; want 0.5", got)
	}
	if got := lossPercent(1000, 1001); got != 0 {
		t.Errorf("more received than sent = %v%%; want 0", got)
	}
}
