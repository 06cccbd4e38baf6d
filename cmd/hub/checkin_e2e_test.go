package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
	"github.com/shouwang-hub/shouwang/internal/sim"
	"github.com/shouwang-hub/shouwang/internal/testenv"
)

// checkinHouseholds are six households of 7号楼: five residents living
// alone — one with an SOS button who checks in, one with an SOS button who
// does nothing, one with a motion sensor that sees her up, one away whom
// staff pause, one whose door contact (registered without its unit) sees
// her go out — and a family, not watched.
func checkinHouseholds() []*devices.Device {
	hh := func(id string, kind devices.Kind, n int, alone bool) *devices.Device {
		return &devices.Device{ID: id, Kind: kind,
			Location: devices.Location{Community: "阳光社区", Grid: "网格一", Building: "7号楼", Unit: "1单元",
				Floor: fmt.Sprintf("%d层", n), Household: fmt.Sprintf("1-%d01", n)},
			Resident:   devices.Resident{Name: fmt.Sprintf("独居%d", n), BirthYear: 1940, LivesAlone: alone},
			GridWorker: devices.GridWorker{Name: "王网格", Phone: "13700000001"},
		}
	}
	return []*devices.Device{
		hh("ci-press", devices.KindSOSButton, 1, true),
		hh("ci-none", devices.KindSOSButton, 2, true),
		hh("ci-motion", devices.KindMotion, 3, true),
		hh("ci-away", devices.KindSOSButton, 4, true),
		hh("ci-family", devices.KindSOSButton, 5, false),
		hh("ci-door-sos", devices.KindSOSButton, 6, true),
		unitless(hh("ci-door", devices.KindDoor, 6, true)),
	}
}

// unitless is d registered without its unit (the installer left it out).
func unitless(d *devices.Device) *devices.Device {
	d.Location.Unit = ""
	return d
}

