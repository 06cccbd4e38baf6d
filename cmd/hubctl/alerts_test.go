package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

func addAlert(e *consoletest.Env, kind alerts.Kind, sev alerts.Severity, device string, opened time.Time, edit ...func(*alerts.Alert)) *alerts.Alert {
	a := &alerts.Alert{
		Kind: kind, Severity: sev, OpenedAt: opened,
		Device: devices.Device{ID: device, Kind: devices.KindSOSButton, Location: devices.Location{Community: "青山社区", Building: "5栋"},
			Resident: devices.Resident{Name: "王秀英", LivesAlone: true}, Contacts: []devices.Contact{{Name: "王芳", Relation: "女儿", Phone: "13800000001"}}},
	}
	for _, f := range edit {
		f(a)
	}
	return e.Alerts.Add(a)
}

func TestAlertsListAndGet(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	op := e.Tokens[accounts.RoleOperator]
	now := time.Now()
	addAlert(e, alerts.KindSOS, alerts.SeverityCritical, "b-1", now.Add(-2*time.Minute))
	addAlert(e, alerts.KindLowBattery, alerts.SeverityMinor, "g-7", now.Add(-3*time.Hour), func(a *alerts.Alert) {
		a.State, a.Assignee, a.EscalationLevel = alerts.StateAccepted, "alice", 1
	})
	addAlert(e, alerts.KindSOS, alerts.SeverityCritical, "b-9", now, func(a *alerts.Alert) { a.Test = true })

	r := hubctl(t, e, "", "-token", op, "alerts", "list")
	r.want(t, 0, "2 alerts.", "")
	lines := strings.Split(r.stdout, "\n")
	for _, want := range []string{"ID", "SEVERITY", "KIND", "STATE", "DEVICE", "ADDRESS", "RESIDENT", "OPENED", "AGE", "LEVEL", "ASSIGNEE"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %s", lines[0], want)
		}
	}
	if f := strings.Fields(lines[1]); len(f) < 4 || f[0] != "1" || f[1] != "critical" || f[2] != "sos" || f[3] != "new" || !strings.Contains(lines[1], "王秀英") {
		t.Errorf("first row %q", lines[1])
	}
	if !strings.Contains(lines[2], "alice") || !strings.Contains(lines[2], "3h00m") {
		t.Errorf("second row %q lacks the assignee or the age", lines[2])
	}
	if strings.Contains(r.stdout, "b-9") {
		t.Errorf("a test alert is listed by default:\n%s", r.stdout)
	}

	r = hubctl(t, e, "", "-token", op, "alerts", "list", "-state", "accepted", "-severity", "minor")
	r.want(t, 0, "g-7", "")
	if strings.Contains(r.stdout, "b-1") {
		t.Errorf("-state accepted listed b-1:\n%s", r.stdout)
	}
	hubctl(t, e, "", "-token", op, "alerts", "list", "-test").want(t, 0, "new (test)", "")
	hubctl(t, e, "", "-token", op, "alerts", "list", "-since", "1h", "-kind", "low_battery").want(t, 0, "No alerts.", "")
	hubctl(t, e, "", "-token", op, "alerts", "list", "-state", "pending").want(t, 1, "", `state "pending": not an alert state`)

	r = hubctl(t, e, "", "-token", op, "alerts", "list", "-json", "-device", "b-1")
	var lr struct {
		Alerts []alerts.Alert
		Total  int
	}
	if err := json.Unmarshal([]byte(r.stdout), &lr); err != nil || lr.Total != 1 || lr.Alerts[0].DeviceID != "b-1" {
		t.Fatalf("list -json: %v\n%s", err, r.stdout)
	}

	r = hubctl(t, e, "", "-token", op, "alerts", "get", "1")
	r.want(t, 0, "王芳 (女儿) 13800000001", "")
	for _, want := range []string{"sos, critical", "青山社区 / 5栋", "王秀英 (lives alone)", "Timeline:", "opened"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("get lacks %q:\n%s", want, r.stdout)
		}
	}
	hubctl(t, e, "", "-token", op, "alerts", "get", "99").want(t, 1, "", "alert 99 not found")
	hubctl(t, e, "", "-token", op, "alerts", "get", "seven").want(t, 1, "", `alert id "seven"`)
}

