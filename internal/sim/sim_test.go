package sim

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/devices"
)

// fast makes every kind report every 100 ms, so a test sees several reports
// per device without waiting a minute.
var fast = map[devices.Kind]time.Duration{
	devices.KindSOSButton: 100 * time.Millisecond,
	devices.KindSmoke:     100 * time.Millisecond,
	devices.KindGas:       100 * time.Millisecond,
	devices.KindAir:       100 * time.Millisecond,
}

func newSim(t *testing.T, url string, specs []DeviceSpec, mod func(*Config)) *Sim {
	t.Helper()
	cfg := Config{BrokerURL: url, Devices: specs, TelemetryEvery: fast, Seed: 1}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRunSendsValidMessages runs a small community and checks, from a plain
// subscriber, that every device announced itself online (retained), that
// every telemetry message decodes for its kind, and that sequence numbers
// only grow.
func TestRunSendsValidMessages(t *testing.T) {
	specs := community(t, 2, 4, 7)
	forEachBroker(t, specs, func(t *testing.T, b brokerEnv) {
		s := newSim(t, b.url, specs, nil)
		runSim(t, s)
		kinds := kindOf(specs)

		// A subscriber arriving now gets every device's retained status.
		w := watch(t, b)
		for _, sp := range specs {
			st := w.await(t, "online status of "+sp.Device.ID, isStatus(sp.Device.ID, "online"))
			if !st.retained {
				t.Errorf("%s: status online was not retained", sp.Device.ID)
			}
			msg, err := devices.Decode(devices.DefaultLimits, sp.Device.Kind, devices.ChannelStatus, st.payload, time.Now())
			if err != nil || !msg.Status.Online || msg.Status.Firmware != DefaultFirmware || msg.Status.Battery == nil {
				t.Errorf("%s: status %s: decoded %+v, %v", sp.Device.ID, st.payload, msg, err)
			}
		}
		for _, sp := range specs {
			id := sp.Device.ID
			eventually(t, "three reports from "+id, func() bool {
				return w.count(func(m msg) bool { return m.id == id && m.ch == devices.ChannelTelemetry }) >= 3
			})
		}

		// Every telemetry message decodes, with every field of its kind.
		telemetry := w.snapshot(func(m msg) bool { return m.ch == devices.ChannelTelemetry })
		for _, tm := range telemetry {
			dec, err := devices.Decode(devices.DefaultLimits, kinds[tm.id], devices.ChannelTelemetry, tm.payload, time.Now())
			if err != nil {
				t.Errorf("%s telemetry %s: %v", tm.id, tm.payload, err)
				continue
			}
			if dec.TSFlag != devices.TSOK {
				t.Errorf("%s telemetry %s: timestamp flagged %q", tm.id, tm.payload, dec.TSFlag)
			}
			for _, f := range nativeFields[kinds[tm.id]] {
				if _, ok := dec.Telemetry.Fields[f]; !ok {
					t.Errorf("%s telemetry %s: no %s", tm.id, tm.payload, f)
				}
			}
		}
		assertSeqGrows(t, w.snapshot(nil))

		// A press arrives as an sos event above everything the button sent.
		sos := firstOfKind(t, specs, devices.KindSOSButton)
		seq, err := s.Press(sos)
		if err != nil {
			t.Fatal(err)
		}
		ev := w.await(t, "the sos event", func(m msg) bool { return m.id == sos && m.ch == devices.ChannelEvent })
		dec, err := devices.Decode(devices.DefaultLimits, devices.KindSOSButton, devices.ChannelEvent, ev.payload, time.Now())
		if err != nil || dec.Event.Type != devices.EventSOS || dec.Event.Test || dec.Seq != seq {
			t.Fatalf("press: got %s (decoded %+v, %v), want an sos event with seq %d", ev.payload, dec, err, seq)
		}
		assertSeqGrows(t, w.snapshot(func(m msg) bool { return m.id == sos }))

		st := s.Stats()
		if st.Devices != len(specs) || st.Connected != len(specs) || st.Published[devices.ChannelEvent] != 1 ||
			st.Published[devices.ChannelStatus] != uint64(len(specs)) || st.Published[devices.ChannelTelemetry] < uint64(3*len(specs)) {
			t.Errorf("stats %+v: want %d devices connected, 1 event, %d statuses, >= %d reports", st, len(specs), len(specs), 3*len(specs))
		}
	})
}

// assertSeqGrows checks that each device's sequence numbers, in the order
// the broker delivered them, strictly increase.
func assertSeqGrows(t *testing.T, ms []msg) {
	t.Helper()
	last := map[string]uint64{}
	for _, m := range ms {
		if m.ch == devices.ChannelStatus {
			continue
		}
		h := parseHeader(t, m.payload)
		if h.Seq <= last[m.id] {
			t.Errorf("%s %s: seq %d after %d", m.id, m.ch, h.Seq, last[m.id])
		}
		last[m.id] = h.Seq
	}
}

// TestTriggers checks the alarm triggers and their kind checks.
func TestTriggers(t *testing.T) {
	specs := community(t, 2, 4, 11)
	forEachBroker(t, specs, func(t *testing.T, b brokerEnv) {
		// Reports once an hour: only triggers speak during the test.
		slow := map[devices.Kind]time.Duration{}
		for _, k := range devices.Kinds {
			slow[k] = time.Hour
		}
		s := newSim(t, b.url, specs, func(c *Config) { c.TelemetryEvery = slow })
		w := watch(t, b)
		runSim(t, s)
		kinds := kindOf(specs)
		smk, gas, sos := firstOfKind(t, specs, devices.KindSmoke), firstOfKind(t, specs, devices.KindGas), firstOfKind(t, specs, devices.KindSOSButton)

		decodeAll := func(id string, ch devices.Channel) []*devices.Message {
			var out []*devices.Message
			for _, m := range w.snapshot(func(m msg) bool { return m.id == id && m.ch == ch }) {
				dec, err := devices.Decode(devices.DefaultLimits, kinds[id], ch, m.payload, time.Now())
				if err != nil {
					t.Fatalf("%s %s %s: %v", id, ch, m.payload, err)
				}
				out = append(out, dec)
			}
			return out
		}

		if _, err := s.Test(smk); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Smoke(smk); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SmokeClear(smk); err != nil {
			t.Fatal(err)
		}
		eventually(t, "three smoke detector events", func() bool { return len(decodeAll(smk, devices.ChannelEvent)) == 3 })
		var types []devices.EventType
		for i, ev := range decodeAll(smk, devices.ChannelEvent) {
			types = append(types, ev.Event.Type)
			if ev.Event.Test != (i == 0) {
				t.Errorf("event %d (%s): test = %t", i, ev.Event.Type, ev.Event.Test)
			}
		}
		if want := []devices.EventType{devices.EventTest, devices.EventSmoke, devices.EventSmokeClear}; !slices.Equal(types, want) {
			t.Errorf("smoke detector events %v, want %v", types, want)
		}

		// A leak: rising lel telemetry, a gas event on crossing the alarm
		// level carrying the reading, gas_clear when it falls back.
		levels := []float64{2, 6, 11, 15, 4}
		if err := s.GasLeak(context.Background(), gas, levels, 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the leak's readings", func() bool { return len(decodeAll(gas, devices.ChannelTelemetry)) == len(levels) })
		var lels []float64
		for _, m := range decodeAll(gas, devices.ChannelTelemetry) {
			lels = append(lels, m.Telemetry.Fields["lel"])
		}
		if !slices.Equal(lels, levels) {
			t.Errorf("lel readings %v, want %v", lels, levels)
		}
		eventually(t, "gas and gas_clear", func() bool { return len(decodeAll(gas, devices.ChannelEvent)) == 2 })
		evs := decodeAll(gas, devices.ChannelEvent)
		if evs[0].Event.Type != devices.EventGas || evs[0].Event.LEL == nil || *evs[0].Event.LEL != 11 {
			t.Errorf("first gas event %+v, want gas at lel 11", evs[0].Event)
		}
		if evs[1].Event.Type != devices.EventGasClear {
			t.Errorf("second gas event %+v, want gas_clear", evs[1].Event)
		}
		assertSeqGrows(t, w.snapshot(func(m msg) bool { return m.id == gas }))

		if err := s.GasLeak(context.Background(), gas, []float64{101}, 0); err == nil {
			t.Error("GasLeak with lel 101: no error")
		}
		if _, err := s.Press(smk); !errors.Is(err, ErrWrongKind) {
			t.Errorf("Press(smoke detector) = %v, want ErrWrongKind", err)
		}
		if _, err := s.Smoke(sos); !errors.Is(err, ErrWrongKind) {
			t.Errorf("Smoke(sos button) = %v, want ErrWrongKind", err)
		}
		if _, err := s.Press("nope-0001"); !errors.Is(err, ErrUnknownDevice) {
			t.Errorf("Press(unknown) = %v, want ErrUnknownDevice", err)
		}

		// Raw publishes go out verbatim; downlink is recorded.
		bad := []byte(`{"seq":"x"}`)
		if err := s.Publish(sos, devices.ChannelTelemetry, bad); err != nil {
			t.Fatal(err)
		}
		w.await(t, "the raw payload", func(m msg) bool { return m.id == sos && bytes.Equal(m.payload, bad) })
		ack := []byte(`{"type":"ack","seq":1,"alert":"A-1"}`)
		sendCmd(t, b, sos, ack)
		eventually(t, "the ack at the device", func() bool {
			r := s.Received(sos)
			return len(r) == 1 && bytes.Equal(r[0], ack)
		})
	})
}

// TestSilenceAndStop checks that a silenced device's connection drops so the
// broker publishes its will, that it comes back on Resume, and that stopping
// the simulator marks every device offline.
func TestSilenceAndStop(t *testing.T) {
	specs := community(t, 1, 4, 3)
	forEachBroker(t, specs, func(t *testing.T, b brokerEnv) {
		s := newSim(t, b.url, specs, nil)
		w := watch(t, b)
		stop := runSim(t, s)
		sos := firstOfKind(t, specs, devices.KindSOSButton)
		before, err := s.Press(sos)
		if err != nil {
			t.Fatal(err)
		}

		if err := s.Silence(sos); err != nil {
			t.Fatal(err)
		}
		// Nothing but the broker can publish this: the device's connection is
		// closed and the simulator sends no offline status on Silence.
		w.await(t, "the last will of "+sos, isStatus(sos, "offline"))
		if _, err := s.Press(sos); !errors.Is(err, ErrSilenced) {
			t.Errorf("Press while silenced = %v, want ErrSilenced", err)
		}
		eventually(t, "one device down", func() bool { return s.Stats().Connected == len(specs)-1 })
		if s.Stats().Published[devices.ChannelStatus] != uint64(len(specs)) {
			t.Errorf("the simulator published a status on Silence: %+v", s.Stats())
		}

		onlines := w.count(isStatus(sos, "online"))
		if err := s.Resume(sos); err != nil {
			t.Fatal(err)
		}
		eventually(t, "online again", func() bool { return w.count(isStatus(sos, "online")) > onlines })
		after, err := s.Press(sos)
		if err != nil || after <= before {
			t.Fatalf("press after resume: seq %d, %v; want above %d", after, err, before)
		}

		if err := stop(); err != nil {
			t.Fatalf("Run returned %v", err)
		}
		for _, sp := range specs {
			w.await(t, "offline status of "+sp.Device.ID, isStatus(sp.Device.ID, "offline"))
		}
		// Retained: a subscriber arriving later sees every device offline.
		late := watch(t, b)
		for _, sp := range specs {
			if st := late.await(t, "retained status of "+sp.Device.ID, func(m msg) bool {
				return m.id == sp.Device.ID && m.ch == devices.ChannelStatus
			}); parseHeader(t, st.payload).State != "offline" {
				t.Errorf("%s: retained status %s after stop", sp.Device.ID, st.payload)
			}
		}
		if _, err := s.Press(sos); err == nil {
			t.Error("Press after stop: no error")
		}
	})
}

// TestWrongPasswordIsCounted checks that a device the broker refuses keeps
// retrying and is counted, while the others run.
func TestWrongPasswordIsCounted(t *testing.T) {
	specs := community(t, 1, 2, 5)
	forEachBroker(t, specs, func(t *testing.T, b brokerEnv) {
		specs[0].Password += "x"
		s := newSim(t, b.url, specs, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		eventually(t, "the others connected and the refusal counted", func() bool {
			st := s.Stats()
			return st.Connected == len(specs)-1 && st.ConnectErrors > 0
		})
		wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer wcancel()
		if err := s.WaitConnected(wctx); err == nil {
			t.Error("WaitConnected succeeded with a refused device")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestEventsOnlyAndControl checks a one-shot style simulator (no status,
// no telemetry) driven through the control endpoint.
func TestEventsOnlyAndControl(t *testing.T) {
	specs := community(t, 1, 4, 9)
	b := embeddedEnv(t, specs)
	var mu sync.Mutex
	var cmds []string
	s := newSim(t, b.url, specs, func(c *Config) {
		c.EventsOnly = true
		c.OnCmd = func(id string, p []byte) {
			mu.Lock()
			cmds = append(cmds, id+" "+string(p))
			mu.Unlock()
		}
	})
	w := watch(t, b)
	stop := runSim(t, s)
	srv := httptest.NewServer(s.ControlHandler())
	defer srv.Close()
	ctx := context.Background()
	sos, gas := firstOfKind(t, specs, devices.KindSOSButton), firstOfKind(t, specs, devices.KindGas)

	res, err := Trigger(ctx, srv.URL, "press", sos, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := w.await(t, "the press", func(m msg) bool { return m.id == sos && m.ch == devices.ChannelEvent })
	if h := parseHeader(t, ev.payload); h.Type != "sos" || h.Seq != res.Seq {
		t.Errorf("press event %s, trigger said seq %d", ev.payload, res.Seq)
	}
	if _, err := Trigger(ctx, srv.URL, "gas", gas, url.Values{"levels": {"3,12"}, "step": {"0s"}}); err != nil {
		t.Fatal(err)
	}
	w.await(t, "the gas event", func(m msg) bool { return m.id == gas && m.ch == devices.ChannelEvent })
	if _, err := Trigger(ctx, srv.URL, "press", "nope-0001", nil); err == nil {
		t.Error("trigger on an unknown device: no error")
	}
	if _, err := Trigger(ctx, srv.URL, "smoke", sos, nil); err == nil {
		t.Error("smoke on an sos button: no error")
	}
	sendCmd(t, b, sos, []byte(`{"type":"ack"}`))
	eventually(t, "OnCmd", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(cmds) == 1 && cmds[0] == sos+` {"type":"ack"}`
	})

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := w.count(func(m msg) bool { return m.ch == devices.ChannelStatus }); n != 0 {
		t.Errorf("an events-only simulator published %d statuses", n)
	}
	// Only the leak reports: nothing periodic.
	if n := w.count(func(m msg) bool { return m.ch == devices.ChannelTelemetry && m.id != gas }); n != 0 {
		t.Errorf("an events-only simulator published %d reports", n)
	}
}

// TestReconnectsAfterBrokerRestart checks that devices come back by
// themselves when the broker restarts, announce themselves again and keep
// reporting.
func TestReconnectsAfterBrokerRestart(t *testing.T) {
	specs := community(t, 1, 2, 13)
	m := mosquittoEnv(t, specs)
	s := newSim(t, m.url, specs, nil)
	runSim(t, s)
	statuses := s.Stats().Published[devices.ChannelStatus]

	m.Stop()
	eventually(t, "devices to notice the broker is gone", func() bool { return s.Stats().Connected == 0 })
	m.Start()
	eventually(t, "devices back", func() bool {
		st := s.Stats()
		return st.Connected == len(specs) && st.Published[devices.ChannelStatus] == statuses+uint64(len(specs))
	})
	w := watch(t, m.brokerEnv)
	for _, sp := range specs {
		id := sp.Device.ID
		eventually(t, "a report from "+id+" after the restart", func() bool {
			return w.count(func(m msg) bool { return m.id == id && m.ch == devices.ChannelTelemetry && !m.retained }) > 0
		})
	}
}
