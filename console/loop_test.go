package console_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

var (
	gridOne = devices.GridRef{Community: "阳光社区", Grid: "网格一"}
	gridTwo = devices.GridRef{Community: "阳光社区", Grid: "网格二"}
)

// loopAlert adds a new sos alert of a device in grid g.
func loopAlert(e *consoletest.Env, id string, g devices.GridRef, edit ...func(*alerts.Alert)) *alerts.Alert {
	a := &alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, Priority: 1, DeviceID: id,
		Device: devices.Device{ID: id, Kind: devices.KindSOSButton, Location: devices.Location{Community: g.Community, Grid: g.Grid, Building: "3号楼"}}}
	for _, f := range edit {
		f(a)
	}
	return e.Alerts.Add(a)
}

// A grid worker sees their grids' alerts and those sent to them, and
// nothing else: not in listings, not by ID, not to act on; not the device
// lists or the answer-time figures of the duty room's desk.
func TestGridWorkerScope(t *testing.T) {
	e := consoletest.Start(t)
	gw := e.AddGridWorker(t, "zhang", gridOne)
	mine := loopAlert(e, "sos-1", gridOne)
	other := loopAlert(e, "sos-2", gridTwo)
	elsewhere := loopAlert(e, "sos-3", devices.GridRef{Community: "月季社区", Grid: "网格一"})

	var list struct {
		Alerts []*alerts.Alert
		Total  int
	}
	do(t, e, req{method: "GET", path: "/api/v1/alerts", token: gw}).decode(t, &list)
	if list.Total != 1 || len(list.Alerts) != 1 || list.Alerts[0].ID != mine.ID {
		t.Fatalf("the grid worker lists %+v, want only alert %d", list, mine.ID)
	}
	for _, a := range []*alerts.Alert{other, elsewhere} {
		r := do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), token: gw})
		r.wantError(t, http.StatusNotFound, "not_found", "not found")
		if r.json(t)["key"] != "alert.not_found" {
			t.Errorf("no key on the not-found: %s", r.body)
		}
		do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/accept", a.ID), token: gw}).wantError(t, http.StatusNotFound, "not_found", "not found")
	}
	if r := do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/accept", mine.ID), token: gw}); r.status != http.StatusOK {
		t.Fatalf("accept in the grid: %d %s", r.status, r.body)
	}
	// An operator sends the grid worker the other grid's alert: now theirs.
	op := e.Tokens[accounts.RoleOperator]
	do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/accept", other.ID), token: op})
	if r := do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/dispatch", other.ID), token: op, body: `{"to":"grid_worker","worker":"zhang"}`}); r.status != http.StatusOK {
		t.Fatalf("dispatch to zhang: %d %s", r.status, r.body)
	}
	if r := do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", other.ID), token: gw}); r.status != http.StatusOK {
		t.Errorf("an alert sent to the grid worker: %d", r.status)
	}
	for _, p := range []string{"/api/v1/devices", "/api/v1/devices/summary", "/api/v1/alerts/stats", "/api/v1/alerts/figures", "/api/v1/reports/monthly?month=2026-03", "/api/v1/gridworkers"} {
		do(t, e, req{method: "GET", path: p, token: gw}).wantError(t, http.StatusForbidden, "forbidden", "")
	}
	// Devices: the grid's, not another's.
	for _, a := range []*alerts.Alert{mine, other} {
		d := a.Device
		if err := e.Registry.CreateDevice(t.Context(), &d, "$7$x"); err != nil {
			t.Fatal(err)
		}
	}
	if r := do(t, e, req{method: "GET", path: "/api/v1/devices/sos-1", token: gw}); r.status != http.StatusOK {
		t.Errorf("a device of the grid: %d", r.status)
	}
	do(t, e, req{method: "GET", path: "/api/v1/devices/sos-2", token: gw}).wantError(t, http.StatusNotFound, "not_found", "")
	do(t, e, req{method: "GET", path: "/api/v1/devices/sos-2/telemetry?field=battery", token: gw}).wantError(t, http.StatusNotFound, "not_found", "")
}

