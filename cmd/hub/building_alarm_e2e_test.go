package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// residentialBuilding makes a building of 阳光社区 with a smoke detector in
// every household: floors × units × perUnit households, residents of
// varied ages, every fourth living alone, one in a wheelchair, each with a
// contact and the grid's worker.
func residentialBuilding(prefix, building string, floors, units, perUnit int) []*devices.Device {
	var ds []*devices.Device
	n := 0
	for f := 1; f <= floors; f++ {
		for u := 1; u <= units; u++ {
			for h := 1; h <= perUnit; h++ {
				n++
				d := &devices.Device{
					ID: fmt.Sprintf("%s-%03d", prefix, n), Kind: devices.KindSmoke,
					Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: building,
						Unit: fmt.Sprintf("%d单元", u), Floor: fmt.Sprintf("%d层", f), Household: fmt.Sprintf("%d-%d%02d", u, f, h)},
					Resident: devices.Resident{Name: fmt.Sprintf("住户%d", n), BirthYear: 1936 + (n*7)%50,
						LivesAlone: n%4 == 1, Phone: fmt.Sprintf("1380000%04d", n)},
					Contacts:   []devices.Contact{{Name: fmt.Sprintf("家属%d", n), Relation: "女儿", Phone: fmt.Sprintf("1390000%04d", n)}},
					GridWorker: devices.GridWorker{Name: "王网格", Phone: "13700000001"},
				}
				if n == 6 {
					d.Resident.CareNotes = "坐轮椅，需两人协助下楼"
				}
				ds = append(ds, d)
			}
		}
	}
	return ds
}

