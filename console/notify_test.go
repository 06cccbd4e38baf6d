package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang"
	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
)

// fakeNotify is a NotifyService with two channels: "duty" delivers,
// "down" is refused by its provider.
type fakeNotify struct{ tested []string }

func (f *fakeNotify) ChannelList() any {
	return []map[string]any{{"name": "duty", "type": "wecom", "url": "https://qyapi.example/send?key=***"}, {"name": "down", "type": "dingtalk"}}
}

func (f *fakeNotify) Test(_ context.Context, channel, to, lang string) (int, error) {
	f.tested = append(f.tested, channel+"|"+to+"|"+lang)
	switch channel {
	case "duty":
		return 200, nil
	case "down":
		return 200, &alerts.NotifyError{Code: alerts.NotifyErrorRefused, Status: 200, Provider: "310000", Detail: "sign not match"}
	}
	return 0, shouwang.Errorf(shouwang.ENOTFOUND, "channel %q is not configured", channel).With("notify.no_channel", "channel", channel)
}

// Supervisors see the channels (secrets masked by the service); an admin
// sends a test message and is told whether it arrived, and why not.
func TestNotifyChannelsAPI(t *testing.T) {
	f := &fakeNotify{}
	e := consoletest.Start(t, func(c *console.Config) { c.Notify = f })
	r := do(t, e, req{method: "GET", path: "/api/v1/notify/channels", token: e.Tokens[accounts.RoleSupervisor]})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `key=***"`) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "GET", path: "/api/v1/notify/channels", token: e.Tokens[accounts.RoleOperator]}).wantError(t, http.StatusForbidden, "forbidden", "")
	do(t, e, req{method: "POST", path: "/api/v1/notify/channels/duty/test", token: e.Tokens[accounts.RoleSupervisor]}).wantError(t, http.StatusForbidden, "forbidden", "")
	admin := e.Tokens[accounts.RoleAdmin]
	var res console.TestResult
	do(t, e, req{method: "POST", path: "/api/v1/notify/channels/duty/test", token: admin, body: `{"lang":"en"}`}).decode(t, &res)
	if !res.Delivered || res.Status != 200 {
		t.Errorf("duty: %+v", res)
	}
	res = console.TestResult{}
	do(t, e, req{method: "POST", path: "/api/v1/notify/channels/down/test", token: admin}).decode(t, &res)
	if res.Delivered || res.Error != alerts.NotifyErrorRefused || res.Provider != "310000" {
		t.Errorf("down: %+v", res)
	}
	do(t, e, req{method: "POST", path: "/api/v1/notify/channels/nope/test", token: admin}).wantError(t, http.StatusNotFound, "not_found", "not configured")
	do(t, e, req{method: "POST", path: "/api/v1/notify/channels/duty/test", token: admin, body: `{"lang":"fr"}`}).wantError(t, http.StatusBadRequest, "invalid", "lang")
	if strings.Join(f.tested, ",") != "duty||en,down||,nope||" {
		t.Errorf("tests sent: %v", f.tested)
	}
}