func TestAlertsActions(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	op, sup, inst := e.Tokens[accounts.RoleOperator], e.Tokens[accounts.RoleSupervisor], e.Tokens[accounts.RoleInstaller]
	addAlert(e, alerts.KindSOS, alerts.SeverityCritical, "b-1", time.Now().Add(-time.Minute))

	hubctl(t, e, "", "-token", inst, "alerts", "accept", "1").want(t, 1, "", "role installer may not")
	hubctl(t, e, "", "-token", op, "alerts", "accept", "1", "-note", "在路上").want(t, 0, "Accepted alert 1: critical sos at 青山社区 / 5栋, 王秀英.", "")
	hubctl(t, e, "", "-token", sup, "alerts", "accept", "1").want(t, 1, "", "alert 1 was already accepted by operator")

	hubctl(t, e, "", "-token", op, "alerts", "dispatch", "1").want(t, 2, "", "-to is required")
	hubctl(t, e, "", "-token", op, "alerts", "dispatch", "1", "-to", "120").want(t, 0, "Dispatched alert 1 to 120.", "")

	hubctl(t, e, "", "-token", op, "alerts", "resolve", "1").want(t, 2, "", "-outcome is required")
	hubctl(t, e, "", "-token", op, "alerts", "resolve", "1", "-outcome", "sorted").want(t, 1, "", `outcome "sorted"`)
	hubctl(t, e, "", "-token", op, "alerts", "resolve", "1", "-outcome", "genuine").want(t, 0, "Resolved alert 1: genuine.", "")

	hubctl(t, e, "", "-token", op, "alerts", "close", "1").want(t, 1, "", "role operator may not close alerts")
	hubctl(t, e, "", "-token", sup, "alerts", "close", "1", "-note", "ok").want(t, 0, "Closed alert 1.", "")
	hubctl(t, e, "", "-token", sup, "alerts", "close", "1").want(t, 1, "", "alert 1 is closed")

	hubctl(t, e, "", "-token", op, "alerts", "note", "1").want(t, 2, "", "-note is required")
	hubctl(t, e, "", "-token", op, "alerts", "note", "1", "-note", "回访完毕").want(t, 0, "Added a note to alert 1 (closed).", "")
	hubctl(t, e, "", "-token", op, "alerts", "accept", "42").want(t, 1, "", "alert 42 not found")

	var got []string
	for _, rq := range e.Alerts.Requests() {
		got = append(got, string(rq.Action)+":"+rq.Actor.Name+":"+rq.Note+":"+rq.DispatchTo+":"+string(rq.Outcome))
	}
	want := []string{
		"accept:operator:在路上::", "accept:supervisor:::", "dispatch:operator::120:",
		"resolve:operator:::sorted", "resolve:operator:::genuine",
		"close:supervisor:ok::", "close:supervisor:::", "note:operator:回访完毕::", "accept:operator:::",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	r := hubctl(t, e, "", "-token", op, "alerts", "get", "1")
	for _, want := range []string{"Dispatched:", "120", "Resolved:", "genuine", "回访完毕", "to=120", "outcome=genuine"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("get after the life cycle lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestAlertsStats(t *testing.T) {
	isolate(t)
	e := consoletest.Start(t)
	sup := e.Tokens[accounts.RoleSupervisor]
	now := time.Now()
	for i, accept := range []time.Duration{20 * time.Second, 40 * time.Second, 100 * time.Second, 0} {
		addAlert(e, alerts.KindSOS, alerts.SeverityCritical, "b-1", now.Add(-time.Duration(i+1)*time.Hour), func(a *alerts.Alert) {
			if accept > 0 {
				a.State, a.AcceptedAt = alerts.StateAccepted, a.OpenedAt.Add(accept)
			}
		})
	}
	r := hubctl(t, e, "", "-token", sup, "alerts", "stats")
	r.want(t, 0, "tests excluded", "")
	words := strings.Join(strings.Fields(r.stdout), " ") // the columns' padding aside
	for _, want := range []string{"Alerts: 4", "Within 60 s: 2 (50.0 %; target 97.5 %)", "Within 180 s: 3 (75.0 %; target 99.0 %)", "Median to accept: 40s (of the 3 accepted alerts only)", "Median to resolve: - (of the 0 resolved alerts only)", "Target: NOT met"} {
		if !strings.Contains(words, want) {
			t.Errorf("stats lacks %q:\n%s", want, r.stdout)
		}
	}
	r = hubctl(t, e, "", "-token", sup, "alerts", "stats", "-since", "30m")
	r.want(t, 0, "Alerts:", "")
	if !strings.Contains(r.stdout, "- (no alerts)") || strings.Contains(r.stdout, "%") {
		t.Errorf("empty period:\n%s", r.stdout)
	}
	r = hubctl(t, e, "", "-token", sup, "alerts", "stats", "-since", "7d", "-json")
	var sr struct {
		Alerts  int      `json:"alerts"`
		Share60 *float64 `json:"share_within_60s"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sr); err != nil || sr.Alerts != 4 || sr.Share60 == nil || *sr.Share60 != 0.5 {
		t.Errorf("stats -json: %v\n%s", err, r.stdout)
	}
	hubctl(t, e, "", "-token", sup, "alerts", "stats", "-since", "400d").want(t, 1, "", "longer than 366 days")
	hubctl(t, e, "", "-token", sup, "alerts", "stats", "-since", "soon").want(t, 2, "", "-since")
}

func TestAlertsUsage(t *testing.T) {
	isolate(t)
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"alerts"}, "missing subcommand"},
		{[]string{"alerts", "escalate", "1"}, `unknown subcommand "escalate"`},
		{[]string{"alerts", "accept"}, "missing ID"},
		{[]string{"alerts", "get", "1", "2"}, `unexpected argument "2"`},
		{[]string{"alerts", "accept", "1", "-outcome", "genuine"}, "flag provided but not defined: -outcome"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			hubctl(t, nil, "", tt.args...).want(t, 2, "", tt.stderr)
		})
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 12*time.Minute + 30*time.Second: "12m30s",
		3*time.Hour + 5*time.Minute: "3h05m", 52 * time.Hour: "2d4h",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}