// TestBuildingAlarmIncident: five smoke detectors of one building alarm
// within a minute. From the third on they are one building_alarm incident
// that links all five; a detector of another building stays on its own.
// The incident carries its building's evacuation list (those living alone
// and those who cannot walk first). One accept on the incident accepts the
// five alerts — each device hears help is coming, each alert says it
// followed the incident — and resolving and closing it close them all. On
// SQLite and PostgreSQL.
func TestBuildingAlarmIncident(t *testing.T) {
	influx := testenv.Influx(t)
	eachStore(t, func(t *testing.T, db string) {
		m := startHub(t, hubOptions{Influx: influx, DB: db})
		base := "http://" + m.HTTPAddr()
		token := login(t, base)
		building := residentialBuilding("b5", "5号楼", 6, 2, 2)
		other := residentialBuilding("b6", "6号楼", 1, 1, 1)
		s := connectDevices(t, "tcp://"+m.BrokerAddr(), register(t, base, append(slices.Clone(building), other...)))

		burning := []string{"b5-009", "b5-013", "b5-014", "b5-017", "b5-021"}
		for _, id := range burning {
			if _, err := s.Smoke(id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Smoke("b6-001"); err != nil {
			t.Fatal(err)
		}
		var inc *alerts.Alert
		eventually(t, 30*time.Second, "one building_alarm incident linking the five alarms", func() (bool, string) {
			list := alertsOfKind(t, base, token, alerts.KindBuildingAlarm)
			if len(list) != 1 {
				return false, fmt.Sprintf("%d incidents", len(list))
			}
			inc = getAlert(t, base, token, list[0].ID)
			return inc.Incident.Alerts == len(burning), fmt.Sprintf("%d alerts linked", inc.Incident.Alerts)
		})
		if in := inc.Incident; in.Building != "5号楼" || in.Devices != len(burning) || inc.Severity != alerts.SeverityCritical {
			t.Fatalf("incident %+v severity %s", in, inc.Severity)
		}
		if !slices.Equal(inc.Incident.Floors, []string{"3层", "4层", "5层", "6层"}) {
			t.Errorf("floors %v", inc.Incident.Floors)
		}
		// b6-001's alarm came over its own connection: it may commit after
		// the five of building 5 have made the incident.
		var smoke []*alerts.Alert
		eventually(t, 30*time.Second, "a smoke alert for each of the six alarms", func() (bool, string) {
			smoke = alertsOfKind(t, base, token, alerts.KindSmoke)
			return len(smoke) == len(burning)+1, fmt.Sprintf("%d smoke alerts, want %d", len(smoke), len(burning)+1)
		})
		for _, a := range smoke {
			want := inc.ID
			if a.DeviceID == "b6-001" {
				want = 0
			}
			if a.IncidentID != want {
				t.Errorf("smoke alert of %s linked to %d, want %d", a.DeviceID, a.IncidentID, want)
			}
		}

		// The evacuation list of the building: every household, those
		// living alone or unable to walk first.
		var ev struct {
			Building   string
			Households []alerts.Evacuee
		}
		if code, body := apiCall(t, "GET", fmt.Sprintf("%s/api/v1/alerts/%d/evacuation", base, inc.ID), token, nil, &ev); code != 200 {
			t.Fatalf("evacuation: %d %s", code, body)
		}
		if ev.Building != "5号楼" || len(ev.Households) != len(building) {
			t.Fatalf("evacuation of %q with %d households", ev.Building, len(ev.Households))
		}
		// In order: living alone, then age band, then mobility needs, then age.
		band := func(h alerts.Evacuee) int {
			return min(max(h.Age-60, 0)/10, 2) // 0 under 70, 1 in their 70s, 2 over 80
		}
		key := func(h alerts.Evacuee) []int {
			return []int{b2i(slices.Contains(h.Reasons, alerts.ReasonLivesAlone)), band(h),
				b2i(slices.Contains(h.Reasons, alerts.ReasonMobility)), h.Age}
		}
		alone, wheelchair := 0, ""
		for i, h := range ev.Households {
			if slices.Contains(h.Reasons, alerts.ReasonLivesAlone) {
				alone++
				if i >= 6 {
					t.Errorf("%s lives alone but comes %d", h.Household, i+1)
				}
			}
			if slices.Contains(h.Reasons, alerts.ReasonMobility) {
				wheelchair = h.Household
			}
			if i > 0 && slices.Compare(key(ev.Households[i-1]), key(h)) < 0 {
				t.Errorf("%s (%v) comes after %s (%v)", h.Household, key(h), ev.Households[i-1].Household, key(ev.Households[i-1]))
			}
			if len(h.Contacts) != 1 || h.GridWorker.Name == "" {
				t.Errorf("%s: contacts %v, grid worker %q", h.Household, h.Contacts, h.GridWorker.Name)
			}
		}
		if alone != 6 || wheelchair != "1-202" {
			t.Errorf("%d living alone, the wheelchair in %q", alone, wheelchair)
		}

		// One accept for the building; its alerts follow.
		act := func(action string, body map[string]string) {
			t.Helper()
			if code, resp := apiCall(t, "POST", fmt.Sprintf("%s/api/v1/alerts/%d/%s", base, inc.ID, action), token, body, nil); code != 200 {
				t.Fatalf("%s the incident: %d %s", action, code, resp)
			}
		}
		act("accept", map[string]string{"note": "消防已出动"})
		for _, id := range burning {
			a := findAlerts(t, base, token, id)[0]
			a = getAlert(t, base, token, a.ID)
			if a.State != alerts.StateAccepted || timelineCount(a, alerts.TimelineAccepted) != 1 || timelineCount(a, alerts.TimelineViaIncident) != 1 {
				t.Fatalf("alert of %s after the incident's accept: %s, timeline %v", id, a.State, a.Timeline)
			}
		}
		for _, id := range burning {
			eventually(t, 10*time.Second, id+" to hear help is coming", func() (bool, string) {
				return received(s, id, `"type":"accepted"`), fmt.Sprintf("%q", s.Received(id))
			})
		}
		if a := findAlerts(t, base, token, "b6-001")[0]; a.State != alerts.StateNew {
			t.Fatalf("the other building's alarm followed the incident: %s", a.State)
		}
		act("dispatch", map[string]string{"to": "119", "note": "消防车两辆"})
		act("resolve", map[string]string{"outcome": "genuine", "note": "三楼厨房起火，已扑灭"})
		act("close", nil)
		for _, id := range burning {
			a := getAlert(t, base, token, findAlerts(t, base, token, id)[0].ID)
			if a.State != alerts.StateClosed || a.Outcome != alerts.OutcomeGenuine {
				t.Fatalf("alert of %s after the incident closed: %s %s", id, a.State, a.Outcome)
			}
			var via []string
			for _, e := range a.Timeline {
				if e.Action == alerts.TimelineViaIncident {
					via = append(via, e.Data["action"])
				}
			}
			if strings.Join(via, ",") != "accept,dispatch,resolve,close" {
				t.Errorf("alert of %s followed %v", id, via)
			}
		}
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
