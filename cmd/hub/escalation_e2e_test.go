package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestEscalationSurvivesKill opens a critical alert, kills the hub with
// SIGKILL before it escalates, keeps it down past both escalation times,
// and starts it again: the timers that fell due during the downtime fire at
// start, each exactly once, and the webhook hears of level 2 once; on
// SQLite and on PostgreSQL. The webhook is down at the first attempt: the
// hub is killed again with the retry pending in its outbox, and the retry
// is delivered after the restart, each attempt on the alert's timeline.
func TestEscalationSurvivesKill(t *testing.T) {
	influx := testenv.Influx(t)
	bin := buildHub(t)
	eachStore(t, func(t *testing.T, db string) { escalationSurvivesKill(t, influx, bin, db) })
}

func escalationSurvivesKill(t *testing.T, influx *testenv.InfluxServer, bin, db string) {
	var mu sync.Mutex
	var posts [][]byte
	downFor := 1 // answer 503 to this many posts first
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if downFor > 0 {
			downFor--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		posts = append(posts, b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	hookPosts := func() int { mu.Lock(); defer mu.Unlock(); return len(posts) }

	data := t.TempDir()
	mqttPort := testenv.FreePort(t)
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "2s", "t2": "4s"}}}`)
	p, base := newHubProcess(t, bin, data, influx, "HUB_MQTT_LISTEN=127.0.0.1:"+strconv.Itoa(mqttPort),
		"HUB_RULES="+rules, "HUB_WEBHOOK_URL="+hook.URL)
	if db == "" {
		db = filepath.Join(data, "hub.db")
	}
	p.env = append(p.env, "HUB_DB="+db)
	waitReady := p.waitReady
	p.start()
	waitReady()
	admin := login(t, base)
	specs := register(t, base, []*devices.Device{{ID: "sos-0009", Kind: devices.KindSOSButton,
		Location: devices.Location{Community: "阳光社区", Household: "1-1-101"}}})
	s := connectDevices(t, "tcp://127.0.0.1:"+strconv.Itoa(mqttPort), specs)
	if _, err := s.Press("sos-0009"); err != nil {
		t.Fatal(err)
	}
	var id int64
	eventually(t, 10*time.Second, "the alert", func() (bool, string) {
		as := findAlerts(t, base, admin, "sos-0009")
		if len(as) == 1 {
			id = as[0].ID
		}
		return len(as) == 1, fmt.Sprint(len(as))
	})
	p.signal(syscall.SIGKILL)
	killed := time.Now()

	// Down past both escalation times.
	<-time.After(5*time.Second - time.Since(killed))
	p.start()
	waitReady()
	admin = login(t, base)
	eventually(t, 20*time.Second, "level 2 and the webhook's first attempt failed", func() (bool, string) {
		a := getAlert(t, base, admin, id)
		return a.EscalationLevel == 2 && timelineCount(a, alerts.TimelineNotifyFailed) == 1,
			fmt.Sprintf("level %d, %d failed", a.EscalationLevel, timelineCount(a, alerts.TimelineNotifyFailed))
	})
	// The alerting rules' signal (deploy/prometheus): one escalation to
	// each level, counted once.
	for _, level := range []string{"1", "2"} {
		if n := metric(t, base, "shouwang_alert_escalations_total", `level="`+level+`",severity="critical"`); n != 1 {
			t.Errorf("shouwang_alert_escalations_total at level %s = %v, want 1", level, n)
		}
	}
	// Killed with the retry due in 5 s: it is in the store's outbox.
	p.signal(syscall.SIGKILL)
	if n := hookPosts(); n != 0 {
		t.Fatalf("the retry was delivered before the kill (%d posts): nothing was left in the outbox", n)
	}
	p.start()
	waitReady()
	admin = login(t, base)
	eventually(t, 20*time.Second, "level 2 and the webhook", func() (bool, string) {
		a := getAlert(t, base, admin, id)
		return a.EscalationLevel == 2 && hookPosts() >= 1 && timelineCount(a, alerts.TimelineNotifyDelivered) == 1,
			fmt.Sprintf("level %d, %d posts", a.EscalationLevel, hookPosts())
	})
	a := getAlert(t, base, admin, id)
	if n := timelineCount(a, alerts.TimelineEscalated); n != 2 {
		t.Fatalf("escalated %d times on the timeline, want 2 (levels 1 and 2 once each)", n)
	}
	if hookPosts() != 1 {
		t.Fatalf("webhook delivered %d times, want 1", hookPosts())
	}
	if at, failed := timelineCount(a, alerts.TimelineNotifyAttempt), timelineCount(a, alerts.TimelineNotifyFailed); at != 2 || failed != 1 {
		t.Errorf("%d attempts and %d failures on the timeline, want 2 and 1 (the failure before the kill)", at, failed)
	}

	// Nothing is left to fire twice: no timer of the alert remains, and a
	// second restart changes nothing.
	p.signal(syscall.SIGTERM)
	st, err := sqlstore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	timers, err := st.DueTimers(context.Background(), time.Now().Add(24*time.Hour), 100)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range timers {
		if tm.AlertID == id && tm.Kind != alerts.TimerReminder {
			t.Fatalf("timer %s still pending after it fired", tm.Kind)
		}
	}
	p.start()
	waitReady()
	a = getAlert(t, base, login(t, base), id)
	if n := timelineCount(a, alerts.TimelineEscalated); n != 2 || hookPosts() != 1 {
		t.Fatalf("after a second restart: escalated %d times, %d webhook posts", n, hookPosts())
	}
}
