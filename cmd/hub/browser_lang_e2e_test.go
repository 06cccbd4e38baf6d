package main

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// visibleTextJS collects what a reader sees on the page: every visible text
// node, the options of visible selects, and the placeholders, titles,
// labels and alternative texts of visible elements. What someone registered
// or typed (names, addresses, notes, device IDs) is marked translate="no"
// and is shown as it is in either language, so it is left out.
const visibleTextJS = `(() => {
	const skip = (el) => el.closest('[translate="no"]') !== null;
	const visible = (el) => {
		const s = getComputedStyle(el);
		return s.visibility !== 'hidden' && el.getClientRects().length > 0;
	};
	const out = [];
	const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	while (w.nextNode()) {
		const n = w.currentNode, el = n.parentElement, txt = n.nodeValue.trim();
		if (!txt || !el || ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'].includes(el.tagName) || skip(el)) continue;
		if (el.tagName === 'OPTION' || el.tagName === 'OPTGROUP') {
			const sel = el.closest('select');
			if (sel && visible(sel)) out.push(txt);
			continue;
		}
		if (visible(el)) out.push(txt);
	}
	for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], img[alt], input[type="button"], input[type="submit"]')) {
		if (skip(el) || !visible(el)) continue;
		for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
			const v = (el.getAttribute(a) || '').trim();
			if (v) out.push(v);
		}
		if (el.tagName === 'INPUT' && (el.type === 'button' || el.type === 'submit') && el.value) out.push(el.value);
	}
	out.push(document.title);
	return out;
})()`

var (
	// Chinese characters, CJK punctuation and full-width forms.
	hanRE = regexp.MustCompile(`[\p{Han}\x{3000}-\x{303F}\x{FF00}-\x{FFEF}]`)
	// A token of Latin letters, digits and the signs words and units are
	// made of.
	latinTokenRE = regexp.MustCompile(`[A-Za-z0-9µ°%₂³./_+-]*[A-Za-z][A-Za-z0-9µ°%₂³./_+-]*`)
	digitRE      = regexp.MustCompile(`[0-9]`)
)

// latinInChinese are the Latin words a Chinese page may show: units and
// names of protocols, products and keys that are written so in Chinese.
var latinInChinese = map[string]bool{
	"MQTT": true, "CSV": true, "HTTP": true, "HTTPS": true, "IEEE": true, "Zigbee2MQTT": true, "Shelly": true,
	"Webhook": true, "Esc": true, "j/k": true,
	"ppm": true, "%LEL": true, "LEL": true, "%RH": true, "%/m": true, "°C": true, "dBm": true, "µg/m³": true, "mm": true, "V": true,
	"TVOC": true, "CO₂": true, "PM2.5": true, "PM10": true, "SHA-256": true, "ID": true, "URL": true, "JSON": true,
}

// languageLeaks returns what of texts is not in the page's language: any
// Chinese in English; in Chinese, any Latin word but the allowed ones (a
// token with a digit in it — an ID, a model, a figure — is not a word).
func languageLeaks(lang string, texts []string) []string {
	var leaks []string
	for _, s := range texts {
		switch lang {
		case "en":
			if hanRE.MatchString(s) {
				leaks = append(leaks, s)
			}
		case "zh":
			for _, tok := range latinTokenRE.FindAllString(s, -1) {
				tok = strings.Trim(tok, "./_+-")
				// A single letter is a key (the key caps of the actions).
				if len(tok) <= 1 || latinInChinese[tok] || digitRE.MatchString(tok) {
					continue
				}
				leaks = append(leaks, fmt.Sprintf("%q in %q", tok, s))
				break
			}
		}
	}
	slices.Sort(leaks)
	return slices.Compact(leaks)
}

// usernames are the test's console accounts: data wherever the page shows
// them (a dispatch's choice of grid worker names them in plain text).
var usernames = []string{"zhang", "op1", "sup1", "admin"}

