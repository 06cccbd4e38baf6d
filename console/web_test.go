package console_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/console/consoletest"
)

// The page is served with a policy that allows only its own files.
func TestWebServesPageWithStrictCSP(t *testing.T) {
	e := consoletest.Start(t)
	r := do(t, e, req{method: "GET", path: "/"})
	if r.status != http.StatusOK {
		t.Fatalf("GET / = %d; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q allows more than the page's own origin", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-cache"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(string(r.body), `<html lang="zh-CN">`) {
		t.Error("the page is not Chinese by default")
	}
}

// Every file the page and its modules refer to is served with its type;
// a typo in a path fails here, not in a duty room.
func TestWebServesEveryReferencedAsset(t *testing.T) {
	e := consoletest.Start(t)
	index := do(t, e, req{method: "GET", path: "/"}).body
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) < 4 {
		t.Fatalf("index.html refers to %d assets, want the app, its styles and uPlot", len(refs))
	}
	todo := make([]string, 0, len(refs))
	for _, m := range refs {
		todo = append(todo, m[1])
	}
	imports := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"](\./[^'"]+)['"]`)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}
	seen := map[string]bool{}
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		r := do(t, e, req{method: "GET", path: p})
		if r.status != http.StatusOK {
			t.Errorf("GET %s = %d", p, r.status)
			continue
		}
		if ct, want := r.header.Get("Content-Type"), types[filepath.Ext(p)]; ct != want {
			t.Errorf("GET %s: Content-Type = %q, want %q", p, ct, want)
		}
		if r.header.Get("ETag") == "" || r.header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no ETag or CSP", p)
		}
		if strings.HasSuffix(p, ".js") {
			for _, m := range imports.FindAllStringSubmatch(string(r.body), -1) {
				todo = append(todo, filepath.Join(filepath.Dir(p), m[1]))
			}
		}
	}
	for _, want := range []string{"/assets/js/app.js", "/assets/js/live.js", "/assets/js/sound.js", "/assets/vendor/uPlot.iife.min.js"} {
		if !seen[want] {
			t.Errorf("%s is not reachable from index.html", want)
		}
	}
}

// The console installs on a phone's home screen: a manifest naming icons
// the hub serves, and a service worker at the root whose shell is every
// file of the page and nothing of the API.
func TestWebAppManifestAndServiceWorker(t *testing.T) {
	e := consoletest.Start(t)
	index := string(do(t, e, req{method: "GET", path: "/"}).body)
	if !strings.Contains(index, `<link rel="manifest" href="/manifest.webmanifest">`) {
		t.Error("index.html does not link the manifest")
	}
	r := do(t, e, req{method: "GET", path: "/manifest.webmanifest"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("GET /manifest.webmanifest = %d %q", r.status, r.header.Get("Content-Type"))
	}
	var man struct {
		ShortName string `json:"short_name"`
		StartURL  string `json:"start_url"`
		Display   string `json:"display"`
		Icons     []struct{ Src, Sizes, Type string }
	}
	if err := json.Unmarshal(r.body, &man); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if man.StartURL != "/" || man.Display != "standalone" || man.ShortName == "" {
		t.Errorf("manifest %+v", man)
	}
	sizes := map[string]bool{}
	for _, ic := range man.Icons {
		ir := do(t, e, req{method: "GET", path: ic.Src})
		if ir.status != http.StatusOK || ir.header.Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %q, want %s", ic.Src, ir.status, ir.header.Get("Content-Type"), ic.Type)
		}
		sizes[ic.Sizes] = true
	}
	if !sizes["192x192"] || !sizes["512x512"] {
		t.Errorf("icons %v: want 192x192 and 512x512 for installing", sizes)
	}

	sw := do(t, e, req{method: "GET", path: "/sw.js"})
	if sw.status != http.StatusOK || sw.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("GET /sw.js = %d %q", sw.status, sw.header.Get("Content-Type"))
	}
	m := regexp.MustCompile(`const SHELL = (\[[^\n]*\]);`).FindSubmatch(sw.body)
	v := regexp.MustCompile(`const VERSION = 'shell-[A-Za-z0-9_-]+';`).Find(sw.body)
	if m == nil || v == nil {
		t.Fatalf("sw.js has no filled-in SHELL or VERSION:\n%s", sw.body)
	}
	var shell []string
	if err := json.Unmarshal(m[1], &shell); err != nil {
		t.Fatal(err)
	}
	for _, p := range shell {
		if strings.HasPrefix(p, "/api/") || p == "/sw.js" {
			t.Errorf("the shell keeps %s", p)
		}
	}
	for _, want := range []string{"/", "/manifest.webmanifest", "/assets/app.css", "/assets/js/app.js", "/assets/js/pwa.js", "/assets/vendor/uPlot.iife.min.js", "/assets/icon-192.png"} {
		if !slices.Contains(shell, want) {
			t.Errorf("the shell lacks %s", want)
		}
	}
	if do(t, e, req{method: "GET", path: "/assets/sw.js"}).status != http.StatusNotFound {
		t.Error("the service worker is also served under /assets/, where its scope would be wrong")
	}
	// Only the shell: the worker answers nothing outside it.
	if !strings.Contains(string(sw.body), "!SHELL.includes(url.pathname)) return;") {
		t.Error("sw.js does not leave requests outside the shell to the network")
	}
}

