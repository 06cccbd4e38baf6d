package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// newAlertBound is the requirement: a press is on the duty room's
// screen, with its sound, within one second.
const newAlertBound = time.Second

const consolePassword = "console-e2e-password"

// browserDevices are the devices of the browser tests: three call buttons
// for elderly residents and a kitchen gas detector.
func browserDevices() []*devices.Device {
	loc := func(b, h string) devices.Location {
		return devices.Location{Community: "阳光社区", Grid: "网格一", Building: b, Unit: "2单元", Floor: "5", Household: h}
	}
	gw := devices.GridWorker{Name: "李敏", Phone: "138-0000-1111"}
	return []*devices.Device{
		{ID: "sos-0001", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc("3号楼", "3-2-502"),
			Resident:   devices.Resident{Name: "王秀英", BirthYear: 1938, LivesAlone: true, CareNotes: "高血压，戴助听器", Language: "普通话"},
			Contacts:   []devices.Contact{{Name: "王强", Relation: "儿子", Phone: "139-0000-0001"}},
			GridWorker: gw},
		{ID: "sos-0002", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: loc("4号楼", "4-2-501"),
			Resident: devices.Resident{Name: "陈德明", BirthYear: 1941, LivesAlone: true, CareNotes: "糖尿病；行动不便，需轮椅", Language: "上海话"},
			Contacts: []devices.Contact{{Name: "陈丽", Relation: "女儿", Phone: "139-0000-0002"},
				{Name: "赵阿姨", Relation: "邻居", Phone: "021-5555-0101"}},
			GridWorker: gw},
		{ID: "sos-0003", Kind: devices.KindSOSButton, Location: loc("4号楼", "4-1-302"),
			Resident: devices.Resident{Name: "刘淑珍", BirthYear: 1935, LivesAlone: false, Language: "普通话"},
			Contacts: []devices.Contact{{Name: "刘军", Relation: "儿子", Phone: "139-0000-0003"}}, GridWorker: gw},
		{ID: "gas-0001", Kind: devices.KindGas, Location: loc("3号楼", "3-2-502"),
			Resident: devices.Resident{Name: "王秀英", BirthYear: 1938, LivesAlone: true}, GridWorker: gw},
	}
}