// The grid worker's task over the API: dispatched to an account that is a
// grid worker (anyone else is refused), taken, arrived at, resolved, then
// followed up and reviewed with a rating.
func TestGridWorkerTaskAPI(t *testing.T) {
	e := consoletest.Start(t)
	gw := e.AddGridWorker(t, "zhang", gridOne)
	op, sup := e.Tokens[accounts.RoleOperator], e.Tokens[accounts.RoleSupervisor]
	a := loopAlert(e, "sos-1", gridTwo)
	path := func(act string) string { return fmt.Sprintf("/api/v1/alerts/%d/%s", a.ID, act) }
	do(t, e, req{method: "POST", path: path("accept"), token: op})
	for _, bad := range []string{"nobody", "operator"} {
		r := do(t, e, req{method: "POST", path: path("dispatch"), token: op, body: `{"worker":"` + bad + `"}`})
		r.wantError(t, http.StatusBadRequest, "invalid", "not a grid worker's account")
		if r.json(t)["key"] != "task.no_worker" {
			t.Errorf("dispatch to %s: key %v", bad, r.json(t)["key"])
		}
	}
	step := func(token, act, body string) *alerts.Alert {
		t.Helper()
		r := do(t, e, req{method: "POST", path: path(act), token: token, body: body})
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", act, r.status, r.body)
		}
		var out struct{ Alert *alerts.Alert }
		r.decode(t, &out)
		return out.Alert
	}
	got := step(op, "dispatch", `{"worker":"zhang","note":"请尽快上门"}`)
	if got.Task == nil || got.Task.Worker != "zhang" || got.Task.State != alerts.TaskSent || got.DispatchedTo != "grid_worker:zhang" {
		t.Fatalf("after dispatch: task %+v, to %q", got.Task, got.DispatchedTo)
	}
	do(t, e, req{method: "POST", path: path("arrive"), token: gw}).wantError(t, http.StatusConflict, "conflict", "take the task before arriving")
	step(gw, "take", "")
	got = step(gw, "arrive", `{"note":"已到楼下"}`)
	if got.Task.State != alerts.TaskArrived || got.Task.ArrivedAt.IsZero() {
		t.Fatalf("after arrive: %+v", got.Task)
	}
	do(t, e, req{method: "POST", path: path("resolve"), token: gw, body: `{"note":"x"}`}).wantError(t, http.StatusBadRequest, "invalid", "outcome")
	got = step(gw, "resolve", `{"outcome":"genuine","note":"老人摔倒，已扶起"}`)
	if got.State != alerts.StateResolved || got.Task.State != alerts.TaskHandled || !got.FollowUp.Pending() {
		t.Fatalf("after resolve: %s, task %+v, follow-up %+v", got.State, got.Task, got.FollowUp)
	}
	do(t, e, req{method: "POST", path: path("followup"), token: gw, body: `{"method":"phone"}`}).wantError(t, http.StatusBadRequest, "invalid", "method")
	got = step(gw, "followup", `{"method":"visit","result":"resident_ok","evaluation":"satisfied","note":"老人情况良好"}`)
	if f := got.FollowUp; f == nil || f.By != "zhang" || !f.OnTime() || f.Evaluation != alerts.EvalSatisfied {
		t.Fatalf("after the follow-up: %+v", f)
	}
	do(t, e, req{method: "POST", path: path("close"), token: gw, body: `{"rating":5}`}).wantError(t, http.StatusForbidden, "forbidden", "")
	do(t, e, req{method: "POST", path: path("close"), token: sup, body: `{"rating":9}`}).wantError(t, http.StatusBadRequest, "invalid", "rating")
	got = step(sup, "close", `{"rating":4,"note":"处置及时，回访到位"}`)
	if r := got.Review; got.State != alerts.StateClosed || r == nil || r.Rating != 4 || r.Comment != "处置及时，回访到位" || r.By != "supervisor" {
		t.Fatalf("after the review: %s %+v", got.State, got.Review)
	}
	// The follow-ups pending are listed for whoever makes them.
	b := loopAlert(e, "sos-9", gridOne)
	for _, act := range []string{"accept", "resolve"} {
		do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/%s", b.ID, act), token: op, body: map[string]string{"accept": "", "resolve": `{"outcome":"genuine"}`}[act]})
	}
	var pending struct{ Alerts []*alerts.Alert }
	do(t, e, req{method: "GET", path: "/api/v1/alerts?followup=pending", token: gw}).decode(t, &pending)
	if len(pending.Alerts) != 1 || pending.Alerts[0].ID != b.ID {
		t.Errorf("pending follow-ups: %+v, want alert %d", pending.Alerts, b.ID)
	}
}

