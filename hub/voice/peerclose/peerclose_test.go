package peerclose

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// pair makes two connected-to-be peers on loopback, each watched: a's offer
// applied to b, b's answer returned for a (non-trickle: every candidate in
// the SDP).
func pair(t *testing.T) (ga, gb *Guard, answer webrtc.SessionDescription) {
	t.Helper()
	var a, b *webrtc.PeerConnection
	se := webrtc.SettingEngine{}
	se.SetICETimeouts(time.Second, time.Second, 200*time.Millisecond)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	var err error
	if a, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if b, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	ga, gb = Watch(a), Watch(b)
	if _, err := a.CreateDataChannel("x", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := gb.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	ans, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	<-done
	return ga, gb, *b.LocalDescription()
}

// TestCloseWhileTransportsStart closes a peer right after its answer is
// applied, at spread moments around ICE connecting, many times: through
// the guard the race detector sees nothing (closing the peer directly
// instead makes `go test -race` report ICETransport.Start against
// ICETransport.stop within a few hundred rounds), and every close returns.
func TestCloseWhileTransportsStart(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for i := range rounds {
		g, other, answer := pair(t)
		if err := g.SetRemoteDescription(answer); err != nil {
			t.Fatal(err)
		}
		// From at once to well after ICE connects on loopback.
		time.Sleep(time.Duration(i%20) * 250 * time.Microsecond)
		start := time.Now()
		if err := g.Close(5 * time.Second); err != nil {
			t.Logf("close: %v", err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("round %d: Close took %v: the guard waited for its limit", i, d)
		}
		if err := g.SetRemoteDescription(answer); err != ErrClosing {
			t.Errorf("SetRemoteDescription after Close: %v, want ErrClosing", err)
		}
		if err := other.Close(5 * time.Second); err != nil {
			t.Logf("close: %v", err)
		}
	}
}
