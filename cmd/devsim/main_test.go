package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

const waitTimeout = 20 * time.Second

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, waitTimeout, what, cond)
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"fly"}, `unknown command "fly"`},
		{[]string{"seed", "-token", "t"}, "-server is required"},
		{[]string{"seed", "-server", "http://x", "-token", "t", "-buildings", "0"}, "at least 1"},
		{[]string{"run", "-speedup", "0"}, "-speedup must be positive"},
		{[]string{"run", "-control", "0.0.0.0:8091"}, "must be a loopback address"},
		{[]string{"run", "-nope"}, "flag provided but not defined"},
		{[]string{"trigger", "press"}, "want ACTION DEVICE-ID"},
		{[]string{"trigger", "explode", "sos-0001"}, `unknown action "explode"`},
		{[]string{"trigger", "-levels", "5,x", "gas", "gas-0001"}, "-levels"},
		{[]string{"event", "silence", "sos-0001"}, `unknown action "silence"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != 2 {
			t.Errorf("devsim %q: exit %d, want 2\n%s", tc.args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("devsim %q: stderr lacks %q:\n%s", tc.args, tc.want, stderr.String())
		}
	}
}

// fakeConsole imports devices as the console's contract says.
func fakeConsole(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/devices/import" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"no","code":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		ds, rowErrs, err := devices.ParseCSV(r.Body)
		if err != nil || len(rowErrs) > 0 {
			http.Error(w, `{"error":"bad","code":"invalid"}`, http.StatusBadRequest)
			return
		}
		var creds []map[string]string
		for _, d := range ds {
			creds = append(creds, map[string]string{"id": d.ID, "password": devices.NewPassword()})
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"imported": len(ds), "credentials": creds})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSeedRunTriggerEvent drives the command the way the README does:
// seed against a console, run against a broker, trigger through the
// control endpoint, then a one-shot event.
func TestSeedRunTriggerEvent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo-devices")
	var stdout, stderr bytes.Buffer
	seedArgs := []string{"seed", "-server", fakeConsole(t).URL, "-token", "tok", "-buildings", "1", "-households", "4", "-seed", "5", "-vendors=false", "-out", out}
	if code := run(context.Background(), seedArgs, &stdout, &stderr); code != 0 {
		t.Fatalf("seed: exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "registered") {
		t.Errorf("seed printed %q", stdout.String())
	}
	if code := run(context.Background(), seedArgs, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "-force") {
		t.Errorf("seed over saved credentials: exit %d, want 1 and a hint at -force\n%s", code, stderr.String())
	}
	specs, err := sim.LoadCredentials(out)
	if err != nil {
		t.Fatal(err)
	}

	// A broker that knows the devices' passwords, and a watcher.
	var pw strings.Builder
	watcherPW := devices.NewPassword()
	fmt.Fprintf(&pw, "watcher:%s\n", devices.HashPassword(watcherPW))
	for _, s := range specs {
		fmt.Fprintf(&pw, "%s:%s\n", s.Device.ID, devices.HashPassword(s.Password))
	}
	pwfile := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(pwfile, []byte(pw.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	m := testenv.Mosquitto(t, testenv.MosquittoOptions{PasswordFile: pwfile})
	w := watch(t, m.URL(), watcherPW)

	control := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runOut := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "-mqtt", m.URL(), "-creds", out, "-control", control, "-speedup", "60"}, runOut, runOut)
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

	sos := ""
	for _, s := range specs {
		if s.Device.Kind == devices.KindSOSButton {
			sos = s.Device.ID
			break
		}
	}
	trigger := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(context.Background(), append([]string{"trigger", "-control", control}, args...), &o, &e); code != 0 {
			t.Fatalf("trigger %q: exit %d\n%s", args, code, e.String())
		}
		return o.String()
	}
	if got := trigger("press", sos); !strings.Contains(got, "seq") {
		t.Errorf("trigger press printed %q", got)
	}
	w.await(t, "the press", func(m message) bool { return m.id == sos && m.ch == devices.ChannelEvent && m.state == "" })
	trigger("silence", sos)
	w.await(t, "the will", func(m message) bool { return m.id == sos && m.state == "offline" })
	trigger("resume", sos)

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run: exit %d\n%s", code, runOut.String())
		}
	case <-time.After(waitTimeout):
		t.Fatal("run did not stop")
	}

	// Stopping marks every device offline; wait for all of it (and the
	// silenced button's will) to arrive before counting.
	eventually(t, "every device offline", func() bool {
		return w.count(func(m message) bool { return m.state == "offline" }) == len(specs)+1
	})
	// One-shot: the event goes out, and no status with it.
	statuses := w.count(func(m message) bool { return m.ch == devices.ChannelStatus })
	events := w.count(func(m message) bool { return m.id == sos && m.ch == devices.ChannelEvent })
	stdout.Reset()
	if code := run(context.Background(), []string{"event", "-mqtt", m.URL(), "-creds", out, "press", sos}, &stdout, &stderr); code != 0 {
		t.Fatalf("event: exit %d\n%s", code, stderr.String())
	}
	eventually(t, "the one-shot press", func() bool {
		return w.count(func(m message) bool { return m.id == sos && m.ch == devices.ChannelEvent }) > events
	})
	if n := w.count(func(m message) bool { return m.ch == devices.ChannelStatus }); n != statuses {
		t.Errorf("the one-shot event published %d statuses", n-statuses)
	}
}

type message struct {
	id    string
	ch    devices.Channel
	state string
}

type watcher struct {
	mu   sync.Mutex
	msgs []message
}

func watch(t *testing.T, url, password string) *watcher {
	t.Helper()
	w := &watcher{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("watcher").SetUsername("watcher").SetPassword(password))
	if tok := c.Connect(); !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("watcher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(devices.TopicPrefix+"+/+", 1, func(_ mqtt.Client, m mqtt.Message) {
		id, ch, _, _ := devices.ParseTopic(m.Topic())
		var p struct {
			State string `json:"state"`
		}
		json.Unmarshal(m.Payload(), &p)
		w.mu.Lock()
		w.msgs = append(w.msgs, message{id, ch, p.State})
		w.mu.Unlock()
	})
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("watcher subscribe: %v", tok.Error())
	}
	return w
}

func (w *watcher) count(keep func(message) bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if keep(m) {
			n++
		}
	}
	return n
}

func (w *watcher) await(t *testing.T, what string, keep func(message) bool) {
	t.Helper()
	eventually(t, what, func() bool { return w.count(keep) > 0 })
}
