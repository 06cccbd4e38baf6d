package console_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

type createdResp struct {
	Device       devices.Device `json:"device"`
	Password     string         `json:"password"`
	MQTTUsername string         `json:"mqtt_username"`
}

func TestCreateDevice(t *testing.T) {
	e := consoletest.Start(t)
	inst := tok(e, accounts.RoleInstaller)

	body := `{"id":"b-1","kind":"sos_button","capabilities":["voice"],"location":{"community":"青山社区"},` +
		`"resident":{"name":"王秀英","birth_year":1941},"contacts":[{"name":"王芳","relation":"女儿","phone":"13800000001"}],` +
		`"health":{"online":true,"last_seen":"2020-01-01T00:00:00Z"},"created_at":"2020-01-01T00:00:00Z"}`
	r := do(t, e, req{method: "POST", path: "/api/v1/devices", token: inst, body: body})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var cr createdResp
	r.decode(t, &cr)
	if cr.MQTTUsername != "b-1" || cr.Device.ID != "b-1" || cr.Device.Resident.Name != "王秀英" || len(cr.Device.Contacts) != 1 {
		t.Errorf("response = %+v", cr)
	}
	if cr.Device.Health.Online || cr.Device.CreatedAt.Year() == 2020 {
		t.Errorf("health/created_at from the body were kept: %+v", cr.Device)
	}
	hash, err := e.Registry.PasswordHash(context.Background(), "b-1")
	if err != nil || !devices.CheckPassword(hash, cr.Password) {
		t.Fatalf("stored hash %q does not match the password shown (%v)", hash, err)
	}
	if got := e.Changed(); !slices.Equal(got, []string{"b-1"}) {
		t.Errorf("OnDeviceChange calls = %v", got)
	}

	tests := []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"duplicate", `{"id":"b-1","kind":"sos_button","location":{"community":"c"}}`, 409, "conflict", "b-1"},
		{"bad kind", `{"id":"b-2","kind":"toaster","location":{"community":"c"}}`, 400, "invalid", `kind "toaster"`},
		{"bad id", `{"id":"a/b","kind":"gas","location":{"community":"c"}}`, 400, "invalid", `id "a/b"`},
		{"no community", `{"id":"b-2","kind":"gas"}`, 400, "invalid", "location.community: required"},
		{"unknown field", `{"id":"b-2","kind":"gas","location":{"community":"c","street":"x"}}`, 400, "invalid", `unknown field "street"`},
		{"wrong type", `{"id":"b-2","kind":"gas","location":{"community":"c"},"resident":{"birth_year":"1941"}}`, 400, "invalid", "birth_year"},
		{"syntax", `{"id":`, 400, "invalid", "invalid JSON"},
		{"empty", ``, 400, "invalid", "empty"},
		{"too large", `{"id":"b-2","kind":"gas","vendor":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, e, req{method: "POST", path: "/api/v1/devices", token: inst, body: tt.body, contentType: "application/json"}).
				wantError(t, tt.status, tt.code, tt.msg)
		})
	}
	if e.Registry.Len() != 1 {
		t.Errorf("registry holds %d devices, want 1", e.Registry.Len())
	}
}

func TestListDevices(t *testing.T) {
	e := consoletest.Start(t)
	ctx := context.Background()
	for _, d := range []*devices.Device{
		{ID: "a-1", Kind: devices.KindGas, Location: devices.Location{Community: "青山", Building: "1"}},
		{ID: "a-2", Kind: devices.KindSmoke, Location: devices.Location{Community: "青山", Building: "2"}},
		{ID: "b-1", Kind: devices.KindGas, Location: devices.Location{Community: "绿水"}, Resident: devices.Resident{Name: "李明"}},
	} {
		if err := e.Registry.CreateDevice(ctx, d, "h"); err != nil {
			t.Fatal(err)
		}
	}
	online := true
	e.Registry.UpdateHealth(ctx, []devices.HealthUpdate{{ID: "a-2", Online: &online}})

	tests := []struct {
		query string
		ids   []string
		total int
	}{
		{"", []string{"a-1", "a-2", "b-1"}, 3},
		{"?community=%E9%9D%92%E5%B1%B1", []string{"a-1", "a-2"}, 2},
		{"?kind=gas", []string{"a-1", "b-1"}, 2},
		{"?online=true", []string{"a-2"}, 1},
		{"?online=false&building=1", []string{"a-1"}, 1},
		{"?q=%E6%9D%8E", []string{"b-1"}, 1},
		{"?limit=1&offset=1", []string{"a-2"}, 3},
		{"?community=nowhere", []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := do(t, e, req{method: "GET", path: "/api/v1/devices" + tt.query, token: tok(e, accounts.RoleOperator)})
			var lr struct {
				Devices []devices.Device `json:"devices"`
				Total   int              `json:"total"`
			}
			r.decode(t, &lr)
			ids := []string{}
			for _, d := range lr.Devices {
				ids = append(ids, d.ID)
			}
			if r.status != 200 || !slices.Equal(ids, tt.ids) || lr.Total != tt.total {
				t.Errorf("got %d %v total %d, want %v total %d", r.status, ids, lr.Total, tt.ids, tt.total)
			}
			if !strings.Contains(string(r.body), `"devices":[`) {
				t.Errorf("devices is not a JSON array: %s", r.body)
			}
		})
	}

	bad := map[string]string{
		"?kind=toaster": "kind", "?online=maybe": "online", "?limit=5000": "limit",
		"?limit=x": "limit", "?offset=-1": "offset",
	}
	for query, param := range bad {
		t.Run(query, func(t *testing.T) {
			do(t, e, req{method: "GET", path: "/api/v1/devices" + query, token: tok(e, accounts.RoleOperator)}).
				wantError(t, 400, "invalid", param+" ")
		})
	}
}

func TestDeviceLifecycle(t *testing.T) {
	e := consoletest.Start(t)
	inst := tok(e, accounts.RoleInstaller)
	r := do(t, e, req{method: "POST", path: "/api/v1/devices", token: inst, body: gasDevice})
	var cr createdResp
	r.decode(t, &cr)

	r = do(t, e, req{method: "GET", path: "/api/v1/devices/g-1", token: tok(e, accounts.RoleOperator)})
	var gr struct{ Device devices.Device }
	r.decode(t, &gr)
	if r.status != 200 || gr.Device.Location.Building != "5栋" {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/devices/nope", token: inst}).wantError(t, 404, "not_found", `"nope"`)

	// Update: the path names the device; a different id in the body is refused.
	do(t, e, req{method: "PUT", path: "/api/v1/devices/g-1", token: inst, body: `{"id":"g-2","kind":"gas","location":{"community":"c"}}`}).
		wantError(t, 400, "invalid", "IDs cannot be changed")
	do(t, e, req{method: "PUT", path: "/api/v1/devices/g-9", token: inst, body: `{"kind":"gas","location":{"community":"c"}}`}).
		wantError(t, 404, "not_found", "g-9")
	do(t, e, req{method: "PUT", path: "/api/v1/devices/g-1", token: inst, body: `{"kind":"gas","location":{}}`}).
		wantError(t, 400, "invalid", "location.community")
	r = do(t, e, req{method: "PUT", path: "/api/v1/devices/g-1", token: inst, body: `{"kind":"gas","location":{"community":"绿水","household":"101"}}`})
	r.decode(t, &gr)
	if r.status != 200 || gr.Device.ID != "g-1" || gr.Device.Location.Household != "101" || gr.Device.Resident.Name != "" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}

	// Rotate: the new password works, the old one no longer does.
	r = do(t, e, req{method: "POST", path: "/api/v1/devices/g-1/password", token: inst})
	var pr struct{ Password string }
	r.decode(t, &pr)
	hash, _ := e.Registry.PasswordHash(context.Background(), "g-1")
	if r.status != 200 || !devices.CheckPassword(hash, pr.Password) || devices.CheckPassword(hash, cr.Password) {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "POST", path: "/api/v1/devices/g-9/password", token: inst}).wantError(t, 404, "not_found", "g-9")

	if r := do(t, e, req{method: "DELETE", path: "/api/v1/devices/g-1", token: inst}); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/devices/g-1", token: inst}).wantError(t, 404, "not_found", "g-1")
	do(t, e, req{method: "DELETE", path: "/api/v1/devices/g-1", token: inst}).wantError(t, 404, "not_found", "g-1")

	if got, want := e.Changed(), []string{"g-1", "g-1", "g-1", "g-1"}; !slices.Equal(got, want) {
		t.Errorf("OnDeviceChange calls = %v, want %v (create, update, rotate, delete)", got, want)
	}
}

func TestUnregistered(t *testing.T) {
	e := consoletest.Start(t)
	r := do(t, e, req{method: "GET", path: "/api/v1/devices/unregistered", token: tok(e, accounts.RoleInstaller)})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"devices":[]}` {
		t.Fatalf("empty: %d %s", r.status, r.body)
	}
	e.Registry.RecordUnregistered(context.Background(), "stranger", "connect", newClock().Now())
	r = do(t, e, req{method: "GET", path: "/api/v1/devices/unregistered", token: tok(e, accounts.RoleAdmin)})
	var ur struct{ Devices []devices.Unregistered }
	r.decode(t, &ur)
	if len(ur.Devices) != 1 || ur.Devices[0].ID != "stranger" || ur.Devices[0].Count != 1 {
		t.Fatalf("got %s", r.body)
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	e := consoletest.Start(t)
	e.Registry.Fail = errors.New("disk on fire at /var/lib/secret")
	r := do(t, e, req{method: "GET", path: "/api/v1/devices", token: tok(e, accounts.RoleOperator)})
	r.wantError(t, 500, "internal", "internal error")
	if strings.Contains(string(r.body), "disk") {
		t.Errorf("internal error leaked: %s", r.body)
	}
}
