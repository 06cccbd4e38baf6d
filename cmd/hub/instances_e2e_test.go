package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// hookCounter is a webhook receiver counting deliveries by their
// Idempotency-Key.
type hookCounter struct {
	mu   sync.Mutex
	keys map[string]int
	srv  *httptest.Server
}

func newHookCounter(t *testing.T) *hookCounter {
	h := &hookCounter{keys: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.keys[r.Header.Get("Idempotency-Key")]++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// counts returns how many distinct notifications arrived and how many
// arrived more than once.
func (h *hookCounter) counts() (distinct, repeated int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.keys {
		distinct++
		if n > 1 {
			repeated++
		}
	}
	return distinct, repeated
}

// cluster is two or three hub processes on one mosquitto, one PostgreSQL
// database and one InfluxDB.
type cluster struct {
	t      *testing.T
	mq     *testenv.MosquittoServer
	influx *testenv.InfluxServer
	db     string
	hubs   []*hubProcess
	bases  []string
}

func newCluster(t *testing.T, n int, env ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, influx: testenv.Influx(t), db: storeDSN(t, "postgres")}
	c.mq = testenv.Mosquitto(t, testenv.MosquittoOptions{AllowAnonymous: true, Extra: "autosave_interval 1000"})
	bin := buildHub(t)
	for i := range n {
		name := string(rune('a' + i))
		p, base := newHubProcess(t, bin, t.TempDir(), c.influx, append([]string{
			"HUB_MQTT_URL=" + c.mq.URL(), "HUB_DB=" + c.db, "HUB_INSTANCE=" + name,
		}, env...)...)
		c.hubs, c.bases = append(c.hubs, p), append(c.bases, base)
	}
	for _, p := range c.hubs {
		p.start()
	}
	for _, p := range c.hubs {
		p.waitReady()
	}
	return c
}

// ackedSeqs returns the event sequence numbers acknowledged to device id,
// each as often as it was acknowledged.
func ackedSeqs(s *sim.Sim, id string) map[uint64]int {
	out := map[uint64]int{}
	for _, p := range s.Received(id) {
		if !bytes.Contains(p, []byte(`"type":"ack"`)) {
			continue
		}
		var seq uint64
		if i := bytes.Index(p, []byte(`"seq":`)); i >= 0 {
			fmt.Sscan(string(p[i+6:]), &seq)
		}
		out[seq]++
	}
	return out
}

// sosDevices returns n SOS buttons with IDs prefix-000….
func sosDevices(prefix string, n int) []*devices.Device {
	out := make([]*devices.Device, n)
	for i := range out {
		out[i] = &devices.Device{ID: fmt.Sprintf("%s-%03d", prefix, i), Kind: devices.KindSOSButton,
			Location: devices.Location{Community: "阳光社区", Building: "1", Household: fmt.Sprintf("1-1-%03d", i)}}
	}
	return out
}

// feedWatcher reads one instance's live feed and counts, per alert, the
// changes that opened it.
type feedWatcher struct {
	mu     sync.Mutex
	opened map[int64]int
	last   int64
	err    error
	done   chan struct{} // closed when the connection ended
}

func watchFeed(t *testing.T, base, token string) *feedWatcher {
	return watchFeedSince(t, base, token, -1)
}

// watchFeedSince is watchFeed resuming after change since (-1: from now).
func watchFeedSince(t *testing.T, base, token string, since int64) *feedWatcher {
	w := &feedWatcher{opened: map[int64]int{}, done: make(chan struct{})}
	c, first := dialFeed(t, base, token, since)
	w.last = max(first.Seq, since)
	c.SetReadDeadline(time.Time{})
	t.Cleanup(func() { c.Close() })
	go func() {
		defer close(w.done)
		for {
			var msg liveMessage
			if err := c.ReadJSON(&msg); err != nil {
				if !websocket.IsCloseError(err) {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
				return
			}
			if msg.Alert == nil {
				continue
			}
			w.mu.Lock()
			if msg.Seq <= w.last {
				w.err = fmt.Errorf("change %d after %d", msg.Seq, w.last)
			}
			w.last = msg.Seq
			if msg.Alert.Occurrences == 1 && msg.Alert.State == alerts.StateNew && msg.Alert.EscalationLevel == 0 && msg.Alert.Timeline == nil {
				w.opened[msg.Alert.ID]++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *feedWatcher) seen() (map[int64]int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[int64]int, len(w.opened))
	for k, v := range w.opened {
		out[k] = v
	}
	return out, w.err
}

// TestInstancesBothUp: two instances on one mosquitto and PostgreSQL. 100
// presses: every press is acknowledged to its device once (not once per
// instance), one alert each; each alert's two escalation timers fire once
// (200 timers) and each level-2 notification reaches the webhook once; a
// console on each instance sees every alert open once; both list the two
// instances, their heartbeats and what each owns; a device registered
// through one instance is known to the other at once.
func TestInstancesBothUp(t *testing.T) {
	hook := newHookCounter(t)
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "2s", "t2": "4s"}}}`)
	c := newCluster(t, 2, "HUB_RULES="+rules, "HUB_WEBHOOK_URL="+hook.srv.URL)
	a, b := c.bases[0], c.bases[1]
	tokA, tokB := login(t, a), login(t, b)

	var list struct {
		Instances []struct {
			Name   string
			Alive  bool
			Self   bool
			Leases []string
		}
	}
	eventually(t, 20*time.Second, "two live instances owning their sessions", func() (bool, string) {
		getJSON(t, b+"/api/v1/instances", tokB, &list)
		owned := 0
		for _, x := range list.Instances {
			if x.Alive && len(x.Leases) > 0 {
				owned++
			}
		}
		return len(list.Instances) == 2 && owned == 2, fmt.Sprintf("%+v", list.Instances)
	})

	// hubctl shows the same: both alive, each owning its session.
	out := runHubctl(t, buildHubctl(t), a, tokA, "instances")
	for _, want := range []string{"session/a", "session/b", "alive (answering)"} {
		if !strings.Contains(out, want) {
			t.Errorf("hubctl instances lacks %q:\n%s", want, out)
		}
	}

	specs := register(t, a, sosDevices("ha", 100)) // through a; b must know them too
	s := connectDevices(t, c.mq.URL(), specs)
	feedA, feedB := watchFeed(t, a, tokA), watchFeed(t, b, tokB)
	for _, sp := range specs {
		if _, err := s.Press(sp.Device.ID); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "every press acknowledged", func() (bool, string) {
		for _, sp := range specs {
			if len(ackedSeqs(s, sp.Device.ID)) == 0 {
				return false, sp.Device.ID
			}
		}
		return true, ""
	})
	eventually(t, 30*time.Second, "every level-2 notification delivered", func() (bool, string) {
		n, _ := hook.counts()
		return n == len(specs), fmt.Sprint(n)
	})
	// A settled moment more for a second ack, alert or delivery to show.
	time.Sleep(2 * time.Second)
	for _, sp := range specs {
		for seq, n := range ackedSeqs(s, sp.Device.ID) {
			if n != 1 {
				t.Errorf("%s: press %d acknowledged %d times", sp.Device.ID, seq, n)
			}
		}
		as := findAlerts(t, a, tokA, sp.Device.ID)
		if len(as) != 1 {
			t.Fatalf("%s: %d alerts", sp.Device.ID, len(as))
		}
		al := getAlert(t, b, tokB, as[0].ID)
		if al.EscalationLevel != 2 || timelineCount(al, "escalated") != 2 || timelineCount(al, "notify_delivered") != 1 {
			t.Errorf("%s: level %d, escalated %d times, delivered %d", sp.Device.ID, al.EscalationLevel,
				timelineCount(al, "escalated"), timelineCount(al, "notify_delivered"))
		}
	}
	if n, rep := hook.counts(); n != len(specs) || rep != 0 {
		t.Errorf("webhook: %d notifications, %d of them more than once", n, rep)
	}
	for name, w := range map[string]*feedWatcher{"a": feedA, "b": feedB} {
		opened, err := w.seen()
		if err != nil {
			t.Errorf("console on %s: %v", name, err)
		}
		if len(opened) != len(specs) {
			t.Errorf("console on %s saw %d alerts open, want %d", name, len(opened), len(specs))
		}
		for id, n := range opened {
			if n != 1 {
				t.Errorf("console on %s saw alert %d open %d times", name, id, n)
			}
		}
	}
}

// TestInstancesKilled: two instances under load — telemetry at about
// 1,000 messages a second, 100 presses spread over the run, a console on
// each — and one instance is stopped mid-run (SIGKILL, then SIGTERM).
// Every press the hub acknowledged is stored once; every reading the
// broker acknowledged is in InfluxDB once; escalations and webhooks fire
// once; the console on the survivor saw every alert open once, and the
// console on the stopped instance, resuming on the survivor with ?since=,
// saw every alert open once across the two connections; the stopped
// instance starts again and rejoins.
func TestInstancesKilled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { instanceKilled(t, sig) })
	}
}

func instanceKilled(t *testing.T, sig syscall.Signal) {
	hook := newHookCounter(t)
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "3s", "t2": "6s"}}}`)
	c := newCluster(t, 2, "HUB_RULES="+rules, "HUB_WEBHOOK_URL="+hook.srv.URL)
	a, b := c.bases[0], c.bases[1]
	tokB := login(t, b)
	const gas, readings, presses = 20, 1800, 100
	specs := register(t, a, append(gasDevices("hk", gas), sosDevices("hp", presses)...))
	s := connectDevices(t, c.mq.URL(), specs)
	feedA, feedB := watchFeed(t, a, login(t, a)), watchFeed(t, b, tokB)

	// Telemetry: 20 devices, one reading each every 20 ms (≈1,000 msg/s,
	// as the issue asks) for 1,800 readings (≈36 s); a press every 300 ms
	// meanwhile.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for i := range gas {
		id := specs[i].Device.ID
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for seq := 1; seq <= readings && ctx.Err() == nil; seq++ {
				_, _, payload := reading(seq)
				if err := publishRetry(s, id, devices.ChannelTelemetry, payload); err != nil {
					t.Error(err)
					return
				}
				<-tick.C
			}
		})
	}
	pressed := make(chan string, presses)
	wg.Go(func() {
		for _, sp := range specs[gas:] {
			if _, err := s.Press(sp.Device.ID); err != nil {
				t.Error(err)
				return
			}
			pressed <- sp.Device.ID
			time.Sleep(300 * time.Millisecond)
		}
	})
	eventually(t, time.Minute, "a third of the run", func() (bool, string) {
		return len(pressed) >= presses/3, fmt.Sprint(len(pressed))
	})
	killed := time.Now()
	c.hubs[0].signal(sig)
	t.Logf("%v to instance a after %d presses", sig, len(pressed))
	// a's leases pass to b: within 15 s of a SIGKILL (they expire), at
	// once on a clean stop (a gives them up).
	within := 15*time.Second - time.Since(killed)
	if sig == syscall.SIGTERM {
		within = 5 * time.Second
	}
	eventually(t, within, "b holding a's telemetry session and supervision", func() (bool, string) {
		held := leasesOf(t, b, tokB, "b")
		return slices.Contains(held, "session/a") && slices.Contains(held, "supervision"), fmt.Sprint(held)
	})
	t.Logf("a's session and supervision passed to b %v after the %v", time.Since(killed).Round(time.Millisecond), sig)
	// The console on a lost its instance: it reconnects to b and resumes
	// after the last change it saw.
	select {
	case <-feedA.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the console on a still connected 30 s after a stopped")
	}
	seenOnA, _ := feedA.seen() // its connection's end is an error or a close
	feedA.mu.Lock()
	lastOnA := feedA.last
	feedA.mu.Unlock()
	feedResumed := watchFeedSince(t, b, tokB, lastOnA)
	wg.Wait()
	t.Logf("the run ended %v after the stop", time.Since(killed).Round(time.Millisecond))
	c.hubs[0].start()
	c.hubs[0].waitReady()

	eventually(t, 2*time.Minute, "every reading in InfluxDB", func() (bool, string) {
		n := c.influx.Count(t, `SELECT count(seq) FROM gas`)
		return n == gas*readings, fmt.Sprintf("%d points", n)
	})
	eventually(t, time.Minute, "every level-2 notification delivered", func() (bool, string) {
		n, _ := hook.counts()
		return n == presses, fmt.Sprint(n)
	})
	st, err := sqlstore.Open(c.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A delivery the stopped instance had claimed but not recorded (sent
	// or not) is made again once its claim's hold (2 min) has passed, with
	// the same Idempotency-Key: wait until every alert shows its delivery.
	alertOf := map[string]int64{}
	for _, sp := range specs[gas:] {
		if as := findAlerts(t, b, tokB, sp.Device.ID); len(as) == 1 {
			alertOf[sp.Device.ID] = as[0].ID
		}
	}
	eventually(t, 3*time.Minute, "every delivery recorded on its alert", func() (bool, string) {
		for dev, id := range alertOf {
			al, err := st.FindAlert(context.Background(), id)
			if err != nil || timelineCount(al, "notify_delivered") == 0 {
				return false, fmt.Sprintf("%s: %v", dev, err)
			}
		}
		return true, ""
	})
	time.Sleep(2 * time.Second) // a settled moment for a late duplicate to show
	for _, sp := range specs[gas:] {
		evs, err := st.ListEvents(context.Background(), sp.Device.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		acked := ackedSeqs(s, sp.Device.ID)
		if len(evs) != 1 || len(acked) > 1 {
			t.Errorf("%s: %d events stored, acknowledged %v", sp.Device.ID, len(evs), acked)
		}
		as := findAlerts(t, b, tokB, sp.Device.ID)
		if len(as) != 1 {
			t.Errorf("%s: %d alerts", sp.Device.ID, len(as))
			continue
		}
		al := getAlert(t, b, tokB, as[0].ID)
		if timelineCount(al, "escalated") != 2 || timelineCount(al, "notify_delivered") != 1 {
			t.Errorf("%s: escalated %d times, delivered %d", sp.Device.ID, timelineCount(al, "escalated"), timelineCount(al, "notify_delivered"))
		}
	}
	// Once per notification, but for those in flight at the stop: at
	// least once, each repeat with its notification's key, so the
	// receiver drops it. At most one claim (10 notifications) was in
	// flight.
	if n, rep := hook.counts(); n != presses || rep > 10 {
		t.Errorf("webhook: %d notifications, %d of them more than once", n, rep)
	} else if rep > 0 {
		t.Logf("webhook: %d notifications in flight at the %v arrived twice, with one key each", rep, sig)
	}
	if n := c.influx.Count(t, `SELECT count(seq) FROM gas`); n != gas*readings {
		t.Errorf("%d points at the end, want %d", n, gas*readings)
	}
	opened, err := feedB.seen()
	if err != nil {
		t.Errorf("console on the survivor: %v", err)
	}
	if len(opened) != presses {
		t.Errorf("console on the survivor saw %d alerts open, want %d", len(opened), presses)
	}
	for id, n := range opened {
		if n != 1 {
			t.Errorf("console on the survivor saw alert %d open %d times", id, n)
		}
	}
	resumed, err := feedResumed.seen()
	if err != nil {
		t.Errorf("the console resumed on the survivor: %v", err)
	}
	for id, n := range seenOnA {
		resumed[id] += n
	}
	if len(resumed) != presses {
		t.Errorf("the console on a, resumed on b after %d, saw %d alerts open (%d on a), want %d", lastOnA, len(resumed), len(seenOnA), presses)
	}
	for id, n := range resumed {
		if n != 1 {
			t.Errorf("the console on a, resumed on b, saw alert %d open %d times", id, n)
		}
	}
	// Rejoined: a owns its session again.
	eventually(t, 30*time.Second, "a rejoined with its own session", func() (bool, string) {
		held := leasesOf(t, b, tokB, "a")
		return slices.Contains(held, "session/a"), fmt.Sprint(held)
	})
}

// leasesOf returns the leases instance name holds, as the API of the
// instance at base lists them.
func leasesOf(t *testing.T, base, token, name string) []string {
	t.Helper()
	var list struct {
		Instances []struct {
			Name   string
			Alive  bool
			Leases []string
		}
	}
	getJSON(t, base+"/api/v1/instances", token, &list)
	for _, x := range list.Instances {
		if x.Name == name && x.Alive {
			return x.Leases
		}
	}
	return nil
}