// checkLanguage fails the test with what of the page's visible text is not
// in lang, or if the view scrolls sideways, and keeps a screenshot of it.
// Data shown in a plain-text message (a toast) is left out of the check.
func (p *browserPage) checkLanguage(lang, view string, data ...string) {
	p.t.Helper()
	evalAsync[bool](p, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	texts := evalJS[[]string](p, visibleTextJS)
	for i := range texts {
		for _, d := range append(data, usernames...) {
			texts[i] = strings.ReplaceAll(texts[i], d, "")
		}
	}
	shot := p.screenshot(lang + "-" + p.name + "-" + view)
	if got := evalJS[string](p, overflowJS); got != "" {
		p.t.Errorf("%s, %s in %s scrolls sideways: %s [screenshot %s]", p.name, view, lang, got, shot)
	}
	if leaks := languageLeaks(lang, texts); len(leaks) > 0 {
		p.t.Errorf("%s, %s in %s: %d texts not in the page's language: %s [screenshot %s]", p.name, view, lang, len(leaks),
			strings.Join(leaks, "; "), shot)
	}
	if len(texts) < 5 {
		p.t.Errorf("%s, %s in %s: only %d texts seen: %q", p.name, view, lang, len(texts), texts)
	}
}

// TestLanguageLeaks checks the checker: the walk of a page must find what
// it is there to find.
func TestLanguageLeaks(t *testing.T) {
	if got := languageLeaks("en", []string{"Accepted by 王强", "3 min", "Gas 12 %LEL"}); len(got) != 1 {
		t.Errorf("en: %q", got)
	}
	if got := languageLeaks("zh", []string{"已接警", "answered_by: op1", "2m0s", "燃气 12 %LEL", "PM2.5 超标", "型号 HS1SA-E", "按 Esc 关闭"}); len(got) != 1 ||
		!strings.Contains(got[0], "answered_by") {
		t.Errorf("zh: %q", got)
	}
}

// TestBrowserLanguages walks every view of the console with data in it, in
// Chinese and in English on a 1920-px wall screen (and a grid worker's
// 360-px phone), and finds no text of the other language and no view
// scrolling sideways: the
// login page; the queue with a new escalated alert, a gas leak, a task, a
// follow-up due and an alert to review; each of those alerts' details —
// escalations, notifications delivered and failed, device acks, the loop's
// steps, a photo, the chart — and a closed one opened from a
// notification's link; the devices view with a bridge's devices, a
// device's panel with a refusal, a device's form and its new credentials,
// and a refused registration's error; the overview with its figures,
// channels and a silent detector; a channel's test message; the monthly
// report; the buildings, a building's households and the check-ins; and a
// grid worker's phone with its task. What people registered
// or typed is marked as data and left as it is.
func TestBrowserLanguages(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	pr := newProviders(t)
	rules := writeRules(t, `{"escalation": {"critical": {"t1": "2s", "t2": "4s"}},
		"supervision": {"smoke": {"heartbeat": "1s", "reporting": "3s"}}}`)
	m := startHub(t, hubOptions{Influx: testenv.Influx(t), Args: []string{"-rules", rules, "-notify", pr.notifyConfig(t)}})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	op, sup, gw := loopAccounts(t, m, base, admin)

	ds := browserDevices()
	ds[0].Contacts[0].NotifySOS = true
	ds = append(ds, &devices.Device{ID: "smoke-0001", Kind: devices.KindSmoke, Vendor: "海曼", Model: "HS1SA",
		Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "4号楼", Unit: "1单元", Household: "4-1-302"}})
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, ds))
	if err := s.Publish("smoke-0001", devices.ChannelTelemetry, fmt.Appendf(nil, `{"seq":1,"ts":%d,"smoke":0.1,"temperature":22,"battery":95}`,
		time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}

	// A Zigbee2MQTT bridge with a device reported and not bound, and one
	// bound whose malformed message was refused.
	var created struct{ Password string }
	bridge := devices.Device{ID: "zb-1", Kind: devices.KindGateway, Source: devices.SourceZigbee2MQTT, Address: "zigbee2mqtt",
		Location: devices.Location{Community: "阳光社区", Building: "3号楼"}}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", admin, bridge, &created); code != http.StatusCreated {
		t.Fatalf("register the bridge: %d", code)
	}
	br := connectBridge(t, "tcp://"+m.BrokerAddr(), "zb-1", created.Password, "zigbee2mqtt")
	br.publish("bridge/devices", bridgeDevices([3]string{ieeeSmoke, kitchen, "HS1SA-E"}, [3]string{ieeeGas, "3-2-502/gas", "HS1CG"}), true)
	// Registered once the hub has saved the bridge's list, which gives the
	// device its model (as an installer binds what the page lists).
	eventually(t, waitUI, "the bridge's devices discovered", func() (bool, string) {
		var out struct{ Devices []devices.Discovered }
		api(t, http.MethodGet, base+"/api/v1/devices/discovered?gateway=zb-1", admin, nil, &out)
		return len(out.Devices) == 2, fmt.Sprintf("%+v", out.Devices)
	})
	bound := devices.Device{ID: "gas-z1", Kind: devices.KindGas, Source: devices.SourceZigbee2MQTT, Gateway: "zb-1", Address: ieeeGas,
		Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "3号楼", Household: "3-2-502"}}
	if code := api(t, http.MethodPost, base+"/api/v1/devices", admin, bound, nil); code != http.StatusCreated {
		t.Fatalf("register the bound device: %d", code)
	}
	eventually(t, waitUI, "the bound device refused a malformed message", func() (bool, string) {
		br.publish("3-2-502/gas", `{"gas":`, false)
		rs := refusalsOf(t, base, admin, "gas-z1")
		return hasReason(rs, devices.ReasonMalformed), fmt.Sprint(rs)
	})
	if err := strangerConnect("tcp://"+m.BrokerAddr(), "sos-9999"); err == nil {
		t.Fatal("a stranger connected")
	}

	// The alerts: two presses nobody accepts at first (both escalate to the
	// street's leaders; WeCom is down for the first attempt), a third
	// dispatched to 120 and resolved (its follow-up is due, its review
	// waits), a gas leak, and the silent smoke detector.
	press := func(id string) int64 {
		t.Helper()
		if _, err := s.Press(id); err != nil {
			t.Fatal(err)
		}
		var aid int64
		eventually(t, waitUI, id+"'s alert", func() (bool, string) {
			for _, a := range findAlerts(t, base, admin, id) {
				if a.Kind == alerts.KindSOS {
					aid = a.ID
				}
			}
			return aid != 0, ""
		})
		return aid
	}
	step := func(token string, id int64, action string, body any) {
		t.Helper()
		if code, resp := apiCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/%s", base, id, action), token, body, nil); code != 200 {
			t.Fatalf("%s %d: %d %s", action, id, code, resp)
		}
	}
	closed, task := press("sos-0001"), press("sos-0003")
	for _, id := range []int64{closed, task} {
		eventually(t, 30*time.Second, "level 2, everyone told", func() (bool, string) {
			a := getAlert(t, base, admin, id)
			return a.EscalationLevel == 2 && timelineCount(a, alerts.TimelineNotifyDelivered) >= 3,
				fmt.Sprintf("level %d, %d delivered", a.EscalationLevel, timelineCount(a, alerts.TimelineNotifyDelivered))
		})
	}
	step(op, closed, "accept", nil)
	step(op, closed, "dispatch", map[string]string{"worker": "zhang", "note": "请上门查看"})
	step(gw, closed, "take", nil)
	step(gw, closed, "arrive", nil)
	postPhoto(t, base, gw, closed)
	step(gw, closed, "resolve", map[string]string{"outcome": "genuine", "note": "老人摔倒，已扶起"})
	step(gw, closed, "followup", map[string]string{"method": "visit", "result": "resident_ok", "evaluation": "satisfied"})
	step(sup, closed, "close", map[string]any{"rating": 4, "note": "处置及时"})
	step(op, task, "accept", nil)
	step(op, task, "dispatch", map[string]string{"worker": "zhang"})
	step(gw, task, "take", nil)

	due := press("sos-0002")
	step(op, due, "accept", nil)
	step(op, due, "dispatch", map[string]string{"to": "120", "note": "疑似中风"})
	step(op, due, "resolve", map[string]string{"outcome": "genuine", "note": "已送医"})
	step(op, due, "note", map[string]string{"note": "家属已到医院"})

	if err := s.GasLeak(t.Context(), "gas-0001", []float64{2, 4, 8, 14, 22, 31, 31, 31, 31}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var gas int64
	eventually(t, waitUI, "the gas alert", func() (bool, string) {
		for _, a := range findAlerts(t, base, admin, "gas-0001") {
			if a.Kind == alerts.KindGasHigh {
				gas = a.ID
			}
		}
		return gas != 0, ""
	})
	step(op, gas, "note", map[string]string{"note": "已电话通知燃气公司"})
	eventually(t, 30*time.Second, "the smoke detector silent", func() (bool, string) {
		for _, a := range findAlerts(t, base, admin, "smoke-0001") {
			if a.Kind == alerts.KindOffline {
				return true, ""
			}
		}
		return false, "no offline alert"
	})
	t.Logf("alerts: closed %d, task %d, follow-up due %d, gas %d", closed, task, due, gas)

	walk := func(p *browserPage, lang string) {
		t.Helper()
		if got := evalJS[string](p, `document.documentElement.lang`); !strings.HasPrefix(got, lang) {
			t.Fatalf("the page's language is %q, want %s", got, lang)
		}
		p.waitJS("the queue", fmt.Sprintf(`%s && %s`, exists(rowSel(gas)), exists(rowSel(task))), waitUI)
		p.waitJS("the follow-ups and reviews", `!document.querySelector('#followups').hidden && !document.querySelector('#review').hidden`, waitUI)
		p.checkLanguage(lang, "queue")
		for _, c := range []struct {
			name string
			id   int64
			sel  string
		}{
			{"detail-escalated-task", task, `#timeline li[data-action="escalated"]`},
			{"detail-gas", gas, `#telemetry-chart canvas`},
			{"detail-followup-due", due, `#followup-form:not([hidden])`},
		} {
			if c.id == due {
				p.click(fmt.Sprintf(`#followup-list li[data-alert-id="%d"]`, due))
			} else {
				p.click(rowSel(c.id))
			}
			p.waitJS(c.name, fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d' && %s`, c.id, exists(c.sel)), waitUI)
			p.checkLanguage(lang, c.name)
		}
		// The closed alert, from a notification's link.
		evalJS[bool](p, fmt.Sprintf(`(location.hash = '#alert=%d', true)`, closed))
		p.waitJS("the closed alert", fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d' &&
			document.querySelector('#alert-detail').dataset.state === 'closed' && %s`, closed, exists(`#timeline li[data-action="photo"] img`)), waitUI)
		p.checkLanguage(lang, "detail-closed")
		p.click("#detail-close")

		// The keyboard's resolve: first asked for an outcome, then to confirm.
		p.click(rowSel(task))
		p.waitJS("the task", fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d'`, task), waitUI)
		evalJS[bool](p, `(document.activeElement.blur(), true)`)
		p.do("press r", chromedp.KeyEvent("r"))
		p.waitJS("an outcome asked for", `!document.querySelector('#toast').hidden`, waitUI)
		p.checkLanguage(lang, "resolve-needs-outcome")
		p.choose("#resolve-outcome", string(alerts.OutcomeGenuine))
		evalJS[bool](p, `(document.activeElement.blur(), true)`)
		p.do("press r", chromedp.KeyEvent("r"))
		p.waitJS("the confirmation", `!document.querySelector('#confirm').hidden`, waitUI)
		p.checkLanguage(lang, "resolve-confirm")
		p.do("press Escape", chromedp.KeyEvent("\x1b"))
		p.waitJS("the confirmation gone", `document.querySelector('#confirm').hidden`, waitUI)
		evalJS[bool](p, `(document.querySelector('#toast').click(), true)`)

		p.click(`button[data-view="devices"]`)
		p.waitJS("the devices", fmt.Sprintf(`%s && %s && %s`, exists(`#device-table tr[data-device-id="smoke-0001"]`),
			exists(`#discovered-table tr[data-ieee="`+ieeeSmoke+`"]`), exists(`#unregistered-table tbody tr`)), waitUI)
		p.click(`#device-table tr[data-device-id="gas-z1"] button[data-details]`)
		p.waitJS("the device's refusal", exists(`#refusal-list li[data-reason="malformed"]`), waitUI)
		p.click(`#device-table tr[data-device-id="sos-0002"] button[data-edit]`)
		p.checkLanguage(lang, "devices")
		p.click("#btn-cancel-edit")
		newID := "sos-new-" + lang
		p.fill("#device-form", map[string]string{"id": newID, "community": "阳光社区", "household": "5-1-101"})
		p.choose(`#device-form [name="kind"]`, string(devices.KindSOSButton))
		p.click("#btn-register")
		p.waitJS("the new device's credentials", `!document.querySelector('#new-credentials').hidden`, waitUI)
		p.checkLanguage(lang, "devices-credentials", newID)
		p.click("#cred-dismiss")
		// The same ID again: refused, and said so in the page's language.
		p.fill("#device-form", map[string]string{"id": newID, "community": "阳光社区"})
		p.choose(`#device-form [name="kind"]`, string(devices.KindSOSButton))
		p.click("#btn-register")
		p.waitJS("the refusal", `!document.querySelector('#toast').hidden`, waitUI)
		p.checkLanguage(lang, "devices-refused", newID)
		evalJS[bool](p, `(document.querySelector('#toast').click(), true)`)

		p.click(`button[data-view="overview"]`)
		p.waitJS("the overview", `document.querySelector('#figures-table tr.grid-row') !== null &&
			document.querySelector('#channel-list li[data-channel]') !== null && document.querySelector('#silent-devices li') !== null`, waitUI)
		p.checkLanguage(lang, "overview")
		p.click(`#channel-list li[data-channel="leaders"] .channel-test button`)
		p.waitJS("the test message's result", `!document.querySelector('#toast').hidden && document.querySelector('#toast').textContent.includes('leaders')`, waitUI)
		p.checkLanguage(lang, "overview-test-message", "leaders")
		evalJS[bool](p, `(document.querySelector('#toast').click(), true)`)
		p.click("#open-report")
		p.waitJS("the monthly report", `document.querySelectorAll('#report-table tbody tr').length >= 2`, waitUI)
		p.checkLanguage(lang, "report")
		p.click("#report-back")

		p.click(`button[data-view="buildings"]`)
		p.waitJS("the buildings", `document.querySelector('#bld-tiles [data-building="3号楼"]') !== null`, waitUI)
		p.checkLanguage(lang, "buildings")
		p.click(`#bld-tiles [data-building="3号楼"]`)
		p.waitJS("3号楼's households", `!document.querySelector('#bld-detail').hidden && document.querySelector('#bld-grid [data-household]') !== null`, waitUI)
		p.checkLanguage(lang, "building")
		p.click(`button[data-view="checkins"]`)
		p.waitJS("the check-ins", `document.querySelector('#ci-table tr[data-household]') !== null`, waitUI)
		p.checkLanguage(lang, "checkins")
		p.click(`button[data-view="queue"]`)
	}

	// The duty room's supervisor: every view, in Chinese then English.
	p := newPage(t, base, "admin")
	p.do("a wall screen", chromedp.EmulateViewport(1920, 1080))
	p.waitJS("the login page", `!document.querySelector('#login').hidden`, waitUI)
	p.checkLanguage("zh", "login")
	p.click("[data-lang-switch]")
	p.checkLanguage("en", "login")
	p.click("[data-lang-switch]")
	p.login("admin", adminPassword)
	walk(p, "zh")
	p.click("#lang-toggle")
	walk(p, "en")
	p.do("reload", chromedp.Reload())
	p.waitJS("the queue after a reload", exists(rowSel(gas)), waitUI)
	p.checkLanguage("en", "queue-reloaded")

	// The grid worker's phone.
	ph := newPage(t, base, "zhang")
	ph.emulatePhone(360, 740)
	ph.do("reload", chromedp.Reload())
	ph.login("zhang", consolePassword)
	for _, lang := range []string{"zh", "en"} {
		if lang == "en" {
			ph.click("#lang-toggle")
		}
		ph.waitJS("the task", exists(rowSel(task)+" .tag-mine"), waitUI)
		ph.checkLanguage(lang, "tasks")
		ph.click(rowSel(task))
		ph.waitJS("the task's detail", `!document.querySelector('#btn-arrive').hidden`, waitUI)
		ph.checkLanguage(lang, "task")
		ph.click("#detail-close")
	}
}
