package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// phoneSizes are the phones the console must fit without scrolling
// sideways: a small Android phone and an iPhone 12-15.
var phoneSizes = []struct{ w, h int64 }{{360, 740}, {390, 844}}

// overflowJS measures a view: the document wider than the window, or any
// element that scrolls sideways inside it (a table in an overflow box), is
// horizontal scrolling. It returns "" when there is none, else what
// overflows and the widest offenders.
const overflowJS = `(() => {
	const w = window.innerWidth, doc = document.documentElement.scrollWidth;
	const scrollers = [...document.querySelectorAll('body *')].filter(e => {
		if (e.offsetParent === null && getComputedStyle(e).position !== 'fixed') return false;
		const ox = getComputedStyle(e).overflowX;
		return (ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1;
	}).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth);
	if (doc <= w && scrollers.length === 0) return '';
	const wide = [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > w + 1)
		.map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right))
		.slice(0, 8);
	return JSON.stringify({innerWidth: w, scrollWidth: doc, scrollers: scrollers.slice(0, 5), wide});
})()`

// fits fails the test if the page scrolls sideways on the view shown, and
// saves a screenshot of it either way.
func (p *browserPage) fits(view string) {
	p.t.Helper()
	// Let layout settle after the view's data arrived.
	evalAsync[bool](p, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	if got := evalJS[string](p, overflowJS); got != "" {
		p.t.Errorf("%s: %s scrolls sideways: %s [screenshot %s]", p.name, view, got, p.screenshot(p.name+"-overflow-"+view))
		return
	}
	p.screenshot(p.name + "-" + view)
}

// emulatePhone makes the page a phone's screen of size, touch and all.
func (p *browserPage) emulatePhone(w, h int64) {
	p.t.Helper()
	p.do(fmt.Sprintf("a %d×%d phone", w, h), chromedp.EmulateViewport(w, h, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
}

// fitsPhones checks the view shown on each phone size, the largest first,
// and leaves the page on the smallest.
func (p *browserPage) fitsPhones(view string) {
	p.t.Helper()
	for i := len(phoneSizes) - 1; i >= 0; i-- {
		s := phoneSizes[i]
		p.emulatePhone(s.w, s.h)
		p.fits(fmt.Sprintf("%s-%d", view, s.w))
	}
}

// TestBrowserPhoneSizes: on a 360×740 and a 390×844 phone (Chromium's
// mobile emulation), no view of the console scrolls sideways — the login
// form, the queue with alerts in it, an alert's detail with its chart and
// timeline, the devices view with the register form, the overview, the
// monthly report, the buildings and the check-ins — and
// the service worker keeps the page's shell: with the network gone the page
// still opens, while the API is never answered from the cache.
func TestBrowserPhoneSizes(t *testing.T) {
	testenv.ToolPath(t, "chromium")
	influx := testenv.Influx(t)
	m := startHub(t, hubOptions{Influx: influx})
	base := "http://" + m.HTTPAddr()
	s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, browserDevices()))
	if _, err := s.Press("sos-0002"); err != nil {
		t.Fatal(err)
	}
	if err := s.GasLeak(t.Context(), "gas-0001", []float64{8, 14, 31}, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	for _, size := range phoneSizes {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			p := newPage(t, base, fmt.Sprintf("phone%d", size.w))
			p.do("emulate the phone", chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
				chromedp.Reload())
			if w := evalJS[int](p, `window.innerWidth`); int64(w) != size.w {
				t.Fatalf("innerWidth %d under emulation, want %d", w, size.w)
			}
			p.do("the login form", chromedp.WaitVisible(chromedp.CSS("#login-username")))
			p.fits("login")
			p.login("admin", adminPassword)
			p.waitJS("two alerts in the queue", `document.querySelectorAll('#queue tr.alert-row').length === 2`, waitUI)
			p.fits("queue")

			p.click(`#queue tr.alert-row[data-kind="gas_high"]`)
			p.waitJS("the gas alert's detail with its timeline", `document.querySelector('#alert-detail').dataset.alertId && document.querySelectorAll('#timeline li').length >= 3`, waitUI)
			if shown := evalJS[bool](p, `document.querySelector('.queue-pane').offsetParent !== null`); shown {
				t.Error("the queue is still shown beside an open alert on a phone")
			}
			p.fits("detail-gas")
			p.click("#detail-close")
			p.waitJS("the queue again", `document.querySelector('.queue-pane').offsetParent !== null`, waitUI)
			p.click(`#queue tr.alert-row[data-kind="sos"]`)
			p.waitJS("the sos alert's detail", `document.querySelector('#alert-detail').dataset.state === 'new'`, waitUI)
			p.fits("detail-sos")

			p.click(`[data-view="devices"]`)
			p.waitJS("the devices", `document.querySelectorAll('#device-table tbody tr').length >= 4`, waitUI)
			p.fits("devices")
			p.click(`[data-view="overview"]`)
			p.waitJS("the overview's figures", `document.querySelector('#share-today').textContent !== '—' || document.querySelector('#share-today-detail').textContent !== ''`, waitUI)
			p.fits("overview")
			p.click("#open-report")
			p.waitJS("the monthly report", `document.querySelectorAll('#report-table tbody tr').length >= 2`, waitUI)
			p.fits("report")
			p.click("#report-back")
			p.click(`[data-view="buildings"]`)
			p.waitJS("the buildings", `document.querySelector('#view-buildings').offsetParent !== null && document.querySelector('#bld-tiles [data-building]') !== null`, waitUI)
			p.fits("buildings")
			p.click(`[data-view="checkins"]`)
			p.waitJS("the check-ins", `document.querySelector('#view-checkins').offsetParent !== null`, waitUI)
			p.fits("checkins")
			p.click(`[data-view="overview"]`)
			p.click("#lang-toggle")
			p.waitJS("English", `document.documentElement.lang === 'en'`, waitUI)
			p.fits("overview-en")
			p.click(`[data-view="queue"]`)
			p.fits("queue-en")
		})
	}

	t.Run("shell offline", func(t *testing.T) {
		// Through a proxy the test can cut: the network gone for the page
		// and its worker alike.
		proxy := newCutProxy(t, m.HTTPAddr())
		p := newPage(t, "http://"+proxy.Addr(), "shell")
		p.login("admin", adminPassword)
		if !evalAsync[bool](p, `navigator.serviceWorker.ready.then(() => true)`) {
			t.Fatal("no service worker")
		}
		p.do("reload under the worker", chromedp.Reload())
		p.waitJS("the page under its worker", `navigator.serviceWorker.controller !== null`, waitUI)
		cached := evalAsync[string](p, `(async () => {
			const urls = [];
			for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) urls.push(new URL(r.url).pathname);
			return JSON.stringify(urls.sort());
		})()`)
		for _, want := range []string{`"/"`, `"/assets/js/app.js"`, `"/assets/app.css"`, `"/manifest.webmanifest"`} {
			if !strings.Contains(cached, want) {
				t.Errorf("the shell cache lacks %s: %s", want, cached)
			}
		}
		if strings.Contains(cached, `"/api/`) {
			t.Errorf("the cache keeps API data: %s", cached)
		}
		proxy.Cut()
		p.do("reload with the network gone", chromedp.Reload())
		p.waitJS("the page from the shell", `document.querySelector('#login-form') !== null && typeof window.shouwang === 'object'`, waitUI)
		if ok := evalAsync[bool](p, `fetch('/api/v1/me').then(() => true, () => false)`); ok {
			t.Error("the API answered with the network gone: it came from a cache")
		}
		proxy.Restore()
	})
}

// evalAsync evaluates a JavaScript expression whose value is a promise, and
// returns what it resolves to.
func evalAsync[T any](p *browserPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitUI)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}
