package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

func TestNewValidatesConfig(t *testing.T) {
	full := func() console.Config {
		return console.Config{
			Registry: consoletest.NewRegistry(),
			Accounts: accountstest.NewAccounts(),
			Alerts:   consoletest.NewAlerts(),
			History: func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
				return nil, nil
			},
			Ready:   func(context.Context) (bool, map[string]string) { return true, nil },
			Metrics: http.NotFoundHandler(),
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for field, clear := range map[string]func(*console.Config){
		"Registry": func(c *console.Config) { c.Registry = nil },
		"Accounts": func(c *console.Config) { c.Accounts = nil },
		"Alerts":   func(c *console.Config) { c.Alerts = nil },
		"History":  func(c *console.Config) { c.History = nil },
		"Ready":    func(c *console.Config) { c.Ready = nil },
		"Metrics":  func(c *console.Config) { c.Metrics = nil },
	} {
		cfg := full()
		clear(&cfg)
		if _, err := console.New(cfg, logger); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("without %s: err = %v, want it named", field, err)
		}
	}
	if _, err := console.New(full(), nil); err == nil {
		t.Error("nil logger accepted")
	}
	if _, err := console.New(full(), logger); err != nil {
		t.Errorf("full config: %v", err)
	}
}

func TestProbes(t *testing.T) {
	ready := true
	e := consoletest.Start(t, func(c *console.Config) {
		c.Ready = func(context.Context) (bool, map[string]string) {
			if ready {
				return true, map[string]string{"sql": "ok"}
			}
			return false, map[string]string{"sql": "ok", "influx": "connection refused"}
		}
	})
	if r := do(t, e, req{method: "GET", path: "/healthz"}); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	if r := do(t, e, req{method: "GET", path: "/readyz"}); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"checks":{"sql":"ok"},"ok":true}` {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	ready = false
	if r := do(t, e, req{method: "GET", path: "/readyz"}); r.status != 503 || !strings.Contains(string(r.body), `"influx":"connection refused"`) || !strings.Contains(string(r.body), `"ok":false`) {
		t.Errorf("readyz when not ready: %d %s", r.status, r.body)
	}
	if r := do(t, e, req{method: "GET", path: "/metrics"}); r.status != 200 || !strings.Contains(string(r.body), "up 1") {
		t.Errorf("metrics: %d %s", r.status, r.body)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e := consoletest.Start(t)
	do(t, e, req{method: "GET", path: "/api/v1/nothing", token: tok(e, accounts.RoleAdmin)}).
		wantError(t, 404, "not_found", "no such route")
	r := do(t, e, req{method: "PATCH", path: "/api/v1/devices/g-1", token: tok(e, accounts.RoleAdmin)})
	r.wantError(t, 405, "method_not_allowed", "PATCH")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "PUT") || !strings.Contains(allow, "DELETE") {
		t.Errorf("Allow = %q", allow)
	}
	do(t, e, req{method: "GET", path: "/api/v1/login"}).wantError(t, 405, "method_not_allowed", "GET")
}

func TestPanicIsRecovered(t *testing.T) {
	e := consoletest.Start(t, func(c *console.Config) {
		c.History = func(context.Context, devices.Kind, string, string, time.Time, time.Time, time.Duration) ([]devices.Reading, error) {
			panic("history exploded")
		}
	})
	if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: "g-1", Kind: devices.KindGas, Location: devices.Location{Community: "c"}}, "h"); err != nil {
		t.Fatal(err)
	}
	r := do(t, e, req{method: "GET", path: "/api/v1/devices/g-1/telemetry?field=lel", token: tok(e, accounts.RoleAdmin)})
	r.wantError(t, 500, "internal", "internal error")
	if strings.Contains(string(r.body), "exploded") {
		t.Errorf("panic leaked: %s", r.body)
	}
	// The server still serves.
	if r := do(t, e, req{method: "GET", path: "/healthz"}); r.status != 200 {
		t.Errorf("healthz after a panic: %d", r.status)
	}
}
