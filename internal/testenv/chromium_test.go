package testenv_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// TestChromium starts a real browser and checks what the console's tests
// rely on: the exact switches, the duty-room window size, audio that starts
// without a gesture, a granted notification permission, and two browsers
// that share nothing.
func TestChromium(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: "first", Path: "/"})
		}
		fmt.Fprintf(w, "<!doctype html><title>t</title><p>cookie=%q</p>", r.Header.Get("Cookie"))
	}))
	defer srv.Close()

	ctx := testenv.Chromium(t)
	run := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}

	// The browser runs with exactly the flags of the design.
	proc := chromedp.FromContext(ctx).Browser.Process()
	if proc == nil {
		t.Fatal("no browser process")
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(proc.Pid) + "/cmdline")
	if err != nil {
		t.Fatalf("cannot read the browser's command line: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	for _, f := range append(slices.Clone(testenv.ChromiumFlags), "--window-size=1366,768") {
		if !slices.Contains(args, f) {
			t.Errorf("browser started without %s: %q", f, args)
		}
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--user-data-dir="+os.TempDir()) }) {
		t.Errorf("browser's profile is not a fresh temporary directory: %q", args)
	}

	run("navigate", chromedp.Navigate(srv.URL+"/set"))
	if got := eval(`innerWidth + "x" + outerHeight`); got != "1366x768" {
		t.Errorf("window = %s, want 1366x768", got)
	}
	if got := eval(`navigator.userAgent`); !strings.Contains(got, "HeadlessChrome") {
		t.Errorf("user agent %q: not headless", got)
	}
	// No user gesture has happened: the autoplay policy must still let an
	// AudioContext run, or the console's alarm would stay silent.
	if got := eval(`(async () => { const c = new AudioContext(); await c.resume(); return c.state })()`); got != "running" {
		t.Errorf("AudioContext state without a gesture = %s, want running", got)
	}

	origin := srv.URL
	if got := eval(`Notification.permission`); got == "granted" {
		t.Fatalf("notifications granted before GrantPermission")
	}
	if err := testenv.GrantPermission(ctx, origin, "notifications"); err != nil {
		t.Fatal(err)
	}
	if got := eval(`Notification.permission`); got != "granted" {
		t.Errorf("Notification.permission after GrantPermission = %s", got)
	}

	// A second browser is independent: it does not have the first one's cookie.
	if got := eval(`document.body.innerText`); !strings.Contains(got, "who=first") {
		// The cookie set by /set is sent on the next request; reload to see it.
		run("reload", chromedp.Navigate(srv.URL+"/"))
		if got := eval(`document.body.innerText`); !strings.Contains(got, "who=first") {
			t.Fatalf("first browser lost its cookie: %s", got)
		}
	}
	ctx2 := testenv.Chromium(t)
	c2, cancel := context.WithTimeout(ctx2, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c2, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(c2, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "who=") {
		t.Errorf("second browser shares the first one's cookies: %s", got)
	}
}
