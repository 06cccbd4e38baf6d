package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"
)

// slowHook is a webhook receiver whose first request never answers (a
// slow receiver: it waits until its sender gives up or goes away); every
// later one answers 204. It counts arrivals and deliveries (204s) by
// Idempotency-Key.
type slowHook struct {
	mu        sync.Mutex
	arrived   map[string]int
	delivered map[string]int
	first     chan string // the key of the request left hanging
	srv       *httptest.Server
}

func newSlowHook(t *testing.T) *slowHook {
	h := &slowHook{arrived: map[string]int{}, delivered: map[string]int{}, first: make(chan string, 1)}
	stop := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		h.mu.Lock()
		h.arrived[key]++
		n := 0
		for _, c := range h.arrived {
			n += c
		}
		h.mu.Unlock()
		if n == 1 {
			h.first <- key
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		h.mu.Lock()
		h.delivered[key]++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: the hanging request ends
	return h
}

func (h *slowHook) counts(key string) (arrived, delivered int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arrived[key], h.delivered[key]
}

// TestInstancesNotificationInFlight: with two instances on PostgreSQL, the
// instance that claimed an escalation's webhook is stopped while the
// webhook is in flight (its receiver slow). The other instance delivers it
// within seconds — not after the claim's 2-minute hold — and once: on a
// clean stop (SIGTERM) the stopped instance hands its claim back and rings
// the other; when it dies (SIGKILL) the claim is taken once the dead
// instance's notifier lease has lapsed (10 s).
func TestInstancesNotificationInFlight(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) { notificationInFlight(t, sig) })
	}
}

func notificationInFlight(t *testing.T, sig syscall.Signal) {
	hook := newSlowHook(t)
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "1s", "t2": "2s"}}}`)
	c := newCluster(t, 2, "HUB_RULES="+rules, "HUB_WEBHOOK_URL="+hook.srv.URL)
	specs := register(t, c.bases[0], sosDevices("hn", 1))
	s := connectDevices(t, c.mq.URL(), specs)
	if _, err := s.Press(specs[0].Device.ID); err != nil {
		t.Fatal(err)
	}
	var key string
	select {
	case key = <-hook.first:
	case <-time.After(time.Minute):
		t.Fatal("no webhook within a minute of the press")
	}
	db, err := sql.Open("pgx", c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var claimer string
	if err := db.QueryRowContext(t.Context(), `SELECT claimed_by FROM alert_notifications`).Scan(&claimer); err != nil {
		t.Fatalf("the claimed notification: %v", err)
	}
	i := map[string]int{"a": 0, "b": 1}[claimer]
	if claimer == "" || i != int(claimer[0]-'a') {
		t.Fatalf("claimed by %q", claimer)
	}
	survivor := c.bases[1-i]
	stopped := time.Now()
	c.hubs[i].signal(sig)
	t.Logf("%v to instance %s, which held the webhook in flight", sig, claimer)

	// Well under the 2-minute hold: 10 s of lease, a renewal round, and a
	// loaded machine's slack.
	eventually(t, 40*time.Second, "the webhook delivered by the other instance", func() (bool, string) {
		arrived, delivered := hook.counts(key)
		return delivered >= 1, fmt.Sprintf("arrived %d, delivered %d", arrived, delivered)
	})
	t.Logf("delivered %v after the %v", time.Since(stopped).Round(time.Millisecond), sig)
	tok := login(t, survivor)
	as := findAlerts(t, survivor, tok, specs[0].Device.ID)
	if len(as) != 1 {
		t.Fatalf("%d alerts", len(as))
	}
	eventually(t, 10*time.Second, "the delivery on the alert's timeline", func() (bool, string) {
		n := timelineCount(getAlert(t, survivor, tok, as[0].ID), "notify_delivered")
		return n >= 1, fmt.Sprint(n)
	})
	al := getAlert(t, survivor, tok, as[0].ID)
	if arrived, delivered := hook.counts(key); delivered != 1 || arrived != 2 || timelineCount(al, "notify_delivered") != 1 {
		t.Errorf("webhook arrived %d times, delivered %d (want the cut-off one and one delivery), notify_delivered %d on the timeline",
			arrived, delivered, timelineCount(al, "notify_delivered"))
	}
}