// TestBrowserConsole drives the duty-room console in real headless Chromium
// against the real hub (embedded broker, SQLite, InfluxDB), as the issue's
// browser checks ask: log in; a press on screen within a second with its
// sound; one operator's accept seen at once by another; dispatch and resolve
// through the page; the live connection cut and restored with nothing missed
// or shown twice; an installer registering a device whose first message is
// accepted; screenshots of the queue and of an alert's detail.
func TestBrowserConsole(t *testing.T) {
	testenv.ToolPath(t, "chromium") // skip or fail before starting anything else
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	createUser(t, m, base, admin, "op2", accounts.RoleOperator, consolePassword)
	createUser(t, m, base, admin, "inst1", accounts.RoleInstaller, consolePassword)
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, browserDevices()))

	// The first console reaches the hub through a proxy the test can cut.
	proxy := newCutProxy(t, m.HTTPAddr())
	op1 := newPage(t, "http://"+proxy.Addr(), "op1")
	op2 := newPage(t, base, "op2")
	parent := t

	var first int64 // the first press's alert
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"login", func(t *testing.T) {
			// A wrong password is refused on the page, with a reason.
			op2.submitLogin("op2", "not-the-password")
			op2.waitJS("the login error", `(() => { const e = document.querySelector('#login-error'); return e && !e.hidden && e.textContent.trim() !== '' })()`, waitUI)
			if visible := evalJS[bool](op2, `!document.querySelector('#app').hidden`); visible {
				t.Fatal("the app is shown after a failed login")
			}
			op1.login("op1", consolePassword)
			op2.login("op2", consolePassword)
			for _, p := range []*browserPage{op1, op2} {
				if stale := evalJS[string](p, `document.querySelector('#queue').dataset.stale ?? ''`); stale == "true" {
					t.Errorf("%s: the queue is marked stale while live", p.name)
				}
				if lang := evalJS[string](p, `document.documentElement.lang`); lang != "zh-CN" {
					t.Errorf("%s: page language %q, want zh-CN by default", p.name, lang)
				}
			}
		}},
		{"press on screen within a second with its sound", func(t *testing.T) {
			if n := op1.rows(""); n != 0 {
				t.Fatalf("queue has %d rows before any press", n)
			}
			// Record desktop notifications the page shows.
			evalJS[bool](op1, `(() => {
				const N = window.Notification; window.__notified = [];
				window.Notification = class extends N { constructor(title, o) { super(title, o); window.__notified.push(title + ' | ' + (o?.body ?? '')); } };
				return true })()`)
			if _, err := s.Press("sos-0001"); err != nil {
				t.Fatal(err)
			}
			pressed := time.Now()
			op1.waitJS("the press in the queue with the alarm sounding", `document.querySelector('#queue tr.alert-row[data-kind="sos"]') !== null &&
				window.shouwang?.sound?.playing === true && document.body.dataset.alarm === 'on'`, waitUI)
			took := time.Since(pressed)
			t.Logf("press → row in the queue with the sound playing: %v", took)
			if took > newAlertBound {
				t.Errorf("the press took %v to reach the console with its sound, want at most %v", took, newAlertBound)
			}
			row := evalJS[map[string]string](op1, `({...document.querySelector('#queue tr.alert-row[data-kind="sos"]').dataset})`)
			first = alertIDOf(t, row["alertId"])
			if row["state"] != "new" || row["severity"] != string(alerts.SeverityCritical) || row["level"] != "0" {
				t.Errorf("row = %v, want a new critical alert at escalation level 0", row)
			}
			a := getAlert(t, base, admin, first)
			if a.DeviceID != "sos-0001" || a.State != alerts.StateNew {
				t.Fatalf("alert %d = %+v", first, a)
			}
			op1.waitJS("a desktop notification", `window.__notified.length === 1`, waitUI)
			t.Logf("desktop notification: %s", evalJS[string](op1, `window.__notified[0]`))
			op2.waitJS("the press on the second console", exists(rowSel(first)), waitUI)
			op2.waitJS("the second console's alarm", `window.shouwang?.sound?.playing === true`, waitUI)
		}},
		{"an accept is seen at once by another operator", func(t *testing.T) {
			op1.click(rowSel(first))
			op1.do("open the detail", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#alert-detail[data-alert-id="%d"]`, first))))
			text := evalJS[string](op1, `document.querySelector('#alert-detail').innerText`)
			for _, want := range []string{"王秀英", "3-2-502", "139-0000-0001", "李敏", "138-0000-1111", "sos-0001"} {
				if !strings.Contains(text, want) {
					t.Errorf("the alert's detail does not show %q:\n%s", want, text)
				}
			}
			op1.click("#btn-accept")
			clicked := time.Now()
			op2.waitJS("the accept on the second console", exists(rowSel(first)+`[data-state="accepted"]`), waitUI)
			t.Logf("accept clicked on op1 → accepted on op2's screen: %v", time.Since(clicked))
			for _, p := range []*browserPage{op1, op2} {
				p.waitJS("the alarm to stop", `window.shouwang?.sound?.playing === false && document.body.dataset.alarm === 'off'`, waitUI)
			}
			if a := getAlert(t, base, admin, first); a.State != alerts.StateAccepted || a.Assignee != "op1" {
				t.Fatalf("after the accept: state %s, assignee %q", a.State, a.Assignee)
			}
		}},
		{"dispatch and resolve through the page", func(t *testing.T) {
			op1.choose("#dispatch-to", "120")
			op1.click("#btn-dispatch")
			for _, p := range []*browserPage{op1, op2} {
				p.waitJS("the dispatch", exists(rowSel(first)+`[data-state="dispatched"]`), waitUI)
			}
			op1.choose("#resolve-outcome", string(alerts.OutcomeGenuine))
			op1.typeInto("#note-input", "已送医")
			op1.click("#btn-resolve")
			for _, p := range []*browserPage{op1, op2} {
				p.waitJS("the resolved alert to leave the queue", missing(rowSel(first)), waitUI)
			}
			a := getAlert(t, base, admin, first)
			if a.State != alerts.StateResolved || a.Outcome != alerts.OutcomeGenuine || !strings.Contains(a.DispatchedTo, "120") {
				t.Fatalf("after dispatch and resolve: state %s, outcome %q, dispatched to %q", a.State, a.Outcome, a.DispatchedTo)
			}
		}},
		{"live connection cut at the hub's side and restored", func(t *testing.T) {
			op1.waitJS("the live feed", exists(`#conn-status[data-state="live"]`), waitUI)
			proxy.Cut()
			cut := time.Now()
			op1.waitJS("the cut to show", `document.querySelector('#conn-status').dataset.state !== 'live'`, waitUI)
			t.Logf("connection cut → shown on the page: %v", time.Since(cut))
			op1.waitJS("the queue marked stale and the banner", `document.querySelector('#queue').dataset.stale === 'true' &&
				!document.querySelector('#conn-banner').hidden`, waitUI)

			if _, err := s.Press("sos-0002"); err != nil {
				t.Fatal(err)
			}
			var second int64
			eventually(t, waitUI, "the second press's alert", func() (bool, string) {
				as := findAlerts(t, base, admin, "sos-0002")
				if len(as) == 1 {
					second = as[0].ID
				}
				return len(as) == 1, fmt.Sprintf("%d alerts", len(as))
			})
			op2.waitJS("the second press on the console that was not cut", exists(rowSel(second)), waitUI)
			if n := op1.rows(fmt.Sprintf(`[data-alert-id="%d"]`, second)); n != 0 {
				t.Fatalf("the cut console shows the new alert %d times while cut", n)
			}
			if state := evalJS[string](op1, `document.querySelector('#conn-status').dataset.state`); state == "live" {
				t.Fatal("the cut console says live")
			}

			proxy.Restore()
			restored := time.Now()
			op1.waitJS("the feed back", exists(`#conn-status[data-state="live"]`), 60*time.Second)
			op1.waitJS("the alert raised meanwhile", exists(rowSel(second)), waitUI)
			t.Logf("connection restored → live with the missed alert: %v", time.Since(restored))
			if n := op1.rows(fmt.Sprintf(`[data-alert-id="%d"]`, second)); n != 1 {
				t.Fatalf("the alert raised during the cut is shown %d times", n)
			}
			if n, open := op1.rows(""), openAlerts(t, base, admin); n != open {
				t.Fatalf("after the reconnect the queue has %d rows for %d open alerts: %s", n, open, op1.state())
			}
			if stale := evalJS[string](op1, `document.querySelector('#queue').dataset.stale ?? ''`); stale == "true" {
				t.Error("the queue is still marked stale after the reconnect")
			}
			op1.waitJS("the alarm for the missed alert", `window.shouwang?.sound?.playing === true`, waitUI)
		}},
		{"browser offline and back (DevTools network emulation)", func(t *testing.T) {
			op1.waitJS("the live feed", exists(`#conn-status[data-state="live"]`), waitUI)
			before := op1.rows("")
			op1.setOffline(true)
			op1.waitJS("the page to notice", `document.querySelector('#conn-status').dataset.state !== 'live' &&
				document.querySelector('#queue').dataset.stale === 'true'`, waitUI)
			if _, err := s.Press("sos-0003"); err != nil {
				t.Fatal(err)
			}
			var third int64
			eventually(t, waitUI, "the third press's alert", func() (bool, string) {
				as := findAlerts(t, base, admin, "sos-0003")
				if len(as) == 1 {
					third = as[0].ID
				}
				return len(as) == 1, fmt.Sprintf("%d alerts", len(as))
			})
			op2.waitJS("the third press on the console that stayed online", exists(rowSel(third)), waitUI)
			if n := op1.rows(""); n != before {
				t.Fatalf("the offline console's queue changed from %d to %d rows while offline", before, n)
			}
			op1.setOffline(false)
			op1.waitJS("the feed back", exists(`#conn-status[data-state="live"]`), 60*time.Second)
			op1.waitJS("the alert raised meanwhile", exists(rowSel(third)), waitUI)
			if n := op1.rows(fmt.Sprintf(`[data-alert-id="%d"]`, third)); n != 1 {
				t.Fatalf("the alert raised while offline is shown %d times", n)
			}
			if n, open := op1.rows(""), openAlerts(t, base, admin); n != open {
				t.Fatalf("back online the queue has %d rows for %d open alerts: %s", n, open, op1.state())
			}
		}},
		{"an installer registers a device that then works", func(t *testing.T) {
			inst := newPage(t, base, "inst1")
			inst.login("inst1", consolePassword)
			inst.click(`[data-view="devices"]`)
			inst.do("the register form", chromedp.WaitVisible(chromedp.CSS("#device-form")))
			inst.fill("#device-form", map[string]string{
				"id": "sos-0100", "kind": string(devices.KindSOSButton), "community": "阳光社区", "grid": "网格二",
				"building": "5号楼", "unit": "1单元", "floor": "1", "household": "5-1-101", "resident_name": "李桂兰",
			})
			inst.click("#btn-register")
			inst.do("the new credentials", chromedp.WaitVisible(chromedp.CSS("#new-credentials")))
			user := strings.TrimSpace(evalJS[string](inst, `document.querySelector('#cred-username')?.textContent ?? ''`))
			password := strings.TrimSpace(evalJS[string](inst, `document.querySelector('#cred-password')?.textContent ?? ''`))
			if user != "sos-0100" || len(password) < 16 {
				t.Fatalf("credentials shown: user %q, password of %d characters", user, len(password))
			}
			inst.screenshot("new-credentials")

			if code := getJSON(t, base+"/api/v1/devices/sos-0100", admin, nil); code != 200 {
				t.Fatalf("the registered device is not in the API: %d", code)
			}
			d := &devices.Device{ID: "sos-0100", Kind: devices.KindSOSButton}
			ns, err := sim.New(sim.Config{BrokerURL: "tcp://" + m.BrokerAddr(), EventsOnly: true,
				Devices: []sim.DeviceSpec{{Device: d, Password: password}}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); ns.Run(context.Background()) }()
			defer func() { ns.Close(); <-done }()
			ctx, cancel := context.WithTimeout(context.Background(), waitUI)
			defer cancel()
			if err := ns.WaitConnected(ctx); err != nil {
				t.Fatalf("the new device cannot connect with the credentials the page showed: %v", err)
			}
			if _, err := ns.Press("sos-0100"); err != nil {
				t.Fatal(err)
			}
			var id int64
			eventually(t, waitUI, "an alert from the new device", func() (bool, string) {
				as := findAlerts(t, base, admin, "sos-0100")
				if len(as) == 1 {
					id = as[0].ID
				}
				return len(as) == 1, fmt.Sprintf("%d alerts", len(as))
			})
			op1.waitJS("the new device's alert on the console", exists(rowSel(id)+`[data-kind="sos"]`), waitUI)
			op1.waitJS("the operator's alarm", `window.shouwang.sound.playing === true`, waitUI)
			// The installer's page has the same change, and stays quiet:
			// installers do not answer alerts.
			seq := evalJS[float64](op1, `window.shouwang.live.seq`)
			inst.waitJS("the installer's page to have the change", fmt.Sprintf(`window.shouwang.live.seq >= %v`, seq), waitUI)
			if evalJS[bool](inst, `window.shouwang.sound.playing`) || evalJS[string](inst, `document.body.dataset.alarm || 'off'`) == "on" {
				t.Fatal("the installer's console sounds the alarm")
			}
		}},
		{"screenshots of the queue and an alert's detail", func(t *testing.T) {
			// A gas leak rising through both thresholds, for a chart with
			// the readings before the alarm.
			if err := s.GasLeak(context.Background(), "gas-0001", []float64{1, 1, 2, 2, 3, 4, 6, 9, 12, 18, 26}, 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			var gas int64
			eventually(t, waitUI, "the gas alert", func() (bool, string) {
				as := findAlerts(t, base, admin, "gas-0001")
				if len(as) == 1 && as[0].Kind == alerts.KindGasHigh {
					gas = as[0].ID
				}
				return gas != 0, fmt.Sprintf("%+v", as)
			})
			eventually(t, 30*time.Second, "the leak's readings in InfluxDB", func() (bool, string) {
				n := influx.Count(t, `SELECT count(lel) FROM gas WHERE device = 'gas-0001'`)
				return n >= 11, fmt.Sprint(n)
			})
			op1.waitJS("the gas alert in the queue", exists(rowSel(gas)+`[data-severity="critical"]`), waitUI)
			op1.waitJS("the four open alerts", `document.querySelectorAll('#queue tr.alert-row').length === 4`, waitUI)
			// Worst severity first, then the oldest first.
			order := evalJS[[]string](op1, `[...document.querySelectorAll('#queue tr.alert-row')].map(r => r.dataset.severity + ' ' + r.dataset.opened)`)
			if !slices.IsSortedFunc(order, func(x, y string) int {
				sx, ox, _ := strings.Cut(x, " ")
				sy, oy, _ := strings.Cut(y, " ")
				rank := map[string]int{"critical": 0, "major": 1, "minor": 2}
				if c := cmp.Compare(rank[sx], rank[sy]); c != 0 {
					return c
				}
				nx, _ := strconv.ParseInt(ox, 10, 64)
				ny, _ := strconv.ParseInt(oy, 10, 64)
				return cmp.Compare(nx, ny)
			}) {
				t.Errorf("the queue is not ordered by severity, then age: %q", order)
			}
			evalJS[bool](op1, `document.querySelector('#alert-detail').hidden || (document.querySelector('#detail-close').click(), true)`)
			op1.do("the detail closed", chromedp.WaitNotVisible(chromedp.CSS("#alert-detail")))
			queue := op1.screenshot("queue")

			op1.click(rowSel(gas))
			op1.do("the gas alert's detail", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#alert-detail[data-alert-id="%d"]`, gas))))
			op1.waitJS("the telemetry chart", `document.querySelector('#telemetry-chart canvas') !== null`, waitUI)
			gasShot := op1.screenshot("alert-detail-gas")

			second := findAlerts(t, base, admin, "sos-0002")[0].ID
			op1.click(rowSel(second))
			op1.do("the sos alert's detail", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#alert-detail[data-alert-id="%d"]`, second))))
			op1.waitJS("the timeline", `document.querySelectorAll('#timeline li').length >= 1`, waitUI)
			sosShot := op1.screenshot("alert-detail-sos")
			if queue == "" || gasShot == "" || sosShot == "" {
				t.Fatal("a screenshot was not saved")
			}
			t.Logf("screenshots: %s, %s, %s", queue, gasShot, sosShot)
		}},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			// The consoles report failures through the running step.
			op1.t, op2.t = t, t
			defer func() { op1.t, op2.t = parent, parent }()
			st.run(t)
		})
		if !ok {
			return // later steps build on this one
		}
	}
}

// openAlerts counts the hub's open alerts (new, accepted, dispatched; tests
// left out, as the console's queue leaves them out).
func openAlerts(t *testing.T, base, token string) int {
	t.Helper()
	var out alertList
	if code, body := apiCall(t, "GET", base+"/api/v1/alerts?state=open&limit=1000", token, nil, &out); code != 200 {
		t.Fatalf("list alerts: %d %s", code, body)
	}
	return len(out.Alerts)
}
