package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// addDevices registers devices of kind k, the first online of them online
// and all heard from at seen.
func addDevices(t *testing.T, e *consoletest.Env, prefix string, k devices.Kind, n, online int, seen time.Time) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: id, Kind: k, Location: devices.Location{Community: "青山", Building: "5栋"}}, "h"); err != nil {
			t.Fatal(err)
		}
		if err := e.Registry.UpdateHealth(context.Background(), []devices.HealthUpdate{{ID: id, LastSeen: seen.Add(time.Duration(i) * time.Second), Online: new(i < online)}}); err != nil {
			t.Fatal(err)
		}
	}
}

type summaryResp struct {
	Total       int                                             `json:"total"`
	Online      int                                             `json:"online"`
	Offline     int                                             `json:"offline"`
	ByKind      map[string]struct{ Total, Online, Offline int } `json:"by_kind"`
	Silent      []map[string]any                                `json:"silent"`
	SilentTotal int                                             `json:"silent_total"`
}

func TestDevicesSummary(t *testing.T) {
	e := consoletest.Start(t)
	r := do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)})
	if r.status != http.StatusOK || string(r.body) != `{"total":0,"online":0,"offline":0,"by_kind":{},"silent":[],"silent_total":0}`+"\n" {
		t.Fatalf("empty summary: %d %s", r.status, r.body)
	}

	seen := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	addDevices(t, e, "gas", devices.KindGas, 5, 3, seen)
	addDevices(t, e, "sos", devices.KindSOSButton, 2, 2, seen)
	addDevices(t, e, "air", devices.KindAir, 3, 0, seen) // offline, but not life-safety
	// A smoke detector registered but never heard from is not silent.
	if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: "smoke-new", Kind: devices.KindSmoke, Location: devices.Location{Community: "青山"}}, "h"); err != nil {
		t.Fatal(err)
	}

	for _, role := range []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleInstaller, accounts.RoleAdmin} {
		r := do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, role)})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", role, r.status, r.body)
		}
	}
	var s summaryResp
	do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)}).decode(t, &s)
	if s.Total != 11 || s.Online != 5 || s.Offline != 6 {
		t.Errorf("totals = %d/%d/%d, want 11 total, 5 online, 6 offline", s.Total, s.Online, s.Offline)
	}
	if g := s.ByKind["gas"]; g.Total != 5 || g.Online != 3 || g.Offline != 2 {
		t.Errorf("by_kind.gas = %+v", g)
	}
	if a := s.ByKind["air"]; a.Total != 3 || a.Online != 0 || a.Offline != 3 {
		t.Errorf("by_kind.air = %+v", a)
	}
	if len(s.ByKind) != 4 {
		t.Errorf("by_kind = %+v, want the four kinds present", s.ByKind)
	}
	// Without Config.Silent: the registry's offline life-safety devices
	// that were heard from, longest silent first.
	if s.SilentTotal != 2 || len(s.Silent) != 2 || s.Silent[0]["id"] != "gas-3" || s.Silent[1]["id"] != "gas-4" {
		t.Fatalf("silent = %v (total %d), want gas-3, gas-4", s.Silent, s.SilentTotal)
	}
	if s.Silent[0]["kind"] != "gas" || s.Silent[0]["last_seen"] != "2025-03-01T08:00:03Z" || s.Silent[0]["location"].(map[string]any)["building"] != "5栋" {
		t.Errorf("silent[0] = %v", s.Silent[0])
	}

	do(t, e, req{method: "GET", path: "/api/v1/devices/summary"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
}

func TestDevicesSummarySilent(t *testing.T) {
	var fail error
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	e := consoletest.Start(t, func(c *console.Config) {
		c.Silent = func(context.Context) ([]console.SilentDevice, error) {
			if fail != nil {
				return nil, fail
			}
			var ds []console.SilentDevice
			for i := range 250 {
				// Newest first, to see them sorted.
				ds = append(ds, console.SilentDevice{ID: fmt.Sprintf("s-%03d", i), Kind: devices.KindSmoke, LastSeen: base.Add(-time.Duration(i) * time.Minute), AlertID: int64(i + 1)})
			}
			return ds, nil
		}
	})
	var s summaryResp
	r := do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)})
	r.decode(t, &s)
	if s.SilentTotal != 250 || len(s.Silent) != 200 {
		t.Fatalf("silent: %d listed of %d, want 200 of 250", len(s.Silent), s.SilentTotal)
	}
	if s.Silent[0]["id"] != "s-249" || s.Silent[0]["alert_id"] != float64(250) || s.Silent[199]["id"] != "s-050" {
		t.Errorf("silent not longest-silent first: first %v, last %v", s.Silent[0], s.Silent[199])
	}

	fail = errors.New("store down")
	do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)}).wantError(t, http.StatusInternalServerError, "internal", "")
	fail = nil
	e.Registry.Fail = errors.New("disk on fire")
	do(t, e, req{method: "GET", path: "/api/v1/devices/summary", token: tok(e, accounts.RoleOperator)}).wantError(t, http.StatusInternalServerError, "internal", "")
}
