package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// writeRules writes an alert rules file for a test hub.
func writeRules(t *testing.T, json string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(p, []byte(json), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// apiCall sends a JSON request with a bearer token and decodes the answer.
func apiCall(t *testing.T, method, url, token string, body any, out any) (int, string) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, buf.String())
		}
	}
	return resp.StatusCode, buf.String()
}

type alertList struct {
	Alerts []*alerts.Alert `json:"alerts"`
	Total  int             `json:"total"`
}

// findAlerts lists alerts of one device (tests excluded).
func findAlerts(t *testing.T, base, token, device string) []*alerts.Alert {
	t.Helper()
	var out alertList
	if code, body := apiCall(t, "GET", base+"/api/v1/alerts?device="+device, token, nil, &out); code != 200 {
		t.Fatalf("list alerts: %d %s", code, body)
	}
	return out.Alerts
}

func getAlert(t *testing.T, base, token string, id int64) *alerts.Alert {
	t.Helper()
	var out struct{ Alert *alerts.Alert }
	if code, body := apiCall(t, "GET", fmt.Sprintf("%s/api/v1/alerts/%d", base, id), token, nil, &out); code != 200 {
		t.Fatalf("get alert %d: %d %s", id, code, body)
	}
	return out.Alert
}

func timelineCount(a *alerts.Alert, action string) int {
	n := 0
	for _, e := range a.Timeline {
		if e.Action == action {
			n++
		}
	}
	return n
}

// received reports whether the device got a downlink payload containing sub.
func received(s *sim.Sim, id, sub string) bool {
	for _, p := range s.Received(id) {
		if bytes.Contains(p, []byte(sub)) {
			return true
		}
	}
	return false
}

// TestAlertsEndToEnd runs a press and a gas leak through the real hub,
// embedded broker and InfluxDB, on SQLite and on PostgreSQL: the press
// opens a critical alert and the device hears its acknowledgement; an event
// published again is stored once; the leak rising 5 → 15 → 30 %LEL gives
// one alert whose severity rises; 50 concurrent accepts have exactly one
// winner; the life cycle runs to closed with its refusals.
func TestAlertsEndToEnd(t *testing.T) {
	influx := testenv.Influx(t)
	eachStore(t, func(t *testing.T, db string) { alertsEndToEnd(t, influx, db) })
}