// TestCheckinsOfResidentsLivingAlone runs a day's check-in on the real hub,
// broker and store, in real time: the households were registered just
// before today's window (UTC, in the rules file), which began half an hour
// ago and ends at the next whole minute at least 20 s away (yesterday's
// window began before they were there: it is not judged). In it, one resident
// presses her button's check-in (the button hears it was counted), one's
// motion sensor sees her, one's door opens and closes (a contact registered
// without its unit: it is her household's door all the same, one household
// in the list, not two); staff pause a fourth. At the window's end exactly
// one no_activity alert opens — for the one who did nothing, for the grid
// worker — and the console's list says who checked in and who is overdue.
// On SQLite and PostgreSQL side by side (they share the minute).
func TestCheckinsOfResidentsLivingAlone(t *testing.T) {
	influx := testenv.Influx(t)
	now := time.Now().UTC()
	end := now.Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-30 * time.Minute)
	if start.Day() != end.Day() || end.Hour() == 0 && end.Minute() == 0 {
		start = end.Truncate(24 * time.Hour) // a window does not cross midnight
		if !start.Before(now) {
			end = end.Add(time.Minute) // just past midnight: a window of 00:00 to at least a minute on
		}
	}
	clock := func(t time.Time) string { return t.Format("15:04") }
	rules := writeRules(t, fmt.Sprintf(`{"checkin": {"lives_alone": true, "start": %q, "end": %q, "zone": "UTC"}}`, clock(start), clock(end)))
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			db := storeDSN(t, kind)
			data := t.TempDir()
			ds := checkinHouseholds()
			pw := preRegister(t, data, db, ds, start.Add(-time.Minute))
			m := startHub(t, hubOptions{Influx: influx, DB: db, DataDir: data, Args: []string{"-rules", rules}})
			base := "http://" + m.HTTPAddr()
			token := login(t, base)
			specs := make([]sim.DeviceSpec, len(ds))
			for i, d := range ds {
				specs[i] = sim.DeviceSpec{Device: d, Password: pw}
			}
			s := connectDevices(t, "tcp://"+m.BrokerAddr(), specs)

			list := func() map[string]alerts.HouseholdCheckin {
				var out struct{ Households []alerts.HouseholdCheckin }
				if code, body := apiCall(t, "GET", base+"/api/v1/checkins", token, nil, &out); code != 200 {
					t.Fatalf("checkins: %d %s", code, body)
				}
				byID := map[string]alerts.HouseholdCheckin{}
				for _, h := range out.Households {
					if _, dup := byID[h.Location.Household]; dup {
						t.Errorf("two households numbered %s in the list (one registered without its unit?)", h.Location.Household)
					}
					byID[h.Location.Household] = h
				}
				return byID
			}
			before := list()
			if len(before) != 5 || before["1-101"].State != alerts.CheckinWaiting || !before["1-101"].WindowEnd.Equal(end) {
				t.Fatalf("before any sign of life: %+v", before)
			}
			seq, err := s.Checkin("ci-press")
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the button to hear its check-in counted", func() (bool, string) {
				return received(s, "ci-press", fmt.Sprintf(`{"type":"checked_in","seq":%d}`, seq)), fmt.Sprintf("%q", s.Received("ci-press"))
			})
			if err := s.Publish("ci-motion", devices.ChannelTelemetry,
				fmt.Appendf(nil, `{"seq":1,"ts":%d,"occupancy":1,"battery":80}`, time.Now().UnixMilli())); err != nil {
				t.Fatal(err)
			}
			for i, contact := range []int{1, 0, 1} { // closed, opened, closed: she went out
				if err := s.Publish("ci-door", devices.ChannelTelemetry,
					fmt.Appendf(nil, `{"seq":%d,"ts":%d,"contact":%d,"battery":80}`, i+1, time.Now().UnixMilli(), contact)); err != nil {
					t.Fatal(err)
				}
			}
			away := before["1-401"].Household
			if code, body := apiCall(t, "PUT", base+"/api/v1/checkins/plan", token, map[string]any{
				"household": away, "quiet_until": time.Now().Add(72 * time.Hour), "quiet_note": "住院",
			}, nil); code != 200 {
				t.Fatalf("pause: %d %s", code, body)
			}
			eventually(t, 10*time.Second, "the list to show the check-in, the movement and the pause", func() (bool, string) {
				l := list()
				return l["1-101"].State == alerts.CheckinCheckedIn && l["1-301"].State == alerts.CheckinCheckedIn && l["1-401"].State == alerts.CheckinQuiet &&
						l["1-601"].State == alerts.CheckinCheckedIn && l["1-601"].Location.Unit == "1单元",
					fmt.Sprintf("%s %s %s %s %q", l["1-101"].State, l["1-301"].State, l["1-401"].State, l["1-601"].State, l["1-601"].Location.Unit)
			})
			if time.Now().After(end) {
				t.Fatalf("the signs of life came after the window's end %s (the machine is too slow for this test's minute)", end)
			}

			var na []*alerts.Alert
			eventually(t, time.Until(end)+30*time.Second, "a no_activity alert after the window", func() (bool, string) {
				na = alertsOfKind(t, base, token, alerts.KindNoActivity)
				return len(na) > 0, "none yet"
			})
			if time.Now().Before(end) {
				t.Fatalf("no_activity opened before the window's end %s", end)
			}
			if len(na) != 1 || na[0].DeviceID != "ci-none" {
				t.Fatalf("no_activity alerts: %v", deviceIDs(na))
			}
			a := getAlert(t, base, token, na[0].ID)
			if a.Severity != alerts.SeverityMajor || a.Device.GridWorker.Name != "王网格" {
				t.Errorf("no_activity: severity %s, grid worker %q", a.Severity, a.Device.GridWorker.Name)
			}
			l := list()
			if l["1-201"].State != alerts.CheckinOverdue || l["1-101"].State != alerts.CheckinCheckedIn {
				t.Errorf("after the window: %s %s", l["1-201"].State, l["1-101"].State)
			}

			// A sign of life late in the day marks the alert cleared; a
			// person still closes it.
			if _, err := s.Checkin("ci-none"); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the no_activity alert cleared by the late check-in", func() (bool, string) {
				a := getAlert(t, base, token, na[0].ID)
				return a.Cleared && a.State == alerts.StateNew && timelineCount(a, alerts.TimelineCheckedIn) == 1,
					fmt.Sprintf("cleared=%v state=%s", a.Cleared, a.State)
			})
			if n := len(alertsOfKind(t, base, token, alerts.KindNoActivity)); n != 1 {
				t.Fatalf("%d no_activity alerts after the late check-in", n)
			}
		})
	}
}

// preRegister writes ds into the store as if registered at then (so the
// hub judges today's window for them), every device with one password,
// which it returns.
func preRegister(t *testing.T, data, db string, ds []*devices.Device, then time.Time) string {
	t.Helper()
	const pw = "checkin-e2e-device-password"
	withStore(t, data, db, func(s *sqlstore.Store) {
		s.SetClock(func() time.Time { return then })
		if err := s.ImportDevices(context.Background(), ds, slices.Repeat([]string{devices.HashPassword(pw)}, len(ds))); err != nil {
			t.Fatal(err)
		}
	})
	return pw
}

// withStore opens the store a hub of data and db ("": SQLite in data)
// will use, before the hub runs, and closes it after f.
func withStore(t *testing.T, data, db string, f func(s *sqlstore.Store)) {
	t.Helper()
	if db == "" {
		db = filepath.Join(data, "hub.db")
	}
	s, err := sqlstore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f(s)
}

func deviceIDs(as []*alerts.Alert) []string {
	var ids []string
	for _, a := range as {
		ids = append(ids, a.DeviceID)
	}
	return ids
}
