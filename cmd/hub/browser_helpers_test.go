package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// waitUI bounds one wait for the page; the console's own bounds (a second
// for a new alert) are asserted separately where they matter.
const waitUI = 20 * time.Second

// browserPage is one duty-room console: a fresh Chromium showing the hub's
// page at base. Its methods fail the test with what was awaited, and save a
// screenshot of the page when they do.
type browserPage struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
}

// newPage starts a browser for the console at base ("http://host:port")
// with desktop notifications permitted, and opens the page.
func newPage(t *testing.T, base, name string) *browserPage {
	t.Helper()
	return newPageWith(t, base, name, testenv.ChromiumOptions{})
}

// newPageWith is newPage in a browser started with opts.
func newPageWith(t *testing.T, base, name string, opts testenv.ChromiumOptions) *browserPage {
	t.Helper()
	ctx := testenv.ChromiumWith(t, opts)
	if err := testenv.GrantPermission(ctx, base, "notifications"); err != nil {
		t.Fatal(err)
	}
	p := &browserPage{t: t, ctx: ctx, base: base, name: name}
	p.do("open the console", chromedp.Navigate(base+"/"))
	return p
}

// do runs actions on the page, failing the test with what after waitUI.
func (p *browserPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitUI)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// fail saves a screenshot of the page and fails the test.
func (p *browserPage) fail(what string, err error) {
	p.t.Helper()
	step := p.t.Name()
	if _, sub, ok := strings.Cut(step, "/"); ok {
		step = sub
	}
	shot := p.screenshot("failed-" + p.name + "-" + step)
	p.t.Fatalf("%s (%s): %v [screenshot %s]", p.name, what, err, shot)
}

// waitJS waits until the JavaScript expression is truthy, polling at every
// animation frame.
func (p *browserPage) waitJS(what, expr string, timeout time.Duration) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))); err != nil {
		p.fail("wait for "+what, fmt.Errorf("%w; state: %s", err, p.state()))
	}
}

// evalJS evaluates a JavaScript expression on the page.
func evalJS[T any](p *browserPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitUI)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// state describes the page for a failure message: connection, queue rows,
// sound and any toast.
func (p *browserPage) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		conn: document.querySelector('#conn-status')?.dataset.state,
		stale: document.querySelector('#queue')?.dataset.stale,
		rows: [...document.querySelectorAll('#queue tr.alert-row')].map(r => r.dataset.alertId + ':' + r.dataset.kind + ':' + r.dataset.state),
		detail: document.querySelector('#alert-detail')?.dataset.alertId,
		sound: window.shouwang?.sound ? {playing: window.shouwang.sound.playing} : null,
		alarm: document.body.dataset.alarm,
		toast: document.querySelector('#toast')?.hidden === false ? document.querySelector('#toast').textContent : '',
		loginError: document.querySelector('#login-error')?.textContent,
	})`))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return s
}

// rows counts the queue's rows matching the extra selector (as
// `[data-alert-id="7"]`).
func (p *browserPage) rows(extra string) int {
	p.t.Helper()
	return evalJS[int](p, fmt.Sprintf(`document.querySelectorAll(%q).length`, "#queue tr.alert-row"+extra))
}

// rowSel is the selector of an alert's row in the queue.
func rowSel(id int64) string { return fmt.Sprintf(`#queue tr.alert-row[data-alert-id="%d"]`, id) }

// exists is a JavaScript expression true when selector matches.
func exists(selector string) string {
	return fmt.Sprintf(`document.querySelector(%q) !== null`, selector)
}

// missing is a JavaScript expression true when nothing matches selector.
func missing(selector string) string {
	return fmt.Sprintf(`document.querySelector(%q) === null`, selector)
}

// login signs in through the login form and waits for the live feed.
func (p *browserPage) login(username, password string) {
	p.t.Helper()
	p.submitLogin(username, password)
	p.do("log in as "+username, chromedp.WaitVisible(chromedp.CSS("#app")))
	p.waitJS("the live feed", exists(`#conn-status[data-state="live"]`), waitUI)
}

// submitLogin fills and submits the login form, without waiting for the
// outcome.
func (p *browserPage) submitLogin(username, password string) {
	p.t.Helper()
	p.do("the login form", chromedp.WaitVisible(chromedp.CSS("#login-username")))
	p.typeInto("#login-username", username)
	p.typeInto("#login-password", password)
	p.click("#login-submit")
}

