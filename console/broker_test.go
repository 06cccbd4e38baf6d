package console_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

func TestMosquittoExportForAdminsOnly(t *testing.T) {
	e := consoletest.Start(t, func(c *console.Config) {
		c.MosquittoFiles = func(context.Context) (console.BrokerFiles, error) {
			return console.BrokerFiles{Passwd: "sos-1:$7$x\n", ACL: "user sos-1\n", Notes: []string{"add the hub"}}, nil
		}
	})
	r := do(t, e, req{method: "GET", path: "/api/v1/broker/mosquitto", token: tok(e, accounts.RoleAdmin)})
	var f console.BrokerFiles
	r.decode(t, &f)
	if r.status != 200 || f.Passwd != "sos-1:$7$x\n" || f.ACL != "user sos-1\n" || len(f.Notes) != 1 || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("export: %d %s", r.status, r.body)
	}
	for _, role := range []accounts.Role{accounts.RoleInstaller, accounts.RoleOperator, accounts.RoleSupervisor} {
		do(t, e, req{method: "GET", path: "/api/v1/broker/mosquitto", token: tok(e, role)}).wantError(t, 403, "forbidden", "")
	}
	failing := consoletest.Start(t, func(c *console.Config) {
		c.MosquittoFiles = func(context.Context) (console.BrokerFiles, error) {
			return console.BrokerFiles{}, errors.New("store down")
		}
	})
	do(t, failing, req{method: "GET", path: "/api/v1/broker/mosquitto", token: tok(failing, accounts.RoleAdmin)}).wantError(t, 500, "internal", "")
	none := consoletest.Start(t)
	if r := do(t, none, req{method: "GET", path: "/api/v1/broker/mosquitto", token: tok(none, accounts.RoleAdmin)}); r.status != 503 {
		t.Errorf("without an exporter: %d", r.status)
	}
}

// BrokerAuth is mounted under /api/v1/broker/emqx/ without a console login:
// it checks its own secret.
func TestBrokerAuthMounted(t *testing.T) {
	var got string
	e := consoletest.Start(t, func(c *console.Config) {
		c.BrokerAuth = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Method + " " + r.URL.Path
			w.WriteHeader(http.StatusOK)
		})
	})
	if r := do(t, e, req{method: "POST", path: "/api/v1/broker/emqx/authn", body: `{}`}); r.status != 200 || got != "POST /authn" {
		t.Errorf("the handler saw %q; status %d", got, r.status)
	}
	none := consoletest.Start(t)
	do(t, none, req{method: "POST", path: "/api/v1/broker/emqx/authn", body: `{}`}).wantError(t, 404, "not_found", "")
}
