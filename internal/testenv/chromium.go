package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumFlags are the command-line switches of every test browser, besides
// --user-data-dir (fresh for each browser) and --window-size. They follow the
// design: headless, no sandbox (tests often run as root in containers), no
// GPU, no QUIC, nothing fetched in the background; audio may start without a
// user gesture, so the console's alarm sound plays as soon as an alert comes;
// and a fake camera and microphone that need no prompt, for voice calls.
var ChromiumFlags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--autoplay-policy=no-user-gesture-required",
	"--use-fake-device-for-media-stream",
	"--use-fake-ui-for-media-stream",
}

// ChromiumWindow is the browser window's size: a duty-room screen.
const (
	ChromiumWidth  = 1366
	ChromiumHeight = 768
)

// chromiumStartTimeout bounds starting the browser and opening its first tab
// on a busy machine.
const chromiumStartTimeout = 60 * time.Second

// Chromium starts a fresh headless Chromium (Debian's /usr/bin/chromium,
// found as ToolPath finds programs) with ChromiumFlags, a new profile in a
// temporary directory and a 1366×768 window, and returns a chromedp context
// for its first tab, already open on about:blank. Each call starts a separate
// browser, so two calls give two independent consoles (separate cookies).
// The browser is closed when the test ends; the page's console messages and
// uncaught exceptions are printed then if the test failed.
//
// Bound each action with a context derived from the returned one
// (context.WithTimeout); do not cancel the returned context itself.
func Chromium(t testing.TB) context.Context {
	t.Helper()
	return ChromiumWith(t, ChromiumOptions{})
}

// ChromiumOptions change a test browser from the default one.
type ChromiumOptions struct {
	// Flags are more command-line switches, as "--name=value": say
	// --host-resolver-rules to open the hub by a name, and
	// --ignore-certificate-errors-spki-list to trust its CA for this run.
	Flags []string
	// NoMicrophone leaves out the fake camera and microphone
	// (--use-fake-device-for-media-stream): the browser of a PC without
	// one. Permission prompts are still accepted, so asking for the
	// microphone fails at once instead of waiting on a prompt.
	NoMicrophone bool
}

// ChromiumWith is Chromium with opts.
func ChromiumWith(t testing.TB, o ChromiumOptions) context.Context {
	t.Helper()
	path := ToolPath(t, "chromium")
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatalf("testenv: chromium profile: %v", err)
	}
	logPath := filepath.Join(filepath.Dir(profile), "chromium.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("testenv: chromium log: %v", err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(ChromiumWidth, ChromiumHeight),
		chromedp.CombinedOutput(logf),
	}
	for _, f := range append(slices.Clone(ChromiumFlags), o.Flags...) {
		if o.NoMicrophone && f == "--use-fake-device-for-media-stream" {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	page := &pageLog{}
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		logf.Close()
		// Children of the browser (zygote, utility processes) may outlive
		// it by a moment and still write in the profile; the test's own
		// TempDir removal must not race them.
		killProfileLeftovers(profile)
		removeAllRetry(profile, 10*time.Second)
		if t.Failed() {
			if lines := page.lines(); len(lines) > 0 {
				t.Logf("testenv: chromium page console:\n%s", strings.Join(lines, "\n"))
			}
			if b, err := os.ReadFile(logPath); err == nil {
				if lines := browserLogLines(b); lines != "" {
					t.Logf("testenv: chromium log (%s):\n%s", logPath, tail([]byte(lines), logTailBytes))
				}
			}
		}
	})

	startCtx, cancel := context.WithTimeout(ctx, chromiumStartTimeout)
	defer cancel()
	// The first Run starts the browser; it must use ctx itself, not the
	// timeout context, or the browser would die with the timeout.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(ctx) }()
	select {
	case err = <-errc:
	case <-startCtx.Done():
		err = fmt.Errorf("not started after %s", chromiumStartTimeout)
	}
	if err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("testenv: start chromium %s: %v\n%s", path, err, tail([]byte(browserLogLines(b)), logTailBytes))
	}
	// chromedp enables the Runtime domain when it attaches to the tab, so
	// console and exception events flow without another command.
	if err := chromedp.Listen(ctx, page.record); err != nil {
		t.Fatalf("testenv: chromium: listen to the page: %v", err)
	}
	return ctx
}

// GrantPermission grants origin (as "http://127.0.0.1:8080") a permission in
// the browser of ctx, such as "notifications" for the console's desktop
// notifications, so the page never waits on a prompt nobody can answer.
func GrantPermission(ctx context.Context, origin, name string) error {
	_, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: name},
		Setting:    browser.PermissionSettingGranted,
		Origin:     origin,
	})
	if err != nil {
		return fmt.Errorf("grant %s to %s: %w", name, origin, err)
	}
	return nil
}

// pageLog keeps what the page wrote to its console and the exceptions it
// did not catch, for the log of a failed test. Listeners run inside
// chromedp's read loop, so recording only appends under a lock.
type pageLog struct {
	mu  sync.Mutex
	buf []string
}

const pageLogMax = 500

func (p *pageLog) record(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			switch {
			case len(a.Value) > 0:
				args = append(args, string(a.Value))
			case a.Description != "":
				args = append(args, a.Description)
			default:
				args = append(args, string(a.Type))
			}
		}
		line = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		line = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg)
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) < pageLogMax {
		p.buf = append(p.buf, time.Now().Format("15:04:05.000 ")+line)
	}
}

func (p *pageLog) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.buf...)
}

// browserLogNoise matches log lines every headless Chromium prints in a
// container, which say nothing about a failure: no D-Bus, and the Debian
// wrapper script's harmless complaint about its own memory check.
var browserLogNoise = regexp.MustCompile(`dbus/|/usr/bin/chromium: \d+: \[:`)

// browserLogLines is the browser's log without its noise.
func browserLogLines(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !browserLogNoise.MatchString(l) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// killProfileLeftovers kills processes still running with --user-data-dir
// set to profile: children of the browser this package started (Chromium
// passes the switch to every child), never anything else.
func killProfileLeftovers(profile string) {
	want := "--user-data-dir=" + profile
	for range 5 {
		found := false
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return // not Linux
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			for _, arg := range strings.Split(string(cmdline), "\x00") {
				if arg == want {
					if p, err := os.FindProcess(pid); err == nil {
						p.Kill()
						found = true
					}
					break
				}
			}
		}
		if !found {
			return
		}
		time.Sleep(50 * time.Millisecond) // let the killed processes go before looking again
	}
}

// removeAllRetry removes dir, retrying while something still writes in it.
func removeAllRetry(dir string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := os.RemoveAll(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
