package console_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// historyCall is what the console asked the history of.
type historyCall struct {
	kind      devices.Kind
	id, field string
	from, to  time.Time
	every     time.Duration
}

func TestTelemetry(t *testing.T) {
	clk := newClock()
	var (
		mu    sync.Mutex
		calls []historyCall
	)
	e := consoletest.Start(t, func(c *console.Config) {
		c.Now = clk.Now
		c.History = func(_ context.Context, kind devices.Kind, id, field string, from, to time.Time, every time.Duration) ([]devices.Reading, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, historyCall{kind, id, field, from, to, every})
			return []devices.Reading{{Time: from, Value: 12.5}}, nil
		}
	})
	if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: "g-1", Kind: devices.KindGas, Location: devices.Location{Community: "c"}}, "h"); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	get := func(query string) response {
		return do(t, e, req{method: "GET", path: "/api/v1/devices/g-1/telemetry?" + query, token: tok(e, accounts.RoleOperator)})
	}
	lastCall := func() historyCall {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) == 0 {
			t.Fatal("History was not called")
		}
		return calls[len(calls)-1]
	}

	r := get("field=lel")
	var tr struct {
		Device, Field, Unit string
		Points              []devices.Reading
	}
	r.decode(t, &tr)
	if r.status != 200 || tr.Device != "g-1" || tr.Field != "lel" || tr.Unit != "%LEL" || len(tr.Points) != 1 || tr.Points[0].Value != 12.5 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if c := lastCall(); c != (historyCall{devices.KindGas, "g-1", "lel", now.Add(-24 * time.Hour), now, 0}) {
		t.Errorf("defaults: History called with %+v", c)
	}

	from, to := now.Add(-48*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)
	if r := get("field=battery&every=5m&from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to)); r.status != 200 {
		t.Fatalf("explicit range: %d %s", r.status, r.body)
	}
	if c := lastCall(); c.field != "battery" || !c.from.Equal(now.Add(-48*time.Hour)) || !c.to.Equal(now.Add(-time.Hour)) || c.every != 5*time.Minute {
		t.Errorf("explicit range: History called with %+v", c)
	}

	bad := []struct{ query, msg string }{
		{"", `field "": a gas device reports lel, temperature, gas_ppm, co, battery, signal`},
		{"field=pm25", `field "pm25"`},
		{"field=lel&from=yesterday", `from "yesterday"`},
		{"field=lel&to=2025-13-01T00:00:00Z", `to "2025-13-01T00:00:00Z"`},
		{"field=lel&from=" + url.QueryEscape(now.Format(time.RFC3339)), "from: must be before to"},
		{"field=lel&from=" + url.QueryEscape(now.Add(-32*24*time.Hour).Format(time.RFC3339)), "longer than 31 days"},
		{"field=lel&every=500ms", `every "500ms"`},
		{"field=lel&every=-1m", `every "-1m"`},
		{"field=lel&every=often", `every "often"`},
	}
	for _, tt := range bad {
		t.Run(tt.query, func(t *testing.T) { get(tt.query).wantError(t, http.StatusBadRequest, "invalid", tt.msg) })
	}
	do(t, e, req{method: "GET", path: "/api/v1/devices/nope/telemetry?field=lel", token: tok(e, accounts.RoleOperator)}).
		wantError(t, http.StatusNotFound, "not_found", "nope")
}