// An unchanged file costs a 304.
func TestWebRevalidatesWithETag(t *testing.T) {
	e := consoletest.Start(t)
	first := do(t, e, req{method: "GET", path: "/assets/app.css"})
	etag := first.header.Get("ETag")
	if first.status != http.StatusOK || etag == "" {
		t.Fatalf("GET app.css = %d, ETag %q", first.status, etag)
	}
	hr, err := http.NewRequest("GET", e.URL+"/assets/app.css", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", resp.StatusCode)
	}
}

// Only the page's own files are served; unknown paths stay 404, and the
// page does not swallow unknown API routes.
func TestWebNotFound(t *testing.T) {
	e := consoletest.Start(t)
	for _, p := range []string{"/assets/nope.js", "/assets/", "/assets/vendor/README.md", "/assets/vendor/uPlot.LICENSE", "/assets/index.html", "/assets/js"} {
		if r := do(t, e, req{method: "GET", path: p}); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, r.status)
		}
	}
	do(t, e, req{method: "GET", path: "/nope"}).wantError(t, http.StatusNotFound, "not_found", "no such route")
	do(t, e, req{method: "GET", path: "/api/v1/nope"}).wantError(t, http.StatusNotFound, "not_found", "no such route")
	if r := do(t, e, req{method: "POST", path: "/"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", r.status)
	}
}

// The page works under its policy only if nothing in it is inline, and it
// never builds markup from data.
func TestWebHasNothingInline(t *testing.T) {
	index := readWeb(t, "index.html")
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s+type="module")?>`), // a script without src
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	} {
		if loc := bad.FindStringIndex(index); loc != nil {
			t.Errorf("index.html has inline code or style: %q", index[loc[0]:min(len(index), loc[1]+40)])
		}
	}
	for _, f := range webScripts(t) {
		src := readWeb(t, f)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", f, bad)
			}
		}
	}
}

// The hooks the browser tests select on are in the page (see the console
// contract), so a rename breaks here first.
func TestWebHasContractHooks(t *testing.T) {
	index := readWeb(t, "index.html")
	for _, id := range []string{
		"login-form", "login-username", "login-password", "login-submit", "login-error",
		"app", "lang-toggle", "logout", "conn-status", "queue", "mute",
		"alert-detail", "telemetry-chart", "timeline", "btn-accept", "btn-dispatch", "dispatch-to",
		"btn-resolve", "resolve-outcome", "btn-close", "note-input", "btn-note", "toast",
		"device-filter", "device-table", "unregistered-table", "device-form", "btn-register",
		"new-credentials", "csv-file", "btn-import", "import-errors", "device-warnings", "import-warnings",
		"overview-counts", "silent-devices", "share-today", "share-week",
		"call-panel", "call-status", "call-timer", "btn-answer-call", "btn-hangup-call", "btn-callback",
		"call-audio", "call-bar", "call-bar-hangup",
	} {
		if n := strings.Count(index, `id="`+id+`"`); n != 1 {
			t.Errorf("id %q appears %d times in index.html, want once", id, n)
		}
	}
	for _, v := range []string{"queue", "devices", "overview"} {
		if !strings.Contains(index, `data-view="`+v+`"`) {
			t.Errorf("no [data-view=%q] button", v)
		}
	}
	for _, o := range []string{"genuine", "false_alarm", "referred", "duplicate"} {
		if !strings.Contains(index, `<option value="`+o+`">`) {
			t.Errorf("#resolve-outcome lacks %q", o)
		}
	}
	for _, name := range []string{"id", "kind", "community", "grid", "building", "unit", "floor", "household", "resident_name"} {
		if !strings.Contains(index, `name="`+name+`"`) {
			t.Errorf("#device-form has no input named %q", name)
		}
	}
}

// Every string the page names is translated into both languages.
func TestWebStringsInBothLanguages(t *testing.T) {
	zh, en := webDicts(t)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`data-i18n(?:-placeholder|-title|-aria-label)?="([^"]+)"`).FindAllStringSubmatch(readWeb(t, "index.html"), -1) {
		used[m[1]] = true
	}
	call := regexp.MustCompile(`\bt\('([a-zA-Z0-9_.]+)'`)
	for _, f := range webScripts(t) {
		for _, m := range call.FindAllStringSubmatch(readWeb(t, f), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d strings in use; is the pattern stale?", len(used))
	}
	for key := range used {
		if !zh[key] {
			t.Errorf("%s: no Chinese string", key)
		}
		if !en[key] {
			t.Errorf("%s: no English string", key)
		}
	}
}

