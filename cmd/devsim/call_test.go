package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// answeringHub answers every call/offer with a pion peer that counts the
// audio it receives, and notes every call/hangup.
type answeringHub struct {
	t      *testing.T
	client mqtt.Client

	mu      sync.Mutex
	offers  map[string]string // call id → device
	hangups map[string]string // call id → reason
	recv    map[string]*atomic.Uint64
	pcs     []*webrtc.PeerConnection
}

type callMsg struct {
	Call   string `json:"call"`
	SDP    string `json:"sdp,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func startAnsweringHub(t *testing.T, url, user, password string) *answeringHub {
	h := &answeringHub{t: t, offers: map[string]string{}, hangups: map[string]string{}, recv: map[string]*atomic.Uint64{}}
	h.client = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("hub").SetUsername(user).SetPassword(password))
	if tok := h.client.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("hub: %v", tok.Error())
	}
	tok := h.client.Subscribe(devices.TopicPrefix+"+/call/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		id, _, sub, _ := devices.ParseTopic(m.Topic())
		var msg callMsg
		json.Unmarshal(m.Payload(), &msg)
		h.mu.Lock()
		defer h.mu.Unlock()
		switch sub {
		case "offer":
			h.offers[msg.Call] = id
			h.recv[msg.Call] = new(atomic.Uint64)
			go h.answer(id, msg, h.recv[msg.Call])
		case "hangup":
			h.hangups[msg.Call] = msg.Reason
		}
	})
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("hub subscribe: %v", tok.Error())
	}
	t.Cleanup(func() {
		h.client.Disconnect(100)
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, pc := range h.pcs {
			pc.Close()
		}
	})
	return h
}

func (h *answeringHub) answer(id string, offer callMsg, recv *atomic.Uint64) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		h.t.Error(err)
		return
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		h.t.Error(err)
		return
	}
	h.mu.Lock()
	h.pcs = append(h.pcs, pc)
	h.mu.Unlock()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			recv.Add(1)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		h.t.Errorf("hub: %v", err)
		return
	}
	answer, _ := pc.CreateAnswer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	pc.SetLocalDescription(answer)
	<-gathered
	payload, _ := json.Marshal(callMsg{Call: offer.Call, SDP: pc.LocalDescription().SDP})
	h.client.Publish(devices.Topic(id, devices.ChannelCall)+"/answer", 1, false, payload).WaitTimeout(waitTimeout)
}

func (h *answeringHub) received(call string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.recv[call]; r != nil {
		return r.Load()
	}
	return 0
}

func (h *answeringHub) hangup(call string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.hangups[call]
	return r, ok
}

// TestTriggerCall: `devsim trigger call` places a call that streams the clip
// to the hub, `trigger hangup` ends it, and with -answer-call-requests a
// call_request makes the device call back, recording what it hears.
func TestTriggerCall(t *testing.T) {
	specs := sim.Community("阳光社区", 1, 4, rand.New(rand.NewPCG(5, 5)))
	sos := ""
	for _, d := range specs {
		if d.Kind == devices.KindSOSButton {
			sos = d.ID
			break
		}
	}
	if sos == "" {
		t.Fatal("no emergency call button in the community")
	}
	out := filepath.Join(t.TempDir(), "demo-devices")
	creds := make([]sim.DeviceSpec, len(specs))
	var pw strings.Builder
	hubPW := devices.NewPassword()
	fmt.Fprintf(&pw, "hub:%s\n", devices.HashPassword(hubPW))
	for i, d := range specs {
		creds[i] = sim.DeviceSpec{Device: d, Password: devices.NewPassword()}
		fmt.Fprintf(&pw, "%s:%s\n", d.ID, devices.HashPassword(creds[i].Password))
	}
	if err := sim.SaveCredentials(out, creds); err != nil {
		t.Fatal(err)
	}
	pwfile := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(pwfile, []byte(pw.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwfile})
	hub := startAnsweringHub(t, m.URL(), "hub", hubPW)

	control := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	recDir := filepath.Join(t.TempDir(), "calls")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runOut := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "-mqtt", m.URL(), "-creds", out, "-control", control, "-answer-call-requests", "-call-record", recDir}, runOut, runOut)
	}()
	eventually(t, "every device connected", func() bool {
		resp, err := http.Get("http://" + control + "/v1/stats")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st sim.Stats
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Connected == len(specs)
	})
	trigger := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(context.Background(), append([]string{"trigger", "-control", control}, args...), &o, &e); code != 0 {
			t.Fatalf("trigger %q: exit %d\n%s", args, code, e.String())
		}
		return o.String()
	}

	got := trigger("call", sos)
	var call string
	if _, err := fmt.Sscanf(got, sos+": call: call %s", &call); err != nil {
		t.Fatalf("trigger call printed %q: %v", got, err)
	}
	eventually(t, "the clip at the hub", func() bool { return hub.received(call) > 25 })
	if got := trigger("hangup", sos); !strings.Contains(got, "1 call(s) hung up") {
		t.Errorf("trigger hangup printed %q", got)
	}
	eventually(t, "the hang-up at the hub", func() bool { _, ok := hub.hangup(call); return ok })
	if r, _ := hub.hangup(call); r != "hangup" {
		t.Errorf("hub got hang-up reason %q, want hangup", r)
	}

	// An operator calls back.
	hub.client.Publish(devices.Topic(sos, devices.ChannelCmd), 1, false, []byte(`{"type":"call_request","alert":1}`)).WaitTimeout(waitTimeout)
	var back string
	eventually(t, "the call back", func() bool {
		hub.mu.Lock()
		defer hub.mu.Unlock()
		for c, id := range hub.offers {
			if c != call && id == sos {
				back = c
				return true
			}
		}
		return false
	})
	eventually(t, "audio from the call back", func() bool { return hub.received(back) > 10 })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run: exit %d\n%s", code, runOut.String())
		}
	case <-time.After(waitTimeout):
		t.Fatal("run did not stop")
	}
	eventually(t, "the call back's hang-up at the hub", func() bool { _, ok := hub.hangup(back); return ok })
	if r, _ := hub.hangup(back); r != "hangup" {
		t.Errorf("stopping devsim: hub got hang-up reason %q for the call back, want hangup", r)
	}
	if _, err := os.Stat(filepath.Join(recDir, sos+"-"+back+".ogg")); err != nil {
		t.Errorf("no recording of the call back: %v", err)
	}
}
