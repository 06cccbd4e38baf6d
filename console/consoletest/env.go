package consoletest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/accounts/accountstest"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/devices"
)

// Env is a console served by httptest over the fakes, with one account and
// token per role.
type Env struct {
	URL string
	// Client talks to URL; under StartTLS it trusts the test certificate.
	Client   *http.Client
	Registry *Registry
	Accounts *accountstest.Accounts
	Alerts   *Alerts
	// Tokens holds a bearer token for each role's account, named after the
	// role ("admin", "installer", ...), whose password is "pw-" + the role.
	Tokens map[accounts.Role]string

	mu      sync.Mutex
	changed []string
}

// Start serves a console over fresh fakes until the test ends. configure,
// if given, may change the config before the server is built. History
// answers with one reading per hour of the range.
func Start(t testing.TB, configure ...func(*console.Config)) *Env {
	t.Helper()
	return start(t, false, configure)
}

// StartTLS is Start over HTTPS, with a self-signed certificate that only
// Env.Client trusts.
func StartTLS(t testing.TB, configure ...func(*console.Config)) *Env {
	t.Helper()
	return start(t, true, configure)
}

func start(t testing.TB, tls bool, configure []func(*console.Config)) *Env {
	t.Helper()
	e := &Env{Registry: NewRegistry(), Accounts: accountstest.NewAccounts(), Alerts: NewAlerts(), Tokens: make(map[accounts.Role]string)}
	for _, role := range []accounts.Role{accounts.RoleAdmin, accounts.RoleInstaller, accounts.RoleOperator, accounts.RoleSupervisor} {
		u := e.Accounts.AddUser(string(role), role, "pw-"+string(role))
		e.Tokens[role] = e.Accounts.AddToken(u.ID, "token-"+string(role))
	}
	cfg := console.Config{
		Registry: e.Registry,
		Accounts: e.Accounts,
		Alerts:   e.Alerts,
		History:  hourly,
		Ready:    func(context.Context) (bool, map[string]string) { return true, map[string]string{"store": "ok"} },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "# TYPE up gauge\nup 1\n")
		}),
		OnDeviceChange: func(id string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.changed = append(e.changed, id)
		},
	}
	for _, f := range configure {
		f(&cfg)
	}
	s, err := console.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(s.Handler())
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	e.URL, e.Client = srv.URL, srv.Client()
	return e
}

// Changed returns the IDs passed to OnDeviceChange so far.
func (e *Env) Changed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.changed...)
}

func hourly(_ context.Context, _ devices.Kind, _, _ string, from, to time.Time, _ time.Duration) ([]devices.Reading, error) {
	var rs []devices.Reading
	for t := from.Truncate(time.Hour).Add(time.Hour); t.Before(to); t = t.Add(time.Hour) {
		rs = append(rs, devices.Reading{Time: t, Value: float64(t.Hour())})
	}
	return rs, nil
}

// AddGridWorker adds an enabled grid worker looking after grids, and
// returns the API token of the account.
func (e *Env) AddGridWorker(t testing.TB, name string, grids ...devices.GridRef) string {
	t.Helper()
	u := e.Accounts.AddUser(name, accounts.RoleGridWorker, "pw-"+name)
	if err := e.Accounts.SetUserProfile(context.Background(), u.ID, accounts.Profile{Phone: "13900000000", Grids: grids}); err != nil {
		t.Fatalf("grid worker %s: %v", name, err)
	}
	return e.Accounts.AddToken(u.ID, "token-"+name)
}
