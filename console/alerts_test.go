package console_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// alertsEnv is a console whose clock and fake alert service share clk.
func alertsEnv(t *testing.T) (*consoletest.Env, *clock) {
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Now = clk.Now })
	e.Alerts.Now = clk.Now
	return e, clk
}

func alertAt(kind alerts.Kind, sev alerts.Severity, device, community string, opened time.Time) *alerts.Alert {
	return &alerts.Alert{
		Kind: kind, Severity: sev, Priority: 4 - sev.Rank(), OpenedAt: opened,
		Device: devices.Device{ID: device, Kind: devices.KindSOSButton, Location: devices.Location{Community: community, Building: "5栋"},
			Resident: devices.Resident{Name: "王秀英", LivesAlone: true}},
	}
}

type alertListResp struct {
	Alerts []alerts.Alert `json:"alerts"`
	Total  int            `json:"total"`
}

type alertResp struct {
	Alert alerts.Alert `json:"alert"`
}

func TestListAlerts(t *testing.T) {
	e, clk := alertsEnv(t)
	now := clk.Now()
	e.Alerts.Add(alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", now.Add(-time.Hour)))       // 1
	e.Alerts.Add(alertAt(alerts.KindGasHigh, alerts.SeverityCritical, "g-1", "青山", now.Add(-2*time.Hour))) // 2
	minor := alertAt(alerts.KindLowBattery, alerts.SeverityMinor, "g-1", "绿水", now.Add(-3*time.Hour))
	minor.State = alerts.StateAccepted
	e.Alerts.Add(minor) // 3
	closed := alertAt(alerts.KindSmoke, alerts.SeverityCritical, "s-1", "绿水", now.Add(-48*time.Hour))
	closed.State = alerts.StateClosed
	e.Alerts.Add(closed) // 4
	test := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-2", "青山", now.Add(-time.Minute))
	test.Test = true
	e.Alerts.Add(test) // 5

	since := qtime(now.Add(-90 * time.Minute))
	tests := []struct {
		query string
		ids   []int64
		total int
	}{
		{"", []int64{2, 1, 3, 4}, 4}, // open first, then severity, then oldest; no tests
		{"?state=new,accepted", []int64{2, 1, 3}, 3},
		{"?state=new&state=closed", []int64{2, 1, 4}, 3},
		{"?state=open", []int64{2, 1, 3}, 3},
		{"?state=closed", []int64{4}, 1},
		{"?severity=minor", []int64{3}, 1},
		{"?kind=gas_high", []int64{2}, 1},
		{"?community=%E7%BB%BF%E6%B0%B4", []int64{3, 4}, 2},
		{"?device=g-1", []int64{2, 3}, 2},
		{"?test=true", []int64{5}, 1},
		{"?test=all&kind=sos", []int64{1, 5}, 2},
		{"?from=" + since, []int64{1}, 1},
		{"?to=" + since, []int64{2, 3, 4}, 3},
		{"?limit=2&offset=1", []int64{1, 3}, 4},
		{"?community=nowhere", []int64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := do(t, e, req{method: "GET", path: "/api/v1/alerts" + tt.query, token: tok(e, accounts.RoleInstaller)})
			var lr alertListResp
			r.decode(t, &lr)
			ids := []int64{}
			for _, a := range lr.Alerts {
				ids = append(ids, a.ID)
			}
			if r.status != 200 || !slices.Equal(ids, tt.ids) || lr.Total != tt.total {
				t.Errorf("got %d %v total %d, want %v total %d", r.status, ids, lr.Total, tt.ids, tt.total)
			}
			if !strings.Contains(string(r.body), `"alerts":[`) {
				t.Errorf("alerts is not a JSON array: %s", r.body)
			}
		})
	}
	// Listings carry the device snapshot but not timelines.
	r := do(t, e, req{method: "GET", path: "/api/v1/alerts?device=b-1", token: tok(e, accounts.RoleOperator)})
	var lr alertListResp
	r.decode(t, &lr)
	if len(lr.Alerts) != 1 || lr.Alerts[0].Device.Resident.Name != "王秀英" || lr.Alerts[0].Timeline != nil {
		t.Errorf("listed alert = %+v", lr.Alerts)
	}

	bad := map[string]string{
		"?state=open,pending":    `state "pending"`,
		"?severity=catastrophic": `severity "catastrophic"`,
		"?kind=gas":              `kind "gas"`,
		"?test=maybe":            `test "maybe"`,
		"?from=yesterday":        `from "yesterday"`,
		"?to=2025-01-02":         `to "2025-01-02"`,
		"?from=" + since + "&to=" + qtime(now.Add(-2*time.Hour)): "from: must be before to",
		"?limit=5000": `limit "5000"`,
		"?offset=-1":  `offset "-1"`,
	}
	for query, msg := range bad {
		t.Run(query, func(t *testing.T) {
			do(t, e, req{method: "GET", path: "/api/v1/alerts" + query, token: tok(e, accounts.RoleOperator)}).
				wantError(t, 400, "invalid", msg)
		})
	}
	do(t, e, req{method: "GET", path: "/api/v1/alerts"}).wantError(t, 401, "unauthorized", "Bearer")
}