// tinyJPEG is a real 8×8 JPEG.
func tinyJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Photos: a grid worker's photo is kept with the alert and served back as
// what it is; text claiming to be a JPEG, an oversized body and a photo of
// an alert outside the grid worker's scope are refused.
func TestPhotosAPI(t *testing.T) {
	e := consoletest.Start(t, func(c *console.Config) { c.Photos = consoletest.NewPhotos(c.Alerts.(*consoletest.Alerts)) })
	gw := e.AddGridWorker(t, "zhang", gridOne)
	a := loopAlert(e, "sos-1", gridOne)
	other := loopAlert(e, "sos-2", gridTwo)
	pic := tinyJPEG(t)
	r := do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/photos", a.ID), token: gw, contentType: "image/jpeg", body: string(pic)})
	if r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var up struct{ Photo alerts.Photo }
	r.decode(t, &up)
	if up.Photo.ID == 0 || up.Photo.ContentType != "image/jpeg" || up.Photo.Size != int64(len(pic)) || up.Photo.By != "zhang" {
		t.Fatalf("uploaded %+v", up.Photo)
	}
	for _, tok := range []string{gw, e.Tokens[accounts.RoleOperator]} {
		g := do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d/photos/%d", a.ID, up.Photo.ID), token: tok})
		if g.status != http.StatusOK || !bytes.Equal(g.body, pic) || g.header.Get("Content-Type") != "image/jpeg" ||
			g.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(g.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("GET photo: %d %q %v", g.status, g.header.Get("Content-Type"), g.header)
		}
	}
	var full struct{ Alert *alerts.Alert }
	do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d", a.ID), token: gw}).decode(t, &full)
	if last := full.Alert.Timeline[len(full.Alert.Timeline)-1]; last.Action != alerts.TimelinePhoto || last.Data["photo"] != fmt.Sprint(up.Photo.ID) {
		t.Errorf("the timeline's last entry %+v, want the photo", last)
	}
	bad := do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/photos", a.ID), token: gw, contentType: "image/jpeg", body: "<script>alert(1)</script>"})
	bad.wantError(t, http.StatusBadRequest, "invalid", "not a JPEG or PNG")
	if bad.json(t)["key"] != "photo.type" {
		t.Errorf("key %v", bad.json(t)["key"])
	}
	big := do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/photos", a.ID), token: gw, contentType: "image/jpeg", body: string(pic) + strings.Repeat("x", 9<<20)})
	big.wantError(t, http.StatusRequestEntityTooLarge, "too_large", "")
	do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/photos", other.ID), token: gw, contentType: "image/jpeg", body: string(pic)}).
		wantError(t, http.StatusNotFound, "not_found", "")
	do(t, e, req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/photos", a.ID), token: e.Tokens[accounts.RoleInstaller], contentType: "image/jpeg", body: string(pic)}).
		wantError(t, http.StatusForbidden, "forbidden", "")
}

// Accounts of grid workers: bound to at least one grid; other roles to
// none; listed for a dispatch, those of the alert's grid first.
func TestGridWorkerAccounts(t *testing.T) {
	e := consoletest.Start(t)
	admin := e.Tokens[accounts.RoleAdmin]
	do(t, e, req{method: "POST", path: "/api/v1/users", token: admin, body: `{"username":"wang","role":"gridworker","password":"a-long-password"}`}).
		wantError(t, http.StatusBadRequest, "invalid", "at least one grid")
	do(t, e, req{method: "POST", path: "/api/v1/users", token: admin, body: `{"username":"op2","role":"operator","password":"a-long-password","grids":[{"community":"阳光社区","grid":"网格一"}]}`}).
		wantError(t, http.StatusBadRequest, "invalid", "only a grid worker")
	r := do(t, e, req{method: "POST", path: "/api/v1/users", token: admin, body: `{"username":"wang","role":"gridworker","password":"a-long-password","phone":"13800001111","grids":[{"community":"阳光社区","grid":"网格二"}]}`})
	if r.status != http.StatusCreated {
		t.Fatalf("create a grid worker: %d %s", r.status, r.body)
	}
	var created struct{ User accounts.User }
	r.decode(t, &created)
	if created.User.Phone != "13800001111" || len(created.User.Grids) != 1 || created.User.Grids[0] != gridTwo {
		t.Errorf("created %+v", created.User)
	}
	e.AddGridWorker(t, "zhang", gridOne)
	var list struct {
		GridWorkers []console.GridWorker `json:"grid_workers"`
	}
	do(t, e, req{method: "GET", path: "/api/v1/gridworkers?community=" + gridTwo.Community + "&grid=" + gridTwo.Grid, token: e.Tokens[accounts.RoleOperator]}).decode(t, &list)
	if len(list.GridWorkers) != 2 || list.GridWorkers[0].Username != "wang" || list.GridWorkers[1].Username != "zhang" {
		t.Errorf("grid workers for 网格二: %+v", list.GridWorkers)
	}
	r = do(t, e, req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d/profile", created.User.ID), token: admin, body: `{"grids":[{"community":"阳光社区","grid":"网格一"},{"community":"阳光社区","grid":"网格二"}]}`})
	if r.status != http.StatusOK {
		t.Fatalf("set profile: %d %s", r.status, r.body)
	}
	if u, _, _ := e.Accounts.UserByName(t.Context(), "wang"); len(u.Grids) != 2 || u.Phone != "" {
		t.Errorf("after the profile: %+v", u.Profile)
	}
	do(t, e, req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d/profile", created.User.ID), token: admin, body: `{"grids":[]}`}).
		wantError(t, http.StatusBadRequest, "invalid", "at least one grid")
}

// The monthly report from known data: March 2026 in Shanghai, two
// communities and three grids, every figure worked out by hand below.
func TestMonthlyReport(t *testing.T) {
	e := consoletest.Start(t)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, sh) }
	yue := devices.GridRef{Community: "月季社区", Grid: "网格一"}
	type spec struct {
		g                 devices.GridRef
		opened            time.Time
		accept, arrive    time.Duration // 0: never
		outcome           alerts.Outcome
		due, done         time.Duration // follow-up, from resolving; 0: none due / not done
		reviewed          bool
		rating            int
		test              bool
		deviceID, comment string
	}
	specs := []spec{
		{g: gridOne, opened: at(10, 10), accept: 30 * time.Second, arrive: 10 * time.Minute, outcome: alerts.OutcomeGenuine, due: 24 * time.Hour, done: 5 * time.Hour, reviewed: true, rating: 5}, // A1
		{g: gridOne, opened: at(11, 9), accept: 90 * time.Second, arrive: 20 * time.Minute, outcome: alerts.OutcomeGenuine, due: 24 * time.Hour, done: 30 * time.Hour, reviewed: true, rating: 3}, // A2: followed up late
		{g: gridOne, opened: at(12, 20), accept: 200 * time.Second, outcome: alerts.OutcomeFalseAlarm},                                                                                            // A3
		{g: gridTwo, opened: at(15, 3)}, // A4: never accepted
		{g: gridTwo, opened: at(20, 14), accept: 60 * time.Second, outcome: alerts.OutcomeReferred, due: 24 * time.Hour, reviewed: true, rating: 4},                           // A5: follow-up not done
		{g: yue, opened: at(31, 23), accept: 10 * time.Second, arrive: 5 * time.Minute, outcome: alerts.OutcomeGenuine, due: 24 * time.Hour, done: time.Hour, reviewed: true}, // A6: no rating
		{g: gridOne, opened: time.Date(2026, 2, 28, 23, 59, 0, 0, sh), accept: time.Second},                                                                                   // before the month
		{g: gridOne, opened: time.Date(2026, 4, 1, 0, 0, 0, 0, sh), accept: time.Second},                                                                                      // after it
		{g: gridOne, opened: at(5, 5), accept: time.Second, test: true},                                                                                                       // a test
	}
	for i, s := range specs {
		loopAlert(e, fmt.Sprintf("sos-%d", i+1), s.g, func(a *alerts.Alert) {
			a.OpenedAt, a.Test = s.opened, s.test
			if s.accept > 0 {
				a.State, a.AcceptedAt = alerts.StateAccepted, s.opened.Add(s.accept)
			}
			if s.arrive > 0 {
				a.Task = &alerts.Task{Worker: "zhang", State: alerts.TaskArrived, TakenAt: a.AcceptedAt, ArrivedAt: s.opened.Add(s.arrive), Workers: []string{"zhang"}}
			}
			if s.outcome != "" {
				resolved := s.opened.Add(time.Hour)
				a.State, a.Outcome, a.ResolvedAt = alerts.StateResolved, s.outcome, resolved
				if s.due > 0 {
					a.FollowUp = &alerts.FollowUp{Due: resolved.Add(s.due)}
					if s.done > 0 {
						a.FollowUp.DoneAt, a.FollowUp.By = resolved.Add(s.done), "zhang"
					}
				}
				if s.reviewed {
					a.State, a.ClosedAt = alerts.StateClosed, resolved.Add(2*time.Hour)
					a.Review = &alerts.Review{By: "chen", At: a.ClosedAt, Rating: s.rating}
				}
			}
		})
	}
	r := do(t, e, req{method: "GET", path: "/api/v1/reports/monthly?month=2026-03&tz=Asia/Shanghai&format=csv", token: e.Tokens[accounts.RoleSupervisor]})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/csv; charset=utf-8" || !bytes.HasPrefix(r.body, []byte("\ufeff")) {
		t.Fatalf("CSV: %d %q %.40q", r.status, r.header.Get("Content-Type"), r.body)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// community, grid, alerts, accepted, ≤60 s, share, ≤180 s, share, median accept,
	// arrived, median arrive, follow-ups due, on time, share, resolved, false alarms, rate, reviewed, mean rating
	want := [][]string{
		{"社区", "网格", "警情数", "已接警", "60秒内接警", "60秒接警率", "180秒内接警", "180秒接警率", "接警用时中位数（秒）", "网格员到场", "到场用时中位数（秒）", "应回访", "按时回访", "按时回访率", "已处置", "误报", "误报率", "已复核", "平均评分"},
		// 月季社区: A6 alone: accepted in 10 s, arrived in 5 min, followed up on time, reviewed without a rating.
		{"月季社区", "（社区合计）", "1", "1", "1", "1.0000", "1", "1.0000", "10.0", "1", "300.0", "1", "1", "1.0000", "1", "0", "0.0000", "1", ""},
		{"月季社区", "网格一", "1", "1", "1", "1.0000", "1", "1.0000", "10.0", "1", "300.0", "1", "1", "1.0000", "1", "0", "0.0000", "1", ""},
		// 阳光社区: A1–A5. Accepted 4 (30, 60, 90, 200 s): within 60 s 2 of 5, within 180 s 3 of 5, median (60+90)/2;
		// arrived A1 600 s, A2 1200 s: median 900; follow-ups due A1, A2, A5, on time A1 only; resolved A1, A2, A3, A5,
		// A3 false; reviewed A1 (5), A2 (3), A5 (4): mean 4.
		{"阳光社区", "（社区合计）", "5", "4", "2", "0.4000", "3", "0.6000", "75.0", "2", "900.0", "3", "1", "0.3333", "4", "1", "0.2500", "3", "4.00"},
		{"阳光社区", "网格一", "3", "3", "1", "0.3333", "2", "0.6667", "90.0", "2", "900.0", "2", "1", "0.5000", "3", "1", "0.3333", "2", "4.00"},
		{"阳光社区", "网格二", "2", "1", "1", "0.5000", "1", "0.5000", "60.0", "0", "", "1", "0", "0.0000", "1", "0", "0.0000", "1", "4.00"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d CSV rows, want %d:\n%s", len(recs), len(want), r.body)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %v\nwant %v", i, recs[i], want[i])
		}
	}
	// In English, and as JSON of one community.
	en := do(t, e, req{method: "GET", path: "/api/v1/reports/monthly?month=2026-03&tz=Asia/Shanghai&format=csv&lang=en", token: e.Tokens[accounts.RoleSupervisor]})
	if !bytes.Contains(en.body, []byte("community,grid,alerts,accepted,accepted_within_60s")) || !bytes.Contains(en.body, []byte("(community total)")) {
		t.Errorf("English CSV:\n%s", en.body)
	}
	var rep console.MonthlyReport
	do(t, e, req{method: "GET", path: "/api/v1/reports/monthly?month=2026-03&tz=Asia/Shanghai&community=" + gridOne.Community, token: e.Tokens[accounts.RoleOperator]}).decode(t, &rep)
	if len(rep.Rows) != 3 || rep.Rows[0].Alerts != 5 || *rep.Rows[0].ShareWithin60s != 0.4 || rep.Rows[2].MedianArriveSeconds != nil ||
		!rep.From.Equal(at(1, 0)) || !rep.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, sh)) {
		t.Errorf("JSON report %+v", rep)
	}
	do(t, e, req{method: "GET", path: "/api/v1/reports/monthly?month=March", token: e.Tokens[accounts.RoleOperator]}).wantError(t, http.StatusBadRequest, "invalid", "month")
	do(t, e, req{method: "GET", path: "/api/v1/reports/monthly?month=2026-03&tz=Mars/Base", token: e.Tokens[accounts.RoleOperator]}).wantError(t, http.StatusBadRequest, "invalid", "tz")
}

