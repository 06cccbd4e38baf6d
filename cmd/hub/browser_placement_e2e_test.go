package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestBrowserRegistrationWarnings: an installer in Chromium against the
// real hub (embedded broker, SQLite, InfluxDB) registers, through the
// console's form, a detector without its unit in a building whose devices
// name units, then imports a CSV file with a row whose household number
// two units share and a row on another floor than its household's. Each
// device is registered; the page says where each went, made from the
// server's codes, in Chinese and in English, on a 1920-px wall screen and
// a 360-px phone that does not scroll sideways; the import's summary
// counts the rows to check.
func TestBrowserRegistrationWarnings(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	m := startHub(t, hubOptions{Influx: testenv.Influx(t)})
	base := "http://" + m.HTTPAddr()
	admin := login(t, base)
	createUser(t, m, base, admin, "inst1", accounts.RoleInstaller, consolePassword)
	loc := func(unit, floor, hh string) devices.Location {
		return devices.Location{Community: "阳光社区", Grid: "网格一", Building: "6号楼", Unit: unit, Floor: floor, Household: hh}
	}
	register(t, base, []*devices.Device{
		{ID: "pl-201", Kind: devices.KindSmoke, Location: loc("1单元", "2层", "1-201")},
		{ID: "pl-101a", Kind: devices.KindSmoke, Location: loc("1单元", "1层", "101")},
		{ID: "pl-101b", Kind: devices.KindSmoke, Location: loc("2单元", "1层", "101")},
	})
	// The devices' IDs, in the page's toasts as plain text.
	ids := []string{"pl-door", "pl-i1", "pl-i2", "pl-i3", "pl-201", "pl-101a", "pl-101b"}
	text := func(p *browserPage, sel string) string {
		t.Helper()
		return evalJS[string](p, `document.querySelector('`+sel+`')?.innerText ?? ''`)
	}
	wantIn := func(what, got string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q does not say %q", what, got, w)
			}
		}
	}

	p := newPage(t, base, "inst1")
	p.do("a wall screen", chromedp.EmulateViewport(1920, 1080))
	p.login("inst1", consolePassword)
	p.click(`[data-view="devices"]`)
	p.do("the register form", chromedp.WaitVisible(chromedp.CSS("#device-form")))
	p.fill("#device-form", map[string]string{"id": "pl-door", "kind": string(devices.KindSmoke), "community": "阳光社区",
		"building": "6号楼", "floor": "2层", "household": "1-201"})
	p.click("#btn-register")
	joined := `#device-warnings li[data-code="unit_missing"][data-placed="joined"][data-id="pl-door"]`
	p.waitJS("the registration's warning", `!document.querySelector('#device-warnings').hidden && document.querySelector('`+joined+`') !== null`, waitUI)
	p.do("the new credentials", chromedp.WaitVisible(chromedp.CSS("#new-credentials")))
	if code := getJSON(t, base+"/api/v1/devices/pl-door", admin, nil); code != 200 {
		t.Fatalf("the warned device is not registered: %d", code)
	}
	wantIn("zh, the form's warning", text(p, joined), "pl-door", "未填单元", "6号楼", "1单元", "1-201")
	evalJS[bool](p, `(document.querySelector('#device-warnings').scrollIntoView({block: 'center'}), true)`)
	p.checkLanguage("zh", "register-warning", ids...)
	p.click("#lang-toggle")
	p.waitJS("the warning in English", `document.querySelector('`+joined+`').innerText.includes('no unit given')`, waitUI)
	wantIn("en, the form's warning", text(p, joined), "pl-door", "household 1-201 of 1单元, 6号楼")
	p.checkLanguage("en", "register-warning", ids...)

	csv := filepath.Join(t.TempDir(), "6号楼.csv")
	if err := os.WriteFile(csv, []byte("id,kind,community,building,unit,floor,household\n"+
		"pl-i1,gas,阳光社区,6号楼,,1层,101\n"+ // line 2: two units have a 101
		"pl-i2,co,阳光社区,6号楼,1单元,3层,1-201\n"+ // line 3: 1-201 is on 2层
		"pl-i3,smoke,阳光社区,6号楼,1单元,3层,1-301\n"), 0o644); err != nil { // line 4: complete
		t.Fatal(err)
	}
	p.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#csv-file"), []string{csv}))
	p.click("#btn-import")
	ambiguous := `#import-warnings li[data-line="2"][data-code="unit_missing"][data-placed="ambiguous"][data-id="pl-i1"]`
	differs := `#import-warnings li[data-line="3"][data-code="floor_differs"][data-id="pl-i2"]`
	p.waitJS("the import's warnings", `document.querySelector('#import-summary').dataset.kind === 'warn' && !document.querySelector('#import-warnings').hidden &&
		document.querySelectorAll('#import-warnings li').length === 2 && document.querySelector('`+ambiguous+`') !== null && document.querySelector('`+differs+`') !== null`, waitUI)
	for _, id := range []string{"pl-i1", "pl-i2", "pl-i3"} {
		if code := getJSON(t, base+"/api/v1/devices/"+id, admin, nil); code != 200 {
			t.Errorf("imported %s is not registered: %d", id, code)
		}
	}
	wantIn("en, the import's summary", text(p, "#import-summary"), "Imported 3 devices; 2 need their place checked")
	wantIn("en, line 2", text(p, ambiguous), "Line 2:", "pl-i1", "1单元, 2单元 of 6号楼 each have a household 101", "give its unit")
	wantIn("en, line 3", text(p, differs), "Line 3:", "pl-i2", "floor 3层 differs from floor 2层 of pl-201")
	evalJS[bool](p, `(document.querySelector('#import-warnings').scrollIntoView({block: 'center'}), true)`)
	p.checkLanguage("en", "import-warnings", ids...)
	p.click("#lang-toggle")
	p.waitJS("the import's warnings in Chinese", `document.querySelector('#import-summary').innerText.includes('需核对位置')`, waitUI)
	wantIn("zh, the import's summary", text(p, "#import-summary"), "已导入 3 台设备，其中 2 台需核对位置")
	wantIn("zh, line 2", text(p, ambiguous), "第 2 行", "1单元、2单元", "无法判断归属")
	wantIn("zh, line 3", text(p, differs), "第 3 行", "3层", "pl-201", "2层", "不一致")
	wantIn("zh, the form's warning kept", text(p, joined), "未填单元")
	p.checkLanguage("zh", "import-warnings", ids...)

	// A phone: every warning still there, nothing scrolls sideways.
	p.emulatePhone(360, 740)
	for _, lang := range []string{"zh", "en"} {
		if lang == "en" {
			p.click("#lang-toggle")
			p.waitJS("English on the phone", `document.querySelector('#import-summary').innerText.includes('need their place checked')`, waitUI)
		}
		for _, sel := range []string{joined, ambiguous, differs} {
			if visible := evalJS[bool](p, `document.querySelector('`+sel+`').getClientRects().length > 0`); !visible {
				t.Errorf("%s on the phone: %s is not shown", lang, sel)
			}
		}
		evalJS[bool](p, `(document.querySelector('#device-warnings').scrollIntoView({block: 'start'}), true)`)
		p.checkLanguage(lang, "phone360-register-warning", ids...)
		evalJS[bool](p, `(document.querySelector('#import-warnings').scrollIntoView({block: 'center'}), true)`)
		p.checkLanguage(lang, "phone360-import-warnings", ids...)
	}
}