// qtime formats t for a query string.
func qtime(t time.Time) string { return strings.ReplaceAll(t.Format(time.RFC3339), "+", "%2B") }

func TestGetAlert(t *testing.T) {
	e, clk := alertsEnv(t)
	a := e.Alerts.Add(alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", clk.Now()))

	r := do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), token: tok(e, accounts.RoleInstaller)})
	var ar alertResp
	r.decode(t, &ar)
	if r.status != 200 || ar.Alert.ID != a.ID || ar.Alert.Kind != alerts.KindSOS || len(ar.Alert.Timeline) != 1 || ar.Alert.Timeline[0].Action != alerts.TimelineOpened {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	for path, want := range map[string]struct {
		status    int
		code, msg string
	}{
		"/api/v1/alerts/seven": {400, "invalid", `alert id "seven"`},
		"/api/v1/alerts/0":     {400, "invalid", `alert id "0"`},
		"/api/v1/alerts/-3":    {400, "invalid", `alert id "-3"`},
		"/api/v1/alerts/99":    {404, "not_found", "alert 99 not found"},
	} {
		t.Run(path, func(t *testing.T) {
			do(t, e, req{method: "GET", path: path, token: tok(e, accounts.RoleOperator)}).wantError(t, want.status, want.code, want.msg)
		})
	}
}

func TestAlertLifeCycle(t *testing.T) {
	e, clk := alertsEnv(t)
	a := e.Alerts.Add(alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", clk.Now()))
	path := fmt.Sprintf("/api/v1/alerts/%d/", a.ID)

	steps := []struct {
		action string
		role   accounts.Role
		body   string
		state  alerts.State
		check  func(alerts.Alert) bool
	}{
		{"accept", accounts.RoleOperator, "", alerts.StateAccepted, func(a alerts.Alert) bool { return a.Assignee == "operator" }},
		{"note", accounts.RoleOperator, `{"note":"家属已联系"}`, alerts.StateAccepted, func(a alerts.Alert) bool { return true }},
		{"dispatch", accounts.RoleOperator, `{"to":" 120 ","note":"跌倒"}`, alerts.StateDispatched, func(a alerts.Alert) bool { return a.DispatchedTo == "120" }},
		{"resolve", accounts.RoleOperator, `{"outcome":"genuine"}`, alerts.StateResolved, func(a alerts.Alert) bool { return a.Outcome == alerts.OutcomeGenuine }},
		{"close", accounts.RoleSupervisor, `{"note":"复核完毕"}`, alerts.StateClosed, func(a alerts.Alert) bool { return true }},
		{"note", accounts.RoleAdmin, `{"note":"回访"}`, alerts.StateClosed, func(a alerts.Alert) bool { return true }},
	}
	for i, st := range steps {
		r := do(t, e, req{method: "POST", path: path + st.action, token: tok(e, st.role), body: st.body})
		var ar alertResp
		r.decode(t, &ar)
		if r.status != 200 || ar.Alert.State != st.state || !st.check(ar.Alert) {
			t.Fatalf("%s: %d %s", st.action, r.status, r.body)
		}
		got := e.Alerts.Requests()[i]
		if got.AlertID != a.ID || string(got.Action) != st.action || got.Actor != (alerts.Actor{Name: string(st.role), Role: string(st.role)}) {
			t.Errorf("%s: request = %+v", st.action, got)
		}
	}
	reqs := e.Alerts.Requests()
	if reqs[1].Note != "家属已联系" || reqs[2].DispatchTo != "120" || reqs[2].Note != "跌倒" || reqs[3].Outcome != alerts.OutcomeGenuine {
		t.Errorf("request fields lost: %+v", reqs)
	}
	r := do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), token: tok(e, accounts.RoleOperator)})
	var ar alertResp
	r.decode(t, &ar)
	var actions []string
	for _, te := range ar.Alert.Timeline {
		actions = append(actions, te.Action)
	}
	if want := []string{"opened", "accepted", "device_ack", "note", "dispatched", "resolved", "closed", "note"}; !slices.Equal(actions, want) {
		t.Errorf("timeline = %v, want %v", actions, want)
	}
}