func alertsEndToEnd(t *testing.T, influx *testenv.InfluxServer, db string) {
	m := startHub(t, hubOptions{Influx: influx, DB: db})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	ds := []*devices.Device{
		{ID: "sos-0001", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice},
			Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "3号楼", Unit: "2单元", Floor: "5", Household: "3-2-502"},
			Resident: devices.Resident{Name: "王秀英", BirthYear: 1938, LivesAlone: true, CareNotes: "高血压，助听器"},
			Contacts: []devices.Contact{{Name: "王强", Relation: "儿子", Phone: "139-0000-0001"}}},
		{ID: "gas-0001", Kind: devices.KindGas, Location: devices.Location{Community: "阳光社区", Building: "3号楼", Household: "3-2-502"}},
	}
	specs := register(t, base, ds)
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), specs)

	seq, err := s.Press("sos-0001")
	if err != nil {
		t.Fatal(err)
	}
	var sos *alerts.Alert
	eventually(t, 10*time.Second, "an sos alert", func() (bool, string) {
		as := findAlerts(t, base, admin, "sos-0001")
		if len(as) == 1 {
			sos = as[0]
		}
		return len(as) == 1, fmt.Sprintf("%d alerts", len(as))
	})
	if sos.Kind != alerts.KindSOS || sos.Severity != alerts.SeverityCritical || sos.State != alerts.StateNew ||
		sos.Device.Resident.Name != "王秀英" || sos.Device.Location.Household != "3-2-502" || len(sos.Device.Contacts) != 1 {
		t.Fatalf("sos alert = %+v", sos)
	}
	ack := fmt.Sprintf(`{"type":"ack","seq":%d,"alert":%d}`, seq, sos.ID)
	eventually(t, 10*time.Second, "the device to receive "+ack, func() (bool, string) {
		return received(s, "sos-0001", ack), fmt.Sprintf("%q", s.Received("sos-0001"))
	})

	// The press shows the device as just heard from, without waiting for
	// the periodic health flush.
	var got struct{ Device devices.Device }
	if code := getJSON(t, base+"/api/v1/devices/sos-0001", admin, &got); code != 200 || !got.Device.Health.Online || got.Device.Health.LastSeen.IsZero() {
		t.Fatalf("device after its press: %d %+v", code, got.Device.Health)
	}

	// An event the device publishes twice (its ack lost, say) is stored
	// once and counts once.
	tamper := fmt.Appendf(nil, `{"seq":900001,"ts":%d,"type":"tamper"}`, time.Now().UnixMilli())
	for range 2 {
		if err := publishRetry(s, "gas-0001", devices.ChannelEvent, tamper); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "the tamper alert", func() (bool, string) {
		as := findAlerts(t, base, admin, "gas-0001")
		return len(as) == 1 && as[0].Kind == alerts.KindTamper, fmt.Sprintf("%+v", as)
	})
	// The second copy was handled (and acknowledged) by the time a third
	// event behind it on the same connection is stored.
	marker := fmt.Appendf(nil, `{"seq":900002,"ts":%d,"type":"test"}`, time.Now().UnixMilli())
	if err := publishRetry(s, "gas-0001", devices.ChannelEvent, marker); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the marker event stored", func() (bool, string) {
		evs, err := m.store.ListEvents(context.Background(), "gas-0001", 10)
		return err == nil && len(evs) > 0 && evs[0].Seq == 900002, fmt.Sprint(len(evs), err)
	})
	evs, err := m.store.ListEvents(context.Background(), "gas-0001", 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("gas-0001 has %d events stored (%v), want the tamper once and the marker", len(evs), err)
	}
	if a := findAlerts(t, base, admin, "gas-0001"); len(a) != 1 || a[0].Occurrences != 1 {
		t.Fatalf("the tamper published twice: %+v, want one alert with one occurrence", a)
	}

	// A gas leak rising through both thresholds: one alert, raised.
	if err := s.GasLeak(context.Background(), "gas-0001", []float64{5, 15, 30}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	gasAlerts := func() []*alerts.Alert {
		var out []*alerts.Alert
		for _, a := range findAlerts(t, base, admin, "gas-0001") {
			if a.Kind != alerts.KindTamper {
				out = append(out, a)
			}
		}
		return out
	}
	eventually(t, 10*time.Second, "one gas alert raised to gas_high", func() (bool, string) {
		as := gasAlerts()
		return len(as) == 1 && as[0].Kind == alerts.KindGasHigh && as[0].Severity == alerts.SeverityCritical &&
			as[0].Reading != nil && *as[0].Reading == 30, fmt.Sprintf("%+v", as)
	})
	gas := getAlert(t, base, admin, gasAlerts()[0].ID)
	if timelineCount(gas, alerts.TimelineSeverityRaised) != 1 || timelineCount(gas, alerts.TimelineOpened) != 1 {
		t.Fatalf("gas timeline: %+v", gas.Timeline)
	}

	// 50 accepts at once, from five operators: exactly one wins.
	tokens := operators(t, m, base, 5)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var conflicts []string
	for i := range 50 {
		wg.Go(func() {
			code, body := apiCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/accept", base, sos.ID), tokens[i%5], map[string]string{"note": "我来处理"}, nil)
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if code == http.StatusConflict {
				conflicts = append(conflicts, body)
			}
		})
	}
	wg.Wait()
	if codes[200] != 1 || codes[409] != 49 {
		t.Fatalf("accept results: %v", codes)
	}
	sos = getAlert(t, base, admin, sos.ID)
	for _, c := range conflicts {
		if !strings.Contains(c, "already accepted by "+sos.Assignee) {
			t.Fatalf("a losing accept was not told who won: %s", c)
		}
	}
	if timelineCount(sos, alerts.TimelineAccepted) != 1 {
		t.Fatalf("accepted %d times on the timeline", timelineCount(sos, alerts.TimelineAccepted))
	}
	accepted := fmt.Sprintf(`{"type":"accepted","alert":%d,"by":%q}`, sos.ID, sos.Assignee)
	eventually(t, 10*time.Second, "the device to hear help is coming", func() (bool, string) {
		return received(s, "sos-0001", accepted), fmt.Sprintf("%q", s.Received("sos-0001"))
	})

	// The rest of the life cycle, with its refusals.
	url := func(action string) string { return fmt.Sprintf("%s/api/v1/alerts/%d/%s", base, sos.ID, action) }
	op := tokens[0] // any operator may act on an accepted alert
	steps := []struct {
		action, token string
		body          map[string]string
		want          int
	}{
		{"note", op, map[string]string{"note": "家属已通知"}, 200},
		{"dispatch", op, map[string]string{"to": "120", "note": "救护车"}, 200},
		{"resolve", op, map[string]string{"note": "no outcome"}, 400},
		{"resolve", op, map[string]string{"outcome": "genuine", "note": "送医"}, 200},
		{"close", op, nil, 403}, // operators do not close
		{"close", admin, map[string]string{"note": "reviewed"}, 200},
		{"accept", op, nil, 409}, // closed
	}
	for _, st := range steps {
		if code, body := apiCall(t, "POST", url(st.action), st.token, st.body, nil); code != st.want {
			t.Fatalf("%s: %d %s, want %d", st.action, code, body, st.want)
		}
	}
	if code, _ := apiCall(t, "POST", base+"/api/v1/alerts/999999/accept", admin, nil, nil); code != 404 {
		t.Fatalf("accept on an unknown alert: %d", code)
	}

	var stats map[string]any
	if code, body := apiCall(t, "GET", base+"/api/v1/alerts/stats", admin, nil, &stats); code != 200 || stats["accepted"].(float64) != 1 || stats["alerts"].(float64) != 3 {
		t.Fatalf("stats: %d %s", code, body)
	}
	eventually(t, 30*time.Second, "alert changes in InfluxDB", func() (bool, string) {
		n := influx.Count(t, `SELECT count(id) FROM alert`)
		return n > 0, fmt.Sprint(n)
	})
}

// operators creates n operator accounts and returns their tokens.
func operators(t *testing.T, m *Main, base string, n int) []string {
	t.Helper()
	hash, err := accounts.HashPassword("operator-password")
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for i := range n {
		name := fmt.Sprintf("op%d", i+1)
		if _, err := m.store.CreateUser(context.Background(), name, accounts.RoleOperator, hash); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"username":%q,"password":"operator-password"}`, name)
		resp, err := http.Post(base+"/api/v1/login", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		tokens = append(tokens, out.Token)
	}
	return tokens
}