// The voice-call hooks of the voice contract: the ringing row with its
// wait, the call's status and player, the ringtone's flag, the page's
// call object for getStats, recordings played back from the timeline, and
// the signalling the hub expects (non-trickle, the CSRF header through
// api.js).
func TestWebCallHooks(t *testing.T) {
	index := readWeb(t, "index.html")
	for _, want := range []string{`<audio id="call-audio" autoplay>`, `id="call-status" class="call-status" data-state="none"`} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	for file, wants := range map[string][]string{
		"js/call.js": {
			"getUserMedia({ audio: true })", "new RTCPeerConnection(", "pc.addTrack(track, stream)", "createOffer()",
			"iceGatheringState === 'complete'", "api.post(`${path}/answer`, { sdp: pc.localDescription.sdp })",
			"setRemoteDescription({ type: 'answer'", "`${path}/hangup`", "/callback`",
			"/recordings/${side}`", "h('audio', { controls: true", "recording_${s}", "'call_ended'",
			"status.dataset.state = state", "'ringing'", "'connecting'", "'connected'", "'ended'",
			"$('call-audio')", "get state()", "get pc()", "sound.setOnCall(",
		},
		"js/queue.js":  {"data.call = call.state", "class: 'call-wait'", ".call-wait"},
		"js/sound.js":  {"ringing: false", "sound.ringing = ringing", "a.call?.state === 'ringing'", "export function setOnCall"},
		"js/app.js":    {"call: call.callInfo", "call.initCall(", "call.endAll()"},
		"js/detail.js": {"call.showAlert(a, deviceFull || a.device)", "call.recordings"},
		"js/api.js":    {"headers['X-CSRF-Token'] = csrfToken"},
		"app.css":      {`.alert-row[data-call="ringing"]`, ".call-wait"},
	} {
		src := readWeb(t, file)
		for _, want := range wants {
			if !strings.Contains(src, want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}
	// The ringtone is not one of the alarm's patterns: two tones at once.
	if !regexp.MustCompile(`const ring = \{[^}]*tones: \[400, 450\]`).MatchString(readWeb(t, "js/sound.js")) {
		t.Error("sound.js has no two-tone ring pattern")
	}
	// The players need media from the console's own origin.
	e := consoletest.Start(t)
	if csp := do(t, e, req{method: "GET", path: "/"}).header.Get("Content-Security-Policy"); !strings.Contains(csp, "media-src 'self'") {
		t.Errorf("CSP %q does not allow the console's own recordings", csp)
	}
	// Strings the page reaches through label() rather than t().
	zh, en := webDicts(t)
	for _, key := range []string{"tl.call_ringing", "tl.call_answered", "tl.call_ended", "call.recordingDevice", "call.recordingConsole"} {
		if !zh[key] || !en[key] {
			t.Errorf("%s is not in both languages", key)
		}
	}
}

func readWeb(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("web", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// webScripts lists the page's own modules (not vendored code).
func webScripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("web", "js", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in web/js: %v", err)
	}
	for i, f := range files {
		files[i] = strings.TrimPrefix(filepath.ToSlash(f), "web/")
	}
	slices.Sort(files)
	return files
}