func TestAlertTransitionErrors(t *testing.T) {
	e, clk := alertsEnv(t)
	add := func(state alerts.State, assignee string) string {
		a := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", clk.Now())
		a.State, a.Assignee = state, assignee
		return fmt.Sprintf("/api/v1/alerts/%d/", e.Alerts.Add(a).ID)
	}
	fresh := add(alerts.StateNew, "")
	accepted := add(alerts.StateAccepted, "alice")
	closed := add(alerts.StateClosed, "alice")
	resolved := add(alerts.StateResolved, "alice")
	op, sup := tok(e, accounts.RoleOperator), tok(e, accounts.RoleSupervisor)

	tests := []struct {
		name, path, token, body string
		status                  int
		code, msg               string
	}{
		{"unknown alert", "/api/v1/alerts/99/accept", op, "", 404, "not_found", "alert 99 not found"},
		{"non-numeric id", "/api/v1/alerts/x/accept", op, "", 400, "invalid", `alert id "x"`},
		{"double accept names the winner", accepted + "accept", op, "", 409, "conflict", "already accepted by alice"},
		{"accept a closed alert", closed + "accept", sup, "", 409, "conflict", "alert 3 is closed; it cannot be accepted"},
		{"resolve a closed alert", closed + "resolve", sup, `{"outcome":"genuine"}`, 409, "conflict", "is closed"},
		{"close a closed alert", closed + "close", sup, "", 409, "conflict", "is closed"},
		{"dispatch a new alert", fresh + "dispatch", op, `{"to":"120"}`, 409, "conflict", "cannot be dispatched"},
		{"missing outcome", accepted + "resolve", op, "", 400, "invalid", `outcome "": must be one of`},
		{"empty outcome", accepted + "resolve", op, `{"outcome":"","note":"x"}`, 400, "invalid", `outcome "": must be one of`},
		{"bad outcome", accepted + "resolve", op, `{"outcome":"test"}`, 400, "invalid", `outcome "test"`},
		{"dispatch to nobody", accepted + "dispatch", op, `{"note":"x"}`, 400, "invalid", "to: required"},
		{"empty note", fresh + "note", op, `{"note":""}`, 400, "invalid", "note: required"},
		{"unknown field", fresh + "accept", op, `{"note":"x","priority":1}`, 400, "invalid", `unknown field "priority"`},
		{"field of another action", fresh + "accept", op, `{"outcome":"genuine"}`, 400, "invalid", `unknown field "outcome"`},
		{"wrong type", accepted + "dispatch", op, `{"to":120}`, 400, "invalid", `field "to"`},
		{"syntax", fresh + "accept", op, `{"note":`, 400, "invalid", "invalid JSON"},
		{"two values", fresh + "accept", op, `{} {}`, 400, "invalid", "more than one value"},
		{"too large", fresh + "note", op, `{"note":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", "larger than"},
		{"unauthenticated", fresh + "accept", "", "", 401, "unauthorized", "Bearer"},
		{"unknown action", fresh + "explode", op, "", 404, "not_found", "no such route"},
		{"wrong method", fresh + "accept", op, "", 405, "method_not_allowed", "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.code == "method_not_allowed" {
				method = "GET"
			}
			do(t, e, req{method: method, path: tt.path, token: tt.token, body: tt.body}).wantError(t, tt.status, tt.code, tt.msg)
		})
	}

	// Installers never act on alerts, and operators do not close them:
	// refused at the edge, before the service is asked.
	before := len(e.Alerts.Requests())
	for _, action := range []string{"accept", "dispatch", "resolve", "close", "note"} {
		do(t, e, req{method: "POST", path: fresh + action, token: tok(e, accounts.RoleInstaller), body: `{"note":"x"}`}).
			wantError(t, 403, "forbidden", "role installer may not "+action+" alerts")
	}
	do(t, e, req{method: "POST", path: resolved + "close", token: op}).wantError(t, 403, "forbidden", "role operator may not close alerts")
	if n := len(e.Alerts.Requests()); n != before {
		t.Errorf("%d refused requests reached the service", n-before)
	}

	// Nothing changed: every alert is at its first version.
	r := do(t, e, req{method: "GET", path: "/api/v1/alerts?test=all", token: op})
	var lr alertListResp
	r.decode(t, &lr)
	for _, a := range lr.Alerts {
		if a.Version != 1 {
			t.Errorf("alert %d changed by a refused request: version %d, state %s", a.ID, a.Version, a.State)
		}
	}
}

// TestAlertDomainErrors checks that each of the service's error codes
// reaches the client with its status and message.
func TestAlertDomainErrors(t *testing.T) {
	e, _ := alertsEnv(t)
	for code, status := range map[string]int{
		shouwang.ENOTFOUND: 404, shouwang.ECONFLICT: 409, shouwang.EINVALID: 400, shouwang.EFORBIDDEN: 403,
	} {
		e.Alerts.Fail = shouwang.Errorf(code, "the domain says %s", code)
		do(t, e, req{method: "POST", path: "/api/v1/alerts/1/note", token: tok(e, accounts.RoleSupervisor), body: `{"note":"x"}`}).
			wantError(t, status, code, "the domain says "+code)
	}
}

func TestAlertServiceFailure(t *testing.T) {
	e, _ := alertsEnv(t)
	e.Alerts.Fail = errors.New("database is locked")
	for _, rq := range []req{
		{method: "GET", path: "/api/v1/alerts"},
		{method: "GET", path: "/api/v1/alerts/1"},
		{method: "POST", path: "/api/v1/alerts/1/accept"},
		{method: "GET", path: "/api/v1/alerts/stats"},
	} {
		rq.token = tok(e, accounts.RoleAdmin)
		r := do(t, e, rq)
		r.wantError(t, 500, "internal", "internal error")
		if strings.Contains(string(r.body), "locked") {
			t.Errorf("%s %s leaked the cause: %s", rq.method, rq.path, r.body)
		}
	}
}

type statsResp struct {
	From, To       time.Time
	Alerts         int      `json:"alerts"`
	Accepted       int      `json:"accepted"`
	Within60s      int      `json:"accepted_within_60s"`
	Within180s     int      `json:"accepted_within_180s"`
	Share60        *float64 `json:"share_within_60s"`
	Share180       *float64 `json:"share_within_180s"`
	MedianAccept   *float64 `json:"median_accept_seconds"`
	MedianDispatch *float64 `json:"median_dispatch_seconds"`
	MedianResolve  *float64 `json:"median_resolve_seconds"`
	Target60       float64  `json:"target_within_60s"`
	Target180      float64  `json:"target_within_180s"`
	MeetsTarget    *bool    `json:"meets_target"`
}

func TestAlertStats(t *testing.T) {
	e, clk := alertsEnv(t)
	now := clk.Now()
	// Four real alerts in the last day, accepted after 10 s, 50 s, 120 s
	// and never; one older; one test accepted at once.
	for i, accept := range []time.Duration{10 * time.Second, 50 * time.Second, 120 * time.Second, 0} {
		a := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", now.Add(-time.Duration(i+1)*time.Hour))
		if accept > 0 {
			a.State, a.AcceptedAt = alerts.StateAccepted, a.OpenedAt.Add(accept)
		}
		if i == 0 {
			a.DispatchedAt = a.OpenedAt.Add(90 * time.Second)
		}
		e.Alerts.Add(a)
	}
	old := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-1", "青山", now.Add(-30*time.Hour))
	old.AcceptedAt = old.OpenedAt.Add(time.Hour)
	e.Alerts.Add(old)
	test := alertAt(alerts.KindSOS, alerts.SeverityCritical, "b-2", "青山", now.Add(-time.Minute))
	test.Test, test.AcceptedAt = true, now
	e.Alerts.Add(test)

	get := func(query string) (response, statsResp) {
		r := do(t, e, req{method: "GET", path: "/api/v1/alerts/stats" + query, token: tok(e, accounts.RoleSupervisor)})
		var sr statsResp
		if r.status == 200 {
			r.decode(t, &sr)
		}
		return r, sr
	}
	r, sr := get("")
	if r.status != 200 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	if !sr.To.Equal(now) || !sr.From.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("default period %v – %v, want the last 24 h to %v", sr.From, sr.To, now)
	}
	if sr.Alerts != 4 || sr.Accepted != 3 || sr.Within60s != 2 || sr.Within180s != 3 {
		t.Errorf("counts = %+v", sr)
	}
	if sr.Share60 == nil || *sr.Share60 != 0.5 || sr.Share180 == nil || *sr.Share180 != 0.75 {
		t.Errorf("shares = %v, %v; want 0.5, 0.75", sr.Share60, sr.Share180)
	}
	if sr.MedianAccept == nil || *sr.MedianAccept != 50 || sr.MedianDispatch == nil || *sr.MedianDispatch != 90 || sr.MedianResolve != nil {
		t.Errorf("medians = %v %v %v; want 50, 90, null", sr.MedianAccept, sr.MedianDispatch, sr.MedianResolve)
	}
	if sr.Target60 != 0.975 || sr.Target180 != 0.99 || sr.MeetsTarget == nil || *sr.MeetsTarget {
		t.Errorf("targets = %v %v, meets %v", sr.Target60, sr.Target180, sr.MeetsTarget)
	}

	// A period with only the test alert: no figures, nulls rather than 0.
	r, sr = get("?from=" + qtime(now.Add(-30*time.Minute)) + "&to=" + qtime(now.Add(time.Minute)))
	if r.status != 200 || sr.Alerts != 0 || sr.Share60 != nil || sr.Share180 != nil || sr.MedianAccept != nil || sr.MeetsTarget != nil {
		t.Errorf("empty period: %d %s", r.status, r.body)
	}
	for _, key := range []string{`"share_within_60s":null`, `"meets_target":null`, `"median_accept_seconds":null`} {
		if !strings.Contains(string(r.body), key) {
			t.Errorf("empty period: %s missing from %s", key, r.body)
		}
	}
	// One well-answered alert meets the target.
	r, sr = get("?from=" + qtime(now.Add(-90*time.Minute)))
	if r.status != 200 || sr.Alerts != 1 || sr.MeetsTarget == nil || !*sr.MeetsTarget || *sr.Share60 != 1 {
		t.Errorf("one alert answered in 10 s: %d %s", r.status, r.body)
	}

	bad := map[string]string{
		"?from=yesterday":                            `from "yesterday"`,
		"?to=now":                                    `to "now"`,
		"?from=" + qtime(now.Add(time.Hour)):         "from: must be before to",
		"?from=" + qtime(now.Add(-367*24*time.Hour)): "longer than 366 days",
	}
	for query, msg := range bad {
		t.Run(query, func(t *testing.T) {
			r, _ := get(query)
			r.wantError(t, 400, "invalid", msg)
		})
	}
}