// click clicks the first element matching selector, once it is visible.
func (p *browserPage) click(selector string) {
	p.t.Helper()
	p.do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// typeInto clears a text field and types text into it, key by key.
func (p *browserPage) typeInto(selector, text string) {
	p.t.Helper()
	p.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
	evalJS[bool](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true })()`, selector))
	p.do("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text))
}

// choose selects the option of a <select> whose value or text contains
// want, and tells the page (change event), as a person picking it would.
func (p *browserPage) choose(selector, want string) {
	p.t.Helper()
	p.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
	got := evalJS[string](p, fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		const o = [...s.options].find(o => o.value === %[2]q) || [...s.options].find(o => o.value.includes(%[2]q) || o.text.includes(%[2]q));
		if (!o) return 'no option ' + %[2]q + ' in ' + [...s.options].map(o => o.value + '/' + o.text).join(', ');
		s.value = o.value;
		s.dispatchEvent(new Event('input', {bubbles: true}));
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return '';
	})()`, selector, want))
	if got != "" {
		p.fail("choose "+want, errors.New(got))
	}
}

// fill sets form fields by name inside form, firing input events.
func (p *browserPage) fill(form string, fields map[string]string) {
	p.t.Helper()
	for name, v := range fields {
		sel := fmt.Sprintf(`%s [name=%q]`, form, name)
		tag := evalJS[string](p, fmt.Sprintf(`document.querySelector(%q)?.tagName ?? ''`, sel))
		switch tag {
		case "SELECT":
			p.choose(sel, v)
		case "INPUT", "TEXTAREA":
			p.typeInto(sel, v)
		default:
			p.fail("fill "+name, fmt.Errorf("no field %s", sel))
		}
	}
}

// setOffline takes the browser's network away or gives it back, as DevTools'
// "Offline" does: requests and new connections fail, an open WebSocket
// stalls (Chromium neither delivers its frames nor closes it; measured), and
// navigator.onLine turns false with an "offline" event, which is how a page
// can tell at once.
func (p *browserPage) setOffline(off bool) {
	p.t.Helper()
	rules := []*network.Conditions{}
	if off {
		rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	p.do(fmt.Sprintf("set offline %v", off), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule,
			network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState,
			network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// screenshot saves the page's viewport as the PNG artifact
// <Test>-<name>.png and returns its path ("" if it could not be taken).
func (p *browserPage) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	test, _, _ := strings.Cut(p.t.Name(), "/")
	path := filepath.Join(artifactsDir(p.t), safeName(test+"-"+name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return path
}

// artifactsDir is where tests leave files for people to look at:
// $ARTIFACTS_DIR, else <repo>/artifacts (git-ignored).
func artifactsDir(t testing.TB) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts") // go test runs in cmd/hub
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// createUser makes a console account: through the users API as the admin
// when the hub has it, else directly in the store.
func createUser(t *testing.T, m *Main, base, adminToken, name string, role accounts.Role, password string) {
	t.Helper()
	code, body := apiCall(t, "POST", base+"/api/v1/users", adminToken,
		map[string]string{"username": name, "role": string(role), "password": password}, nil)
	switch {
	case code == http.StatusOK || code == http.StatusCreated:
		return
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		hash, err := accounts.HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.store.CreateUser(context.Background(), name, role, hash); err != nil {
			t.Fatalf("create user %s: %v", name, err)
		}
	default:
		t.Fatalf("create user %s: %d %s", name, code, body)
	}
}

// cutProxy forwards TCP connections to a target, and can cut them all and
// refuse new ones for a while, as a network outage between a console and
// the hub does. The browser's address for the hub is the proxy's, so its
// Origin and Host still agree.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's "127.0.0.1:port".
func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and refuses new ones until Restore.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (p *cutProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *cutProxy) forward(c net.Conn) {
	defer c.Close()
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	if !p.track(c, u) {
		return
	}
	defer p.untrack(c, u)
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	<-done
}

func (p *cutProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *cutProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// alertIDOf reads an alert id from a row's data-alert-id.
func alertIDOf(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("alert id %q: %v", s, err)
	}
	return id
}
