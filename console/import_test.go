package console_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

func importCSV(t *testing.T, e *consoletest.Env, contentType, body string) response {
	t.Helper()
	return do(t, e, req{method: "POST", path: "/api/v1/devices/import", token: tok(e, accounts.RoleInstaller), contentType: contentType, body: body})
}

func TestImport(t *testing.T) {
	e := consoletest.Start(t)
	file := "\uFEFFid,kind,community,resident_name,contacts\r\n" +
		"b-1,sos_button,青山,王秀英,王芳|女儿|13800000001\r\n" +
		"g-1,gas,青山,,\r\n" +
		"s-1,smoke,青山,,\r\n"
	r := importCSV(t, e, "text/csv; charset=utf-8", file)
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var ir struct {
		Imported    int
		Credentials []struct{ ID, Password string }
	}
	r.decode(t, &ir)
	if ir.Imported != 3 || len(ir.Credentials) != 3 {
		t.Fatalf("got %s", r.body)
	}
	for i, want := range []string{"b-1", "g-1", "s-1"} {
		c := ir.Credentials[i]
		hash, err := e.Registry.PasswordHash(context.Background(), c.ID)
		if c.ID != want || err != nil || !devices.CheckPassword(hash, c.Password) {
			t.Errorf("credential %d = %+v: stored hash does not match (%v)", i, c, err)
		}
	}
	d, _ := e.Registry.FindDevice(context.Background(), "b-1")
	if d.Resident.Name != "王秀英" || len(d.Contacts) != 1 {
		t.Errorf("stored b-1 = %+v", d)
	}
	if got := e.Changed(); !slices.Equal(got, []string{"b-1", "g-1", "s-1"}) {
		t.Errorf("OnDeviceChange calls = %v", got)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	e := consoletest.Start(t)
	if err := e.Registry.CreateDevice(context.Background(), &devices.Device{ID: "taken", Kind: devices.KindGas, Location: devices.Location{Community: "c"}}, "h"); err != nil {
		t.Fatal(err)
	}
	file := "id,kind,community,resident_care_notes\n" +
		"ok-1,gas,c,\"two\nlines\"\n" + // lines 2-3
		"taken,gas,c,\n" + // line 4: already registered
		"ok-2,toaster,c,\n" + // line 5
		"ok-1,gas,c,\n" + // line 6: duplicate in the file
		"ok-3,gas,c,\n" // line 7: fine
	r := importCSV(t, e, "text/csv", file)
	r.wantError(t, http.StatusBadRequest, "invalid", "3 rows have errors; nothing was imported")
	var er struct {
		Rows []devices.RowError `json:"rows"`
	}
	r.decode(t, &er)
	want := []struct {
		line int
		id   string
		msg  string
	}{
		{4, "taken", "already registered"},
		{5, "ok-2", `kind "toaster"`},
		{6, "ok-1", "duplicate id; first used on line 2"},
	}
	if len(er.Rows) != len(want) {
		t.Fatalf("rows = %+v, want %d", er.Rows, len(want))
	}
	for i, w := range want {
		if got := er.Rows[i]; got.Line != w.line || got.ID != w.id || !strings.Contains(got.Err, w.msg) {
			t.Errorf("row %d = %+v, want line %d id %s containing %q", i, got, w.line, w.id, w.msg)
		}
	}
	if n := e.Registry.Len(); n != 1 {
		t.Errorf("registry holds %d devices after a failed import, want 1", n)
	}
	if len(e.Changed()) != 0 {
		t.Errorf("OnDeviceChange called after a failed import: %v", e.Changed())
	}
}

func TestImportRejections(t *testing.T) {
	e := consoletest.Start(t)
	big := "id,kind,community,resident_care_notes\n" + strings.Repeat("x-1,gas,c,"+strings.Repeat("n", 1000)+"\n", 11*1024)
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msg               string
	}{
		{"json", "application/json", "id,kind,community\n", 415, "unsupported_media_type", "text/csv"},
		{"no content type", "", "id,kind,community\n", 415, "unsupported_media_type", "text/csv"},
		{"gbk", "text/csv; charset=gbk", "id,kind,community\n", 415, "unsupported_media_type", "UTF-8"},
		{"header only", "text/csv", "id,kind,community\n", 400, "invalid", "no device rows"},
		{"unknown column", "text/csv", "id,kind,community,colour\n", 400, "invalid", `unknown column "colour"`},
		{"broken quoting", "text/csv", "id,kind,community\na,\"gas,c\n", 400, "invalid", "line 2"},
		{"too large", "text/csv", big, 413, "too_large", "larger than 10 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, e, req{method: "POST", path: "/api/v1/devices/import", token: tok(e, accounts.RoleInstaller), contentType: tt.contentType, body: tt.body})
			r.wantError(t, tt.status, tt.code, tt.msg)
		})
	}
	if n := e.Registry.Len(); n != 0 {
		t.Errorf("registry holds %d devices", n)
	}
}
