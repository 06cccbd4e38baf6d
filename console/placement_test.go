package console_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// placedAt registers devices of 5栋 straight into e's registry: 1-201 in
// 1单元 on 2层, and 101 in both units.
func placedAt(t *testing.T, e *consoletest.Env) {
	t.Helper()
	for _, d := range []*devices.Device{
		{ID: "r-201", Kind: devices.KindSmoke, Location: devices.Location{Community: "青山", Building: "5栋", Unit: "1单元", Floor: "2层", Household: "1-201"}},
		{ID: "r-101a", Kind: devices.KindSmoke, Location: devices.Location{Community: "青山", Building: "5栋", Unit: "1单元", Floor: "1层", Household: "101"}},
		{ID: "r-101b", Kind: devices.KindSmoke, Location: devices.Location{Community: "青山", Building: "5栋", Unit: "2单元", Floor: "1层", Household: "101"}},
	} {
		if err := e.Registry.CreateDevice(context.Background(), d, "h"); err != nil {
			t.Fatal(err)
		}
	}
}

// A device registered through the API without its unit or with another
// floor than its household's is registered, and the answer says where it
// went; a complete one gets no warnings field at all.
func TestCreateDeviceWarnsOfItsPlacement(t *testing.T) {
	e := consoletest.Start(t)
	placedAt(t, e)
	inst := tok(e, accounts.RoleInstaller)
	create := func(body string) []devices.Warning {
		t.Helper()
		r := do(t, e, req{method: "POST", path: "/api/v1/devices", token: inst, body: body})
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var cr struct {
			createdResp
			Warnings []devices.Warning `json:"warnings"`
		}
		r.decode(t, &cr)
		if cr.Password == "" {
			t.Errorf("no password in %s", r.body)
		}
		if _, ok := r.json(t)["warnings"]; ok != (len(cr.Warnings) > 0) {
			t.Errorf("warnings field present %v with %d warnings", ok, len(cr.Warnings))
		}
		return cr.Warnings
	}
	if ws := create(`{"id":"ok","kind":"gas","location":{"community":"青山","building":"5栋","unit":"1单元","floor":"2层","household":"1-201"}}`); ws != nil {
		t.Errorf("a complete registration warned: %+v", ws)
	}
	ws := create(`{"id":"no-unit","kind":"gas","location":{"community":"青山","building":"5栋","floor":"2层","household":"1-201"}}`)
	want := []devices.Warning{{Code: devices.WarnUnitMissing, ID: "no-unit", Building: "5栋", Household: "1-201", Placed: devices.PlacedJoined, Unit: "1单元"}}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("without its unit: %+v, want %+v", ws, want)
	}
	ws = create(`{"id":"shared","kind":"gas","location":{"community":"青山","building":"5栋","floor":"1层","household":"101"}}`)
	want = []devices.Warning{{Code: devices.WarnUnitMissing, ID: "shared", Building: "5栋", Household: "101", Placed: devices.PlacedAmbiguous, Units: []string{"1单元", "2单元"}}}
	if !reflect.DeepEqual(ws, want) {
		t.Errorf("a number two units share: %+v, want %+v", ws, want)
	}
	if _, err := e.Registry.FindDevice(context.Background(), "shared"); err != nil {
		t.Errorf("the warned device is not registered: %v", err)
	}

	// Changing a device's floor away from its household's warns too.
	r := do(t, e, req{method: "PUT", path: "/api/v1/devices/ok", token: inst,
		body: `{"kind":"gas","location":{"community":"青山","building":"5栋","unit":"1单元","floor":"3层","household":"1-201"}}`})
	if r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	var ur struct{ Warnings []devices.Warning }
	r.decode(t, &ur)
	want = []devices.Warning{{Code: devices.WarnFloorDiffers, ID: "ok", Building: "5栋", Household: "1-201", Floor: "3层", Other: "no-unit", OtherFloor: "2层"}}
	if !reflect.DeepEqual(ur.Warnings, want) {
		t.Errorf("update to another floor: %+v, want %+v", ur.Warnings, want)
	}
}

// The CSV import registers every row, counts the rows with warnings and
// lists the warnings by line.
func TestImportWarnsOfPlacements(t *testing.T) {
	e := consoletest.Start(t)
	placedAt(t, e)
	file := "id,kind,community,building,unit,floor,household\n" +
		"i-1,smoke,青山,5栋,1单元,2层,1-201\n" + // line 2: complete
		"i-2,gas,青山,5栋,,1层,101\n" + // line 3: two units share 101
		"i-3,co,青山,5栋,1单元,,1-201\n" + // line 4: no floor
		"i-4,co,青山,5栋,1单元,4层,1-201\n" // line 5: another floor
	r := importCSV(t, e, "text/csv", file)
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var ir struct {
		Imported int
		Warned   int
		Warnings []devices.Warning
	}
	r.decode(t, &ir)
	want := []devices.Warning{
		{Code: devices.WarnUnitMissing, Line: 3, ID: "i-2", Building: "5栋", Household: "101", Placed: devices.PlacedAmbiguous, Units: []string{"1单元", "2单元"}},
		{Code: devices.WarnFloorMissing, Line: 4, ID: "i-3", Building: "5栋", Household: "1-201", Floor: "2层"},
		{Code: devices.WarnFloorDiffers, Line: 5, ID: "i-4", Building: "5栋", Household: "1-201", Floor: "4层", Other: "r-201", OtherFloor: "2层"},
	}
	if ir.Imported != 4 || ir.Warned != 3 || !reflect.DeepEqual(ir.Warnings, want) {
		t.Errorf("imported %d, warned %d, warnings %+v; want 4, 3, %+v", ir.Imported, ir.Warned, ir.Warnings, want)
	}
	if e.Registry.Len() != 7 {
		t.Errorf("registry holds %d devices, want 7", e.Registry.Len())
	}
}
