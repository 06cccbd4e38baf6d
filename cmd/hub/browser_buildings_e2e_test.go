package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserBuildingsAndIncidents: the duty room's view of buildings,
// incidents and check-ins in Chromium against the real hub, broker and
// store, on a 1920×1080 wall screen and a 360×740 phone, in Chinese and
// English. Five smoke alarms in 5号楼 make one incident: the overview's
// tile of 5号楼 is red, 3号楼's (a detector's fault, another gone offline)
// amber; 5号楼 opens as floors × units with the five households in alarm;
// the queue shows the incident as one row and none of its alerts; its
// detail has the evacuation list, living alone first; accepting it there
// accepts the five. The check-ins list shows the overdue resident first,
// then those waiting, the one staff paused and those who checked in. No
// view scrolls sideways on the phone; every step is a screenshot in the
// artifacts.
func TestBrowserBuildingsAndIncidents(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	data := t.TempDir()
	now := time.Now().UTC()
	start, end := now.Add(-30*time.Minute).Format("15:04"), now.Add(2*time.Hour).Format("15:04")
	if start > now.Format("15:04") {
		start = "00:00"
	}
	if end < now.Format("15:04") {
		end = "24:00"
	}
	rules := writeRules(t, fmt.Sprintf(`{"checkin": {"lives_alone": true, "start": %q, "end": %q, "zone": "UTC"}}`, start, end))

	b5 := residentialBuilding("b5", "5号楼", 6, 2, 2)
	b3 := residentialBuilding("b3", "3号楼", 4, 2, 2)
	b8 := residentialBuilding("b8", "8号楼", 5, 3, 1)
	ci := checkinHouseholds()
	overdue := &devices.Device{ID: "ci-overdue", Kind: devices.KindSOSButton,
		Location:   devices.Location{Community: "阳光社区", Grid: "网格一", Building: "7号楼", Unit: "2单元", Floor: "6层", Household: "2-601"},
		Resident:   devices.Resident{Name: "赵奶奶", BirthYear: 1933, LivesAlone: true, CareNotes: "耳背，敲门要用力"},
		GridWorker: devices.GridWorker{Name: "王网格", Phone: "13700000001"}}
	all := slices.Concat(b5, b3, b8, ci)
	// Registered before today's window, so it is judged today; 赵奶奶 two
	// days ago, her own window today already over: overdue at the start.
	startAt, _ := time.Parse("15:04", start)
	before := time.Date(now.Year(), now.Month(), now.Day(), startAt.Hour(), startAt.Minute(), 0, 0, time.UTC).Add(-time.Minute)
	pw := preRegister(t, data, "", all, before)
	// Two registrations an installer left incomplete, never heard from: a
	// second detector of 3号楼's 1-101 without its unit, and a detector
	// without a building.
	dup := &devices.Device{ID: "b3-dup", Kind: devices.KindSmoke,
		Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "3号楼", Floor: "1层", Household: "1-101"}}
	loose := &devices.Device{ID: "loose-1", Kind: devices.KindSmoke,
		Location: devices.Location{Community: "阳光社区", Grid: "网格一", Household: "临时-1"}}
	preRegister(t, data, "", []*devices.Device{dup, loose}, before)
	preRegister(t, data, "", []*devices.Device{overdue}, now.Add(-48*time.Hour))
	withStore(t, data, "", func(s *sqlstore.Store) {
		s0, e0 := alerts.Clock(0), alerts.Clock(15) // 00:00–00:15 UTC
		if err := s.SetCheckinPlan(context.Background(), alerts.CheckinPlan{Household: overdue.Location.HouseholdKey(),
			Start: &s0, End: &e0, UpdatedBy: "admin", UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	})
	m := startHub(t, hubOptions{Influx: influx, DataDir: data, Args: []string{"-rules", rules}})
	base := "http://" + m.HTTPAddr()
	token := login(t, base)
	specs := func(ds []*devices.Device) []sim.DeviceSpec {
		out := make([]sim.DeviceSpec, len(ds))
		for i, d := range ds {
			out[i] = sim.DeviceSpec{Device: d, Password: pw}
		}
		return out
	}
	gone, _ := runDevices(t, "tcp://"+m.BrokerAddr(), specs([]*devices.Device{b3[15]}))
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), specs(slices.DeleteFunc(slices.Clone(all), func(d *devices.Device) bool { return d == b3[15] })))
	eventually(t, 20*time.Second, "3号楼's last detector heard", func() (bool, string) {
		var d struct{ Device devices.Device }
		getJSON(t, base+"/api/v1/devices/"+b3[15].ID, token, &d)
		return d.Device.Health.Online, "not yet"
	})
	gone.Close() // then it goes

	burning := []string{"b5-009", "b5-013", "b5-014", "b5-017", "b5-021"}
	for _, id := range burning {
		if _, err := s.Smoke(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Publish("b3-002", devices.ChannelEvent, fmt.Appendf(nil, `{"seq":900,"ts":%d,"type":"fault"}`, time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkin("ci-press"); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish("ci-motion", devices.ChannelTelemetry, fmt.Appendf(nil, `{"seq":1,"ts":%d,"occupancy":1}`, time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}
	if code, body := apiCall(t, "PUT", base+"/api/v1/checkins/plan", token, map[string]any{
		"household": ci[3].Location.HouseholdKey(), "quiet_until": now.Add(96 * time.Hour), "quiet_note": "住院治疗",
	}, nil); code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	var inc *alerts.Alert
	eventually(t, 30*time.Second, "the incident of 5号楼, 赵奶奶's no_activity and 3号楼's fault", func() (bool, string) {
		incs := alertsOfKind(t, base, token, alerts.KindBuildingAlarm)
		na, fault := alertsOfKind(t, base, token, alerts.KindNoActivity), alertsOfKind(t, base, token, alerts.KindFault)
		if len(incs) == 1 {
			inc = incs[0]
		}
		return len(incs) == 1 && incs[0].Incident.Alerts == 5 && len(na) == 1 && len(fault) == 1,
			fmt.Sprintf("%d incidents, %d no_activity, %d faults", len(incs), len(na), len(fault))
	})

	t.Run("wall", func(t *testing.T) {
		p := newPage(t, base, "wall")
		p.do("a wall screen", chromedp.EmulateViewport(1920, 1080), chromedp.Reload())
		p.login("admin", adminPassword)
		p.waitJS("the queue", exists(`#queue tr.alert-row`), waitUI)
		p.waitJS("the incident's row", exists(rowSel(inc.ID)), waitUI)
		if n := evalJS[int](p, `document.querySelectorAll('#queue tr.alert-row[data-kind="smoke"]').length`); n != 0 {
			t.Errorf("the queue shows %d smoke alerts of the incident beside it", n)
		}
		p.screenshot("queue")

		p.click(`[data-view="overview"]`)
		p.waitJS("the buildings on the overview", `document.querySelectorAll('#ov-buildings .bld-tile').length === 5`, waitUI)
		states := evalJS[string](p, `[...document.querySelectorAll('#ov-buildings .bld-tile')].map(e => e.dataset.building + ':' + e.dataset.state).join(' ')`)
		for _, want := range []string{"3号楼:fault", "5号楼:alarm", "8号楼:ok"} {
			if !strings.Contains(states, want) {
				t.Errorf("tiles %s lack %s", states, want)
			}
		}
		if got := evalJS[string](p, `[...document.querySelectorAll('#ov-buildings .bld-tile:last-child[data-no-building="true"]:not([data-building]) span')].slice(0, 2).map(e => e.textContent).join('|')`); got != "未登记楼栋|1 户" {
			t.Errorf("the last tile (households without a building): %q", got)
		}
		p.screenshot("overview")

		p.click(`#ov-buildings .bld-tile[data-building="5号楼"]`)
		p.waitJS("5号楼 as floors × units", `document.querySelectorAll('#bld-grid .bld-hh').length === 24 && !document.querySelector('#view-buildings').hidden`, waitUI)
		alarmed := evalJS[string](p, `[...document.querySelectorAll('#bld-grid .bld-hh[data-state="alarm"]')].map(e => e.querySelector('.bld-hh-no').textContent).sort().join(' ')`)
		if alarmed != "1-301 1-401 1-402 1-501 1-601" {
			t.Errorf("households in alarm: %q", alarmed)
		}
		if floors := evalJS[string](p, `[...document.querySelectorAll('#bld-grid .bld-floor')].map(e => e.textContent).join(',')`); floors != "6层,5层,4层,3层,2层,1层" {
			t.Errorf("floors %s", floors)
		}
		p.checkLanguage("zh", "building")

		p.click(`#bld-tiles .bld-tile[data-building="3号楼"]`)
		p.waitJS("3号楼 with a fault and a detector offline", `document.querySelectorAll('#bld-grid .bld-hh[data-state="fault"]').length === 1 && document.querySelectorAll('#bld-grid .bld-hh[data-state="offline"]').length === 1`, waitUI)
		// 1-101 once, its detector without a unit named on it.
		if got := evalJS[string](p, `document.querySelectorAll('#bld-grid .bld-hh').length + ' ' + [...document.querySelectorAll('#bld-grid .bld-hh')].filter(e => e.querySelector('.bld-hh-no').textContent === '1-101').map(e => e.querySelector('.tag-incomplete')?.textContent).join('|')`); got != "16 登记不全：b3-dup" {
			t.Errorf("3号楼's cells and 1-101's: %q, want 16 cells and 1-101 once, naming b3-dup", got)
		}
		p.checkLanguage("zh", "building-3", "b3-dup")
		p.screenshot("building-3")

		p.click(`[data-view="queue"]`)
		p.click(rowSel(inc.ID))
		p.waitJS("the incident's detail with its evacuation list", `!document.querySelector('#incident-card').hidden && document.querySelectorAll('#incident-card .evac-list li').length === 24`, waitUI)
		if first := evalJS[string](p, `document.querySelector('#incident-card .evac-list li .tag-reason').textContent`); first != "独居" {
			t.Errorf("the first household's reason: %q", first)
		}
		if shown := evalJS[bool](p, `document.querySelector('#alert-detail .card-resident').offsetParent !== null`); shown {
			t.Error("an incident's detail shows a resident's card")
		}
		p.checkLanguage("zh", "incident")
		p.scrollTo("#evacuation")
		p.screenshot("incident-evacuation")

		p.click("#btn-accept")
		p.waitJS("the incident accepted", `document.querySelector('#alert-detail').dataset.state === 'accepted'`, waitUI)
		eventually(t, 10*time.Second, "the five alarms accepted with it", func() (bool, string) {
			n := 0
			for _, a := range alertsOfKind(t, base, token, alerts.KindSmoke) {
				if a.State == alerts.StateAccepted && a.IncidentID == inc.ID {
					n++
				}
			}
			return n == 5, fmt.Sprintf("%d accepted", n)
		})
		p.waitJS("the card redrawn as accepted", `document.querySelector('#d-state').textContent === '已接警'`, waitUI)
		p.click(`#incident-card [data-device-id="b5-009"] button`)
		p.waitJS("the linked alert, pointing at its incident", fmt.Sprintf(`document.querySelector('#incident-card .inc-linked') !== null && document.querySelector('#alert-detail').dataset.state === 'accepted' && document.querySelector('#alert-detail').dataset.alertId !== '%d'`, inc.ID), waitUI)
		p.waitJS("its timeline says it followed the incident", `[...document.querySelectorAll('#timeline li')].some(li => li.textContent.includes('随事件'))`, waitUI)
		p.checkLanguage("zh", "linked-alert")

		p.click(`[data-view="checkins"]`)
		p.waitJS("the check-ins", `document.querySelectorAll('#ci-table tbody tr.ci-row').length >= 13`, waitUI)
		rows := evalJS[string](p, `[...document.querySelectorAll('#ci-table tbody tr.ci-row')].map(e => e.dataset.state).join(',')`)
		if !strings.HasPrefix(rows, "overdue,waiting") || !strings.HasSuffix(rows, "waiting,quiet,checked_in,checked_in") {
			t.Errorf("check-in rows in order: %s", rows)
		}
		p.screenshot("checkins")

		p.click("#lang-toggle")
		p.waitJS("English", `document.documentElement.lang === 'en'`, waitUI)
		if got := evalJS[string](p, `document.querySelector('#ci-table tbody tr.ci-row .ci-state').textContent`); got != "overdue" {
			t.Errorf("the overdue row in English: %q", got)
		}
		p.screenshot("checkins-en")
		p.click(`[data-view="buildings"]`)
		p.click(`#bld-tiles .bld-tile[data-building="5号楼"]`)
		p.waitJS("5号楼 in English", `document.querySelectorAll('#bld-grid .bld-hh').length === 24 && document.querySelector('#bld-legend').textContent.includes('alarm')`, waitUI)
		if got := evalJS[string](p, `[...document.querySelectorAll('#bld-tiles .bld-tile')].map(e => e.querySelector('.bld-tile-count').textContent).join(',')`); got != "16 households,24 households,7 households,15 households,1 household" {
			t.Errorf("the tiles' counts in English: %q", got)
		}
		p.checkLanguage("en", "building")
		p.click(`[data-view="queue"]`)
		p.click(rowSel(inc.ID))
		p.waitJS("the incident in English", `document.querySelectorAll('#incident-card .evac-list li').length === 24 && document.querySelector('#incident-card h3').textContent === 'Incident'`, waitUI)
		p.checkLanguage("en", "incident")
	})

	t.Run("phone", func(t *testing.T) {
		p := newPage(t, base, "phone360")
		p.do("a phone", chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)), chromedp.Reload())
		p.login("admin", adminPassword)
		p.waitJS("the queue", exists(rowSel(inc.ID)), waitUI)
		p.fits("queue")
		p.click(`[data-view="buildings"]`)
		p.waitJS("the tiles", `document.querySelectorAll('#bld-tiles .bld-tile').length === 5`, waitUI)
		p.fits("buildings")
		p.click(`#bld-tiles .bld-tile[data-building="5号楼"]`)
		p.waitJS("5号楼", `document.querySelectorAll('#bld-grid .bld-hh').length === 24`, waitUI)
		p.scrollTo("#bld-detail")
		p.fits("building")
		p.click(`[data-view="queue"]`)
		p.click(rowSel(inc.ID))
		p.waitJS("the incident", `document.querySelectorAll('#incident-card .evac-list li').length === 24`, waitUI)
		p.fits("incident")
		p.scrollTo("#evacuation")
		p.fits("incident-evacuation")
		p.click("#detail-close")
		p.click(`[data-view="checkins"]`)
		p.waitJS("the check-ins", `document.querySelectorAll('#ci-table tbody tr.ci-row').length >= 13`, waitUI)
		p.fits("checkins")
		p.click("#lang-toggle")
		p.waitJS("English", `document.documentElement.lang === 'en'`, waitUI)
		p.fits("checkins-en")
		p.click(`[data-view="buildings"]`)
		p.fits("buildings-en")
	})
}

// scrollTo scrolls the element of selector into view.
func (p *browserPage) scrollTo(selector string) {
	p.t.Helper()
	evalJS[bool](p, fmt.Sprintf(`(document.querySelector(%q).scrollIntoView({block: 'start'}), true)`, selector))
}