// A grid worker's live feed carries their grids' alerts and those sent to
// them: in the snapshot, in live changes and in a resume's replay.
func TestLiveGridWorkerScope(t *testing.T) {
	e := startLive(t, console.LiveOptions{})
	u := e.accounts.AddUser("zhang", accounts.RoleGridWorker, "pw")
	if err := e.accounts.SetUserProfile(t.Context(), u.ID, accounts.Profile{Grids: []devices.GridRef{gridOne}}); err != nil {
		t.Fatal(err)
	}
	tok := e.accounts.AddToken(u.ID, "token-zhang")
	in := func(id int64, state alerts.State, version int64, g devices.GridRef) *alerts.Alert {
		a := liveAlert(id, state, version)
		a.Device.Location.Community, a.Device.Location.Grid = g.Community, g.Grid
		return a
	}
	e.live.Publish(in(1, alerts.StateNew, 1, gridOne))
	e.live.Publish(in(2, alerts.StateNew, 1, gridTwo))
	c := e.connectWith(t, websocket.DefaultDialer, "", http.Header{"Authorization": {"Bearer " + tok}})
	m := readMsg(t, c)
	if m.Type != "snapshot" || m.Seq != 2 || len(m.Alerts) != 1 || m.Alerts[0].ID != 1 {
		t.Fatalf("the grid worker's snapshot: %v %+v", m, m.Alerts)
	}
	op := e.connect(t, "")
	if m := readMsg(t, op); len(m.Alerts) != 2 {
		t.Fatalf("the operator's snapshot has %d alerts, want both", len(m.Alerts))
	}
	e.live.Publish(in(2, alerts.StateAccepted, 2, gridTwo)) // seq 3: not theirs
	sent := in(2, alerts.StateDispatched, 3, gridTwo)       // seq 4: sent to zhang
	sent.Task = &alerts.Task{Worker: "zhang", State: alerts.TaskSent, Workers: []string{"zhang"}}
	e.live.Publish(sent)
	e.live.Publish(in(1, alerts.StateAccepted, 2, gridOne)) // seq 5
	wantChanges(t, c, 4, 5)
	wantChanges(t, op, 3, 4, 5)
	c.Close()
	waitFor(t, "the grid worker to leave", func() bool { return e.srv.LiveClients() == 1 })
	e.live.Publish(in(3, alerts.StateNew, 1, gridTwo)) // seq 6: not theirs
	e.live.Publish(in(4, alerts.StateNew, 1, gridOne)) // seq 7
	c = e.connectWith(t, websocket.DefaultDialer, "since=3", http.Header{"Authorization": {"Bearer " + tok}})
	wantChanges(t, c, 4, 5, 7)
}
