package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/devices"
	"github.com/shouwang-hub/shouwang/hub/sqlstore"
)

// TestCheckinsPlaceADeviceWithoutItsUnit: on both stores, through the
// alerts service, a device registered without its unit counts for the
// household its other devices name (devices.CompleteUnits): a unit-less
// door's sign of life is stored for the household in unit 1, a no_activity
// alert opened on a unit-less SOS button is scoped to that household, so
// its door (with the unit) clears it; a household number two units share
// is not guessed at.
func TestCheckinsPlaceADeviceWithoutItsUnit(t *testing.T) {
	for name, open := range map[string]func(*testing.T) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			svc, err := alerts.NewService(alerts.Config{})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
			dev := func(id string, kind devices.Kind, unit, household string) *devices.Device {
				return &devices.Device{ID: id, Kind: kind, Location: devices.Location{Community: "c1", Grid: "g1", Building: "b1",
					Unit: unit, Floor: "3", Household: household}, Resident: devices.Resident{Name: "Wang", LivesAlone: true}}
			}
			doorA, sosA := dev("door-a", devices.KindDoor, "", "301"), dev("sos-a", devices.KindSOSButton, "1", "301")
			sosB, doorB := dev("sos-b", devices.KindSOSButton, "", "302"), dev("door-b", devices.KindDoor, "1", "302")
			shared := []*devices.Device{dev("sos-c1", devices.KindSOSButton, "1", "101"), dev("sos-c2", devices.KindSOSButton, "2", "101"),
				dev("door-c", devices.KindDoor, "", "101")}
			for _, d := range append([]*devices.Device{doorA, sosA, sosB, doorB}, shared...) {
				if err := s.CreateDevice(ctx, d, "hash"); err != nil {
					t.Fatal(err)
				}
			}
			run := func(fn func(tx alerts.Tx) (alerts.Result, error)) alerts.Result {
				t.Helper()
				var res alerts.Result
				if err := s.InTx(ctx, func(tx alerts.Tx) error { var err error; res, err = fn(tx); return err }); err != nil {
					t.Fatal(err)
				}
				return res
			}
			res := run(func(tx alerts.Tx) (alerts.Result, error) { return svc.Activity(ctx, tx, doorA, at, alerts.HowDoor) })
			if len(res.Activity) != 1 || res.Activity[0].Household != sosA.Location.HouseholdKey() {
				t.Errorf("the unit-less door's sign of life: %+v, want household %q", res.Activity, sosA.Location.HouseholdKey())
			}
			res = run(func(tx alerts.Tx) (alerts.Result, error) { return svc.Activity(ctx, tx, shared[2], at, alerts.HowDoor) })
			if len(res.Activity) != 1 || res.Activity[0].Household != shared[2].Location.HouseholdKey() {
				t.Errorf("a door of a number two units share: %+v, want its own household", res.Activity)
			}

			od := alerts.Overdue{Household: doorB.Location.HouseholdKey(), WindowStart: at.Add(-4 * time.Hour), WindowEnd: at}
			var na *alerts.Alert
			run(func(tx alerts.Tx) (alerts.Result, error) {
				var err error
				na, err = svc.NoActivity(ctx, tx, sosB, od, at)
				return alerts.Result{}, err
			})
			if na == nil || na.DeviceID != "sos-b" || na.Device.Location.Unit != "1" {
				if na != nil {
					t.Fatalf("no_activity on %s at %s, want on sos-b in unit 1", na.DeviceID, na.Device.Location)
				}
				t.Fatal("no no_activity alert on the unit-less button")
			}
			res = run(func(tx alerts.Tx) (alerts.Result, error) {
				return svc.Activity(ctx, tx, doorB, at.Add(time.Hour), alerts.HowDoor)
			})
			if len(res.Changed) != 1 || res.Changed[0].ID != na.ID || !res.Changed[0].Cleared {
				t.Errorf("the door's sign of life did not clear the household's no_activity alert: %+v", res.Changed)
			}
		})
	}
}
