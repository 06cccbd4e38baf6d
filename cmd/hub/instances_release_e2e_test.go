package main

import (
	"context"
	"fmt"
	"net/http"
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
// still on the line, and a console through the same instance answers it
// with audio both ways.
func TestInstancesCallReleased(t *testing.T) {
	c := newCluster(t, 2)
	tokA := login(t, c.bases[0])
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dev, base, tok, alert := callOnOneInstance(ctx, t, c, "sos-rel", "3-2-503")
	alertID := alert.ID

	var ans struct{ SDP string }
	if code := api(t, http.MethodPost, base+"/api/v1/calls/"+dev.ID()+"/answer", tok, map[string]string{"sdp": deadOffer(t)}, &ans); code != http.StatusOK || ans.SDP == "" {
		t.Fatalf("answer through the other instance: %d", code)
	}
	if a := getAlert(t, base, tok, alertID); a.Call == nil || a.Call.State != alerts.CallAnswered {
		t.Fatalf("after the answer: %+v", a.Call)
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
			return a.Call != nil && a.Call.State == alerts.CallRinging && released, fmt.Sprintf("%+v", a.Call)
		})
	}
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
