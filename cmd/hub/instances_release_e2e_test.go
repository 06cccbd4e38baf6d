package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// TestInstancesCallReleased: with two instances, a console connected to
// the instance that does not hold a device's call answers it with a
// connection that can never come up (its peer gone), and gives the answer
// back (POST …/release, relayed to the call's instance): the call rings
// again on both instances with call_released on its timeline, the device
// still on the line. The answer had accepted the alert; the release undoes
// that (unaccepted on the timeline, the alert new again on both instances)
// and the alert escalates while the call rings. A console through the same
// instance then answers it with audio both ways, and that answer accepts
// it.
func TestInstancesCallReleased(t *testing.T) {
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "10s", "t2": "25s"}}}`)
	c := newCluster(t, 2, "HUB_RULES="+rules)
	tokA := login(t, c.bases[0])
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dev, base, tok, alert := callOnOneInstance(ctx, t, c, "sos-rel", "3-2-503")
	alertID := alert.ID

	var ans struct{ SDP string }
	if code := api(t, http.MethodPost, base+"/api/v1/calls/"+dev.ID()+"/answer", tok, map[string]string{"sdp": deadOffer(t)}, &ans); code != http.StatusOK || ans.SDP == "" {
		t.Fatalf("answer through the other instance: %d", code)
	}
	if a := getAlert(t, base, tok, alertID); a.Call == nil || a.Call.State != alerts.CallAnswered || a.State != alerts.StateAccepted {
		t.Fatalf("after the answer: %s, %+v", a.State, a.Call)
	}
	if code := api(t, http.MethodPost, base+"/api/v1/calls/"+dev.ID()+"/release", tok, map[string]string{"reason": "media_failed"}, nil); code != http.StatusNoContent {
		t.Fatalf("release through the other instance: %d", code)
	}
	for i, b := range c.bases {
		eventually(t, 10*time.Second, fmt.Sprintf("the call ringing again on instance %d", i), func() (bool, string) {
			a := getAlert(t, b, tokA, alertID)
			released := false
			for _, e := range a.Timeline {
				released = released || (e.Action == alerts.TimelineCallReleased && e.Data["reason"] == "media_failed" && e.Data["by"] == "admin")
			}
			unaccepted := timelineCount(a, alerts.TimelineUnaccepted) == 1
			return a.Call != nil && a.Call.State == alerts.CallRinging && released && unaccepted &&
					a.State == alerts.StateNew && a.Assignee == "",
				fmt.Sprintf("%s by %q, %+v, %v", a.State, a.Assignee, a.Call, timelineActions(a))
		})
	}
	// Its escalation runs again (counted from its opening: level 1 at
	// 10 s, 2 at 25 s, whichever is next after the release).
	eventually(t, 45*time.Second, "an escalation after the acceptance was undone", func() (bool, string) {
		acts := timelineActions(getAlert(t, c.bases[1], tokA, alertID))
		i := slices.Index(acts, alerts.TimelineUnaccepted)
		return i >= 0 && slices.Contains(acts[i:], alerts.TimelineEscalated), fmt.Sprint(acts)
	})
	select {
	case <-dev.Done():
		t.Fatalf("the device's call ended (%s) with the release", dev.EndReason())
	default:
	}

	con, err := sim.AnswerAsConsole(ctx, base, tok, dev.ID(), sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer con.Hangup()
	eventually(t, 15*time.Second, "audio both ways", func() (bool, string) {
		d, cs := dev.Stats(), con.Stats()
		return d.PacketsReceived > 100 && cs.PacketsReceived > 100, fmt.Sprintf("device got %d, console got %d", d.PacketsReceived, cs.PacketsReceived)
	})
	if a := getAlert(t, base, tok, alertID); a.State != alerts.StateAccepted || a.Assignee != "admin" {
		t.Errorf("after the second answer: %s by %q, want accepted by admin", a.State, a.Assignee)
	}
}

// timelineActions lists an alert's timeline codes in order.
func timelineActions(a *alerts.Alert) []string {
	out := make([]string, len(a.Timeline))
	for i, e := range a.Timeline {
		out[i] = e.Action
	}
	return out
}

// deadOffer is a browser's audio offer from a peer that is closed at once:
// the hub can answer it, but its connection never comes up.
func deadOffer(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}
