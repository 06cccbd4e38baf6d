package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// createGridWorker creates a grid worker's account bound to grids.
func createGridWorker(t *testing.T, base, adminToken, name string, grids ...string) {
	t.Helper()
	var gs []map[string]string
	for _, g := range grids {
		c, grid, _ := cutGrid(g)
		gs = append(gs, map[string]string{"community": c, "grid": grid})
	}
	code, body := apiCall(t, "POST", base+"/api/v1/users", adminToken,
		map[string]any{"username": name, "role": "gridworker", "password": consolePassword, "phone": "138-0000-1111", "grids": gs}, nil)
	if code != 201 {
		t.Fatalf("create grid worker %s: %d %s", name, code, body)
	}
}

func cutGrid(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// photoFile writes a small JPEG as a phone's camera would send it.
func photoFile(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{R: uint8(x), G: uint8(y), B: 160, A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scene.jpg")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserGridWorkerPhone: the street's loop with a grid worker on a
// phone-sized Chromium (360×740, each step also checked at 390×844)
// against the real hub. A resident presses;
// the duty room accepts and sends grid worker zhang; the task reaches
// zhang's phone live, marked as theirs; zhang takes it, arrives, takes a
// photo (kept with the alert, shown on the timeline), resolves it with a
// note, and records the follow-up; a supervisor reviews it with a rating.
// Every step is on the timeline and in the month's figures; no view of the
// phone scrolls sideways; screenshots of each step are in the artifacts.
func TestBrowserGridWorkerPhone(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "op1", accounts.RoleOperator, consolePassword)
	createUser(t, m, base, admin, "sup1", accounts.RoleSupervisor, consolePassword)
	createGridWorker(t, base, admin, "zhang", "阳光社区/网格一")
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, browserDevices()))

	op := newPage(t, base, "op1")
	op.login("op1", consolePassword)
	phone := newPage(t, base, "zhang")
	phone.emulatePhone(phoneSizes[0].w, phoneSizes[0].h) // the smallest
	phone.do("reload", chromedp.Reload())
	phone.login("zhang", consolePassword)
	phone.fitsPhones("gw-login-done")
	if shown := evalJS[bool](phone, `document.querySelector('.nav-btn[data-view="devices"]').offsetParent !== null`); shown {
		t.Error("the grid worker's phone offers the devices view")
	}
	if label := evalJS[string](phone, `document.querySelector('#nav-queue-label').textContent`); label != "任务" {
		t.Errorf("the phone's queue is labelled %q, want 任务", label)
	}

	if _, err := s.Press("sos-0001"); err != nil {
		t.Fatal(err)
	}
	op.waitJS("the press in the duty room", exists(`#queue tr.alert-row[data-kind="sos"]`), waitUI)
	id := alertIDOf(t, evalJS[string](op, `document.querySelector('#queue tr.alert-row').dataset.alertId`))
	// The grid worker's phone shows its grid's new alert too.
	phone.waitJS("the grid's new alert on the phone", exists(rowSel(id)), waitUI)

	op.click(rowSel(id))
	op.waitJS("the detail", fmt.Sprintf(`document.querySelector('#alert-detail').dataset.alertId === '%d'`, id), waitUI)
	op.click("#btn-accept")
	op.waitJS("accepted", `document.querySelector('#alert-detail').dataset.state === 'accepted'`, waitUI)
	op.waitJS("zhang among the grid workers to send", `[...document.querySelectorAll('#dispatch-to option')].some(o => o.value === 'worker:zhang')`, waitUI)
	offered := evalJS[[]string](op, `[...document.querySelectorAll('#dispatch-to option')].map(o => o.value)`)
	for _, want := range []string{"worker:zhang", "120", "119", "110", "gas", "property", "family", "other"} {
		if !slices.Contains(offered, want) {
			t.Errorf("the dispatch offers %q, lacking %s", offered, want)
		}
	}
	op.choose("#dispatch-to", "worker:zhang")
	op.typeInto("#note-input", "请尽快上门查看")
	sent := time.Now()
	op.click("#btn-dispatch")

	// Live on the phone, marked as the worker's own task.
	phone.waitJS("the task on the phone, marked as zhang's", fmt.Sprintf(`(() => { const r = document.querySelector(%q);
		return r && r.dataset.state === 'dispatched' && r.querySelector('.tag-mine') !== null })()`, rowSel(id)), waitUI)
	t.Logf("dispatch → the task on the grid worker's phone: %v", time.Since(sent))
	phone.fitsPhones("gw-task-arrived")
	phone.click(rowSel(id))
	phone.waitJS("the task's detail, offering to take it", `!document.querySelector('#btn-take').hidden && document.querySelector('#btn-take').offsetParent !== null`, waitUI)
	if hrefs := evalJS[int](phone, `[...document.querySelectorAll('#d-contacts a[href^="tel:"]')].length`); hrefs < 2 {
		t.Errorf("%d tel: links on the phone's detail, want the contacts' and the grid worker's", hrefs)
	}
	if shown := evalJS[string](phone, `document.querySelector('#d-resident').innerText`); !strings.Contains(shown, "高血压，戴助听器") ||
		!strings.Contains(shown, "3号楼") || !strings.Contains(shown, "3-2-502") {
		t.Errorf("the phone's detail lacks the care notes or the address: %q", shown)
	}
	phone.fitsPhones("gw-detail")

	phone.click("#btn-take")
	phone.waitJS("taken: arriving offered", `document.querySelector('#btn-take').hidden && !document.querySelector('#btn-arrive').hidden`, waitUI)
	phone.click("#btn-arrive")
	phone.waitJS("arrived: photo and resolve offered", `document.querySelector('#btn-arrive').hidden && !document.querySelector('#btn-photo').hidden &&
		!document.querySelector('#btn-resolve').closest('.action-group').hidden`, waitUI)
	phone.do("take a photo", chromedp.SetUploadFiles(chromedp.CSS("#photo-input"), []string{photoFile(t)}))
	phone.waitJS("the photo on the timeline, loaded", `(() => { const img = document.querySelector('#timeline li[data-action="photo"] img');
		return img && img.complete && img.naturalWidth === 320 })()`, waitUI)
	phone.fitsPhones("gw-photo")
	phone.choose("#resolve-outcome", string(alerts.OutcomeGenuine))
	phone.typeInto("#note-input", "老人在家摔倒，已扶起，无大碍")
	phone.click("#btn-resolve")
	phone.waitJS("resolved", `document.querySelector('#alert-detail').dataset.state === 'resolved'`, waitUI)

	// The follow-up: listed as due, recorded from the phone.
	phone.waitJS("the follow-up form", `!document.querySelector('#followup-form').hidden`, waitUI)
	phone.fitsPhones("gw-followup-form")
	for name, v := range map[string]string{"method": "visit", "result": "resident_ok", "evaluation": "satisfied"} {
		phone.choose(`#followup-form [name="`+name+`"]`, v)
	}
	phone.click("#btn-followup")
	phone.waitJS("the follow-up recorded", `document.querySelector('#followup-form').hidden &&
		document.querySelector('#timeline li[data-action="followed_up"]') !== null`, waitUI)
	phone.fitsPhones("gw-followed-up")
	phone.click("#detail-close")
	phone.waitJS("no follow-up left due", `document.querySelector('#followups').hidden`, waitUI)

	// A supervisor reviews it with a rating: the loop closes.
	sup := newPage(t, base, "sup1")
	sup.login("sup1", consolePassword)
	sup.waitJS("the alert to review", exists(fmt.Sprintf(`#review-list li[data-alert-id="%d"]`, id)), waitUI)
	sup.click(fmt.Sprintf(`#review-list li[data-alert-id="%d"]`, id))
	sup.waitJS("the review's rating", `!document.querySelector('#close-group').hidden`, waitUI)
	sup.click("#btn-close")
	sup.waitJS("a rating asked for", `!document.querySelector('#toast').hidden && document.querySelector('#toast').textContent.includes('评分')`, waitUI)
	sup.choose("#review-rating", "5")
	sup.typeInto("#note-input", "处置及时，回访到位")
	sup.click("#btn-close")
	sup.waitJS("closed", `document.querySelector('#alert-detail').dataset.state === 'closed'`, waitUI)
	sup.screenshot("reviewed")

	a := getAlert(t, base, admin, id)
	want := []string{"opened", "device_ack", "accepted", "device_ack", "dispatched", "task_taken", "arrived", "photo", "resolved", "followed_up", "closed"}
	var got []string
	for _, e := range a.Timeline {
		got = append(got, e.Action)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v, want %v", got, want)
	}
	if a.State != alerts.StateClosed || a.Task == nil || a.Task.Worker != "zhang" || a.Task.State != alerts.TaskHandled ||
		!a.FollowUp.OnTime() || a.Review == nil || a.Review.Rating != 5 {
		t.Errorf("the closed loop: state %s, task %+v, follow-up %+v, review %+v", a.State, a.Task, a.FollowUp, a.Review)
	}
	// In this month's figures, on the overview.
	op.click(`[data-view="overview"]`)
	op.waitJS("the grid's figures", `(() => { const r = document.querySelector('#figures-table tr.grid-row[data-grid="网格一"]');
		return r && r.textContent.includes('100.0%') })()`, waitUI)
	op.screenshot("overview-figures")
	op.click("#open-report")
	op.waitJS("the monthly report", `document.querySelectorAll('#report-table tbody tr').length === 2`, waitUI)
	op.screenshot("monthly-report")

	// On paper (A4's width at 96 dpi): the report alone, nothing cut off.
	op.do("print media on A4", chromedp.EmulateViewport(794, 1123), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	printed := evalJS[string](op, `(() => {
		const gone = ['.topbar', '#view-overview', '#view-queue'].filter(s => getComputedStyle(document.querySelector(s)).display !== 'none');
		const table = document.querySelector('#report-table');
		return JSON.stringify({gone, rows: table.querySelectorAll('tbody tr').length, shown: table.offsetParent !== null,
			wide: document.documentElement.scrollWidth > window.innerWidth || table.getBoundingClientRect().right > window.innerWidth + 1});
	})()`)
	if printed != `{"gone":[],"rows":2,"shown":true,"wide":false}` {
		t.Errorf("the report on paper: %s (want the console's bars hidden, the table's 2 rows shown, none cut off)", printed)
	}
	op.screenshot("monthly-report-print")
}
