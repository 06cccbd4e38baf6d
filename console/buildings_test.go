package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// building registers a building of 青山社区: two units, three floors, a
// household on each, each with a smoke detector; 1-301 lives alone and
// has an SOS button too; a stairwell detector has no household.
func building(t *testing.T, e *consoletest.Env, name, prefix string) {
	t.Helper()
	add := func(id string, kind devices.Kind, unit, floor, hh string, alone bool, born int, notes string) {
		d := &devices.Device{ID: id, Kind: kind, Location: devices.Location{Community: "青山社区", Grid: "网格一", Building: name,
			Unit: unit, Floor: floor, Household: hh},
			Resident: devices.Resident{Name: "住户" + hh, LivesAlone: alone, BirthYear: born, CareNotes: notes}}
		if err := e.Registry.CreateDevice(context.Background(), d, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"1单元", "2单元"} {
		for f := 1; f <= 3; f++ {
			hh := fmt.Sprintf("%s-%d01", u[:1], f)
			add(fmt.Sprintf("%s-smk-%s", prefix, hh), devices.KindSmoke, u, fmt.Sprintf("%d层", f), hh, hh == "1-301", 1930+f*10, "")
		}
	}
	add(prefix+"-sos-1-301", devices.KindSOSButton, "1单元", "3层", "1-301", true, 1940, "使用轮椅")
	add(prefix+"-smk-stair", devices.KindSmoke, "", "", "", false, 0, "")
}

func TestBuildingView(t *testing.T) {
	e := consoletest.Start(t, func(c *console.Config) {
		c.Places = func() []console.Place {
			return []console.Place{{Community: "青山社区", Grid: "网格一", Building: "3栋", Devices: 8}, {Community: "绿水社区", Grid: "网格九", Building: "1栋", Devices: 1}}
		}
		c.Evacuation = alerts.DefaultRules().Evacuation
	})
	building(t, e, "3栋", "b3")
	building(t, e, "4栋", "b4")
	// 1-301: an SOS; 2-201: a fault; 1-101's detector went offline; 4栋 has
	// an open building_alarm.
	sos := e.Alerts.Add(&alerts.Alert{Kind: alerts.KindSOS, Severity: alerts.SeverityCritical, State: alerts.StateNew, DeviceID: "b3-sos-1-301",
		Device: devices.Device{Location: devices.Location{Community: "青山社区", Building: "3栋"}}})
	e.Alerts.Add(&alerts.Alert{Kind: alerts.KindFault, Severity: alerts.SeverityMajor, State: alerts.StateAccepted, DeviceID: "b3-smk-2-201",
		Device: devices.Device{Location: devices.Location{Community: "青山社区", Building: "3栋"}}})
	online := false
	if err := e.Registry.UpdateHealth(context.Background(), []devices.HealthUpdate{{ID: "b3-smk-1-101", LastSeen: time.Now(), Online: &online}}); err != nil {
		t.Fatal(err)
	}
	scope := alerts.BuildingScope(devices.Location{Community: "青山社区", Building: "4栋"})
	inc := e.Alerts.Add(&alerts.Alert{Kind: alerts.KindBuildingAlarm, Severity: alerts.SeverityCritical, State: alerts.StateNew, DeviceID: scope,
		Device:   devices.Device{Location: devices.Location{Community: "青山社区", Building: "4栋"}},
		Incident: &alerts.Incident{Scope: scope, Community: "青山社区", Building: "4栋", Alerts: 2}})

	op := tok(e, accounts.RoleOperator)
	var places struct{ Places []console.Place }
	do(t, e, req{method: "GET", path: "/api/v1/buildings", token: op}).decode(t, &places)
	if len(places.Places) != 2 {
		t.Fatalf("places: %+v", places)
	}
	var sum struct{ Buildings []console.BuildingSummary }
	r := do(t, e, req{method: "GET", path: "/api/v1/buildings?community=" + url.QueryEscape("青山社区"), token: op})
	r.decode(t, &sum)
	if len(sum.Buildings) != 2 || sum.Buildings[0].Building != "3栋" {
		t.Fatalf("buildings: %s", r.body)
	}
	b3 := sum.Buildings[0]
	want := map[string]int{console.StateAlarm: 1, console.StateFault: 1, console.StateOffline: 1, console.StateOK: 3}
	if b3.Households != 6 || b3.Devices != 7 || fmt.Sprint(b3.States) != fmt.Sprint(want) {
		t.Errorf("3栋: %+v, want 6 households (7 devices) with states %v", b3, want)
	}
	if b4 := sum.Buildings[1]; !slices.Equal(b4.Incidents, []int64{inc.ID}) {
		t.Errorf("4栋's incidents %v, want [%d]", b4.Incidents, inc.ID)
	}

	var v console.BuildingView
	r = do(t, e, req{method: "GET", path: "/api/v1/buildings/view?community=" + url.QueryEscape("青山社区") + "&building=" + url.QueryEscape("3栋"), token: op})
	r.decode(t, &v)
	if !slices.Equal(v.Units, []string{"1单元", "2单元"}) || !slices.Equal(v.Floors, []string{"3层", "2层", "1层"}) {
		t.Fatalf("units %v floors %v (want units in order, the top floor first)", v.Units, v.Floors)
	}
	if len(v.Households) != 6 || len(v.Elsewhere) != 1 || v.Elsewhere[0].ID != "b3-smk-stair" {
		t.Fatalf("households %d, elsewhere %+v", len(v.Households), v.Elsewhere)
	}
	first := v.Households[0] // the top floor, first unit
	if first.Household != "1-301" || first.State != console.StateAlarm || !first.LivesAlone || len(first.Devices) != 2 ||
		len(first.Alerts) != 1 || first.Alerts[0].ID != sos.ID {
		t.Errorf("1-301: %+v", first)
	}
	states := map[string]string{}
	for _, h := range v.Households {
		states[h.Household] = h.State
	}
	if states["2-201"] != console.StateFault || states["1-101"] != console.StateOffline || states["2-101"] != console.StateOK {
		t.Errorf("states %v", states)
	}
	do(t, e, req{method: "GET", path: "/api/v1/buildings/view?community=x&building=y", token: op}).wantError(t, http.StatusNotFound, "not_found", "building")
	do(t, e, req{method: "GET", path: "/api/v1/buildings/view?community=x", token: op}).wantError(t, http.StatusBadRequest, "invalid", "required")

	// The evacuation list of the SOS alert's building: 1-301 first (alone,
	// in a wheelchair), then the oldest.
	var ev console.Evacuation
	do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d/evacuation", sos.ID), token: op}).decode(t, &ev)
	if len(ev.Households) != 6 || ev.Households[0].Household != "1-301" ||
		!slices.Equal(ev.Households[0].Reasons, []string{alerts.ReasonLivesAlone, alerts.ReasonMobility}) ||
		ev.Households[0].Resident.CareNotes != "使用轮椅" {
		t.Fatalf("evacuation: %+v", ev)
	}
	if h := ev.Households[1]; h.Household != "1-101" || h.Age < 80 { // born 1940, unit 1 before unit 2
		t.Errorf("second: %+v", h)
	}

	// A grid worker of another grid sees none of it.
	gw := e.AddGridWorker(t, "zhao", devices.GridRef{Community: "青山社区", Grid: "网格二"})
	do(t, e, req{method: "GET", path: "/api/v1/buildings/view?community=" + url.QueryEscape("青山社区") + "&building=" + url.QueryEscape("3栋"), token: gw}).
		wantError(t, http.StatusNotFound, "not_found", "building")
	do(t, e, req{method: "GET", path: fmt.Sprintf("/api/v1/alerts/%d/evacuation", sos.ID), token: gw}).wantError(t, http.StatusNotFound, "not_found", "not found")
	do(t, e, req{method: "GET", path: "/api/v1/buildings", token: gw}).decode(t, &places)
	if len(places.Places) != 0 {
		t.Errorf("a grid worker of 网格二 sees places %+v", places.Places)
	}
}

// A household registered once with and once without its unit or floor is
// one cell, whose incomplete devices are named for the installer; a
// number two units share is not guessed at. Households without a building
// are summed on a tile of their own, after the buildings.
func TestBuildingViewIncompleteRegistrations(t *testing.T) {
	e := consoletest.Start(t)
	add := func(id, building, unit, floor, hh string) {
		d := &devices.Device{ID: id, Kind: devices.KindSmoke, Location: devices.Location{Community: "青山社区", Grid: "网格一",
			Building: building, Unit: unit, Floor: floor, Household: hh}}
		if err := e.Registry.CreateDevice(context.Background(), d, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	add("a-1-201", "5栋", "1单元", "2层", "1-201")
	add("a-1-201-nounit", "5栋", "", "2层", "1-201") // the same household, its unit left out
	add("a-1-301-nofloor", "5栋", "1单元", "", "1-301")
	add("a-1-301", "5栋", "1单元", "3层", "1-301") // its floor given only here
	add("a-101-u1", "5栋", "1单元", "1层", "101")
	add("a-101-u2", "5栋", "2单元", "1层", "101")
	add("a-101-nounit", "5栋", "", "1层", "101") // which 101? not guessed
	add("nb-1", "", "", "", "9-901")
	add("nb-2", "", "", "", "9-902")

	op := tok(e, accounts.RoleOperator)
	var v console.BuildingView
	do(t, e, req{method: "GET", path: "/api/v1/buildings/view?community=" + url.QueryEscape("青山社区") + "&building=" + url.QueryEscape("5栋"), token: op}).decode(t, &v)
	got := map[string]console.HouseholdCell{}
	for _, h := range v.Households {
		got[h.Unit+" "+h.Household] = h
	}
	if len(v.Households) != 5 {
		t.Fatalf("%d households, want 5 (1-201, 1-301, 101 of each unit and one without): %+v", len(v.Households), v.Households)
	}
	if h := got["1单元 1-201"]; h.Floor != "2层" || len(h.Devices) != 2 || !slices.Equal(h.Incomplete, []string{"a-1-201-nounit"}) {
		t.Errorf("1-201: %+v", h)
	}
	if h := got["1单元 1-301"]; h.Floor != "3层" || len(h.Devices) != 2 || !slices.Equal(h.Incomplete, []string{"a-1-301-nofloor"}) {
		t.Errorf("1-301: %+v", h)
	}
	if h := got[" 101"]; len(h.Devices) != 1 || h.Devices[0].ID != "a-101-nounit" || len(h.Incomplete) != 0 {
		t.Errorf("101 without a unit: %+v", h)
	}
	if !slices.Equal(v.Floors, []string{"3层", "2层", "1层"}) || !slices.Equal(v.Units, []string{"", "1单元", "2单元"}) {
		t.Errorf("floors %q units %q", v.Floors, v.Units)
	}

	var sum struct{ Buildings []console.BuildingSummary }
	do(t, e, req{method: "GET", path: "/api/v1/buildings?community=" + url.QueryEscape("青山社区"), token: op}).decode(t, &sum)
	if len(sum.Buildings) != 2 || sum.Buildings[0].Building != "5栋" || sum.Buildings[0].Households != 5 ||
		sum.Buildings[1].Building != "" || sum.Buildings[1].Households != 2 {
		t.Errorf("buildings: %+v (want 5栋 with 5 households, then the 2 without a building)", sum.Buildings)
	}
}

// fakeCheckins is a check-in book for the console's tests.
type fakeCheckins struct {
	mu    sync.Mutex
	rows  []alerts.HouseholdCheckin
	plans []alerts.CheckinPlan
}

func (f *fakeCheckins) List(community string) []alerts.HouseholdCheckin {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []alerts.HouseholdCheckin
	for _, r := range f.rows {
		if community == "" || r.Location.Community == community {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeCheckins) SetPlan(ctx context.Context, p alerts.CheckinPlan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plans = append(f.plans, p)
	return nil
}

func TestCheckins(t *testing.T) {
	book := &fakeCheckins{}
	clk := newClock()
	e := consoletest.Start(t, func(c *console.Config) { c.Checkins, c.Now = book, clk.Now })
	loc := func(grid, hh string) devices.Location {
		return devices.Location{Community: "青山社区", Grid: grid, Building: "3栋", Unit: "1单元", Household: hh}
	}
	book.rows = []alerts.HouseholdCheckin{
		{CheckinStatus: alerts.CheckinStatus{Household: "k1", State: alerts.CheckinOverdue}, Location: loc("网格一", "1-101"), Resident: "王秀英"},
		{CheckinStatus: alerts.CheckinStatus{Household: "k2", State: alerts.CheckinCheckedIn}, Location: loc("网格二", "1-201"), Resident: "李桂兰"},
	}
	op := tok(e, accounts.RoleOperator)
	var out struct {
		Households []alerts.HouseholdCheckin
		Counts     map[string]int
	}
	do(t, e, req{method: "GET", path: "/api/v1/checkins?community=" + url.QueryEscape("青山社区"), token: op}).decode(t, &out)
	if len(out.Households) != 2 || out.Counts[alerts.CheckinOverdue] != 1 || out.Counts[alerts.CheckinCheckedIn] != 1 {
		t.Fatalf("check-ins: %+v", out)
	}
	gw := e.AddGridWorker(t, "zhang", devices.GridRef{Community: "青山社区", Grid: "网格一"})
	do(t, e, req{method: "GET", path: "/api/v1/checkins", token: gw}).decode(t, &out)
	if len(out.Households) != 1 || out.Households[0].Household != "k1" {
		t.Fatalf("a grid worker's check-ins: %+v", out.Households)
	}

	// Staff set a quiet period; an installer may not; bad windows are refused.
	until := clk.Now().Add(72 * time.Hour).Format(time.RFC3339)
	r := do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: op, contentType: "application/json",
		body: `{"household":"k1","quiet_until":"` + until + `","quiet_note":"住院"}`})
	if r.status != http.StatusOK || len(book.plans) != 1 || book.plans[0].UpdatedBy != "operator" || book.plans[0].QuietNote != "住院" {
		t.Fatalf("set plan: %d %s %+v", r.status, r.body, book.plans)
	}
	do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: tok(e, accounts.RoleInstaller), contentType: "application/json",
		body: `{"household":"k1"}`}).wantError(t, http.StatusForbidden, "forbidden", "")
	do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: op, contentType: "application/json",
		body: `{"household":"k1","start":"10:00","end":"09:00"}`}).wantError(t, http.StatusBadRequest, "invalid", "window.end")
	do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: op, contentType: "application/json",
		body: `{"household":"k1","start":"7:00"}`}).wantError(t, http.StatusBadRequest, "invalid", "")
	// A grid worker sets only their grids' households.
	do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: gw, contentType: "application/json",
		body: `{"household":"k2","watch":false}`}).wantError(t, http.StatusNotFound, "not_found", "household")
	if r := do(t, e, req{method: "PUT", path: "/api/v1/checkins/plan", token: gw, contentType: "application/json",
		body: `{"household":"k1","start":"07:00","end":"09:30"}`}); r.status != http.StatusOK || !strings.Contains(string(r.body), `"start":"07:00"`) {
		t.Fatalf("a grid worker's plan: %d %s", r.status, r.body)
	}
}
