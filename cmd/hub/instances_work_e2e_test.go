package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
)

// TestInstancesSupervision: two instances, gas detectors reporting within
// 5 s. One falls silent: it is flagged offline once (one alert, one
// occurrence), however long it stays silent. Another speaks every 3 s on
// telemetry, which the broker spreads over both instances, so the instance
// watching for silence may hear it only every 6 s itself: it is never
// flagged, because the other instance tells the store it heard it.
func TestInstancesSupervision(t *testing.T) {
	rules := writeRules(t, `{"supervision": {"gas": {"heartbeat": "1s", "reporting": "5s"}}}`)
	c := newCluster(t, 2, "HUB_RULES="+rules)
	a, b := c.bases[0], c.bases[1]
	tok := login(t, b)
	loc := devices.Location{Community: "阳光社区", Household: "2-1-201"}
	specs := register(t, a, []*devices.Device{
		{ID: "gas-quiet", Kind: devices.KindGas, Location: loc},
		{ID: "gas-heard", Kind: devices.KindGas, Location: loc},
	})
	s := connectDevices(t, c.mq.URL(), specs)
	for seq := 1; seq <= 2; seq++ {
		_, _, p := reading(seq)
		if err := s.Publish("gas-quiet", devices.ChannelTelemetry, p); err != nil {
			t.Fatal(err)
		}
	}
	// gas-heard speaks every 3 s for 30 s.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := 1; seq <= 10; seq++ {
			_, _, p := reading(seq)
			if err := s.Publish("gas-heard", devices.ChannelTelemetry, p); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(3 * time.Second)
		}
	}()
	eventually(t, 20*time.Second, "the quiet detector flagged", func() (bool, string) {
		n := 0
		for _, al := range findAlerts(t, a, tok, "gas-quiet") {
			if al.Kind == alerts.KindOffline {
				n++
			}
		}
		return n > 0, fmt.Sprint(n)
	})
	<-done // 20 s or more later: another verdict would show by now
	offline := func(id string) []*alerts.Alert {
		var out []*alerts.Alert
		for _, al := range findAlerts(t, b, tok, id) {
			if al.Kind == alerts.KindOffline {
				out = append(out, al)
			}
		}
		return out
	}
	if q := offline("gas-quiet"); len(q) != 1 || q[0].Occurrences != 1 {
		t.Errorf("gas-quiet: %d offline alerts (%+v), want one with one occurrence", len(q), q)
	}
	if h := offline("gas-heard"); len(h) != 0 {
		t.Errorf("gas-heard flagged while an instance heard it: %+v", h[0])
	}
}

// TestInstancesCall: a device's call is taken by one instance (the first
// to claim it) and answered from a console connected to the other, through
// it; audio flows both ways, the alert shows the answer, the recording is
// played through the other instance, and the console's hang-up ends it.
func TestInstancesCall(t *testing.T) {
	c := newCluster(t, 2)
	tokA := login(t, c.bases[0])
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	dev, base, tok, alert := callOnOneInstance(ctx, t, c, "sos-call", "3-2-502")
	con, err := sim.AnswerAsConsole(ctx, base, tok, dev.ID(), sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "audio both ways", func() (bool, string) {
		d, cs := dev.Stats(), con.Stats()
		return d.PacketsReceived > 100 && cs.PacketsReceived > 100, fmt.Sprintf("device got %d, console got %d", d.PacketsReceived, cs.PacketsReceived)
	})
	if a := getAlert(t, c.bases[0], tokA, alert.ID); a.Call.State != alerts.CallAnswered || a.State != alerts.StateAccepted {
		t.Fatalf("after answering: call %+v, alert %s", a.Call, a.State)
	}
	if err := con.Hangup(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dev.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the device's call did not end after the console hung up")
	}
	eventually(t, 10*time.Second, "the call's end on the alert", func() (bool, string) {
		a := getAlert(t, base, tok, alert.ID)
		return a.Call.State == alerts.CallEnded, fmt.Sprintf("%+v", a.Call)
	})
	// The recording is on the call's instance; the other serves it.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/calls/"+dev.ID()+"/recordings/device", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) < 1000 || string(body[:4]) != "OggS" {
		t.Errorf("recording through the other instance: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// callOnOneInstance registers voice button id in household and places its
// call: one instance takes it. It returns the call, the base URL of the
// other instance and a token there, and the call's alert as that instance
// shows it ringing.
func callOnOneInstance(ctx context.Context, t *testing.T, c *cluster, id, household string) (dev *sim.Call, base, tok string, alert *alerts.Alert) {
	t.Helper()
	specs := register(t, c.bases[0], []*devices.Device{{ID: id, Kind: devices.KindSOSButton,
		Capabilities: []string{devices.CapVoice}, Location: devices.Location{Community: "阳光社区", Household: household}}})
	s := connectDevices(t, c.mq.URL(), specs)
	dev, err := s.Call(ctx, id, sim.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(c.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	owner, _, err := st.CallOwner(ctx, dev.ID())
	if err != nil {
		t.Fatal(err)
	}
	base = c.bases[map[string]int{"a": 1, "b": 0}[owner]]
	tok = login(t, base)
	t.Logf("the call is on instance %s; the console answers through the other", owner)
	eventually(t, 10*time.Second, "the call ringing, seen on the other instance", func() (bool, string) {
		as := findAlerts(t, base, tok, id)
		if len(as) == 1 && as[0].Call != nil && as[0].Call.State == alerts.CallRinging {
			alert = as[0]
			return true, ""
		}
		return false, fmt.Sprintf("%+v", as)
	})
	return dev, base, tok, alert
}
