package console_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shouwang-hub/shouwang/accounts"
	"github.com/shouwang-hub/shouwang/alerts"
	"github.com/shouwang-hub/shouwang/console"
	"github.com/shouwang-hub/shouwang/console/consoletest"
	"github.com/shouwang-hub/shouwang/devices"
)

// browserOffer stands for a browser's SDP offer: audio only, as the
// console's page makes it.
const browserOffer = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"

// callsEnv is a console with the fake call service and two voice devices'
// worth of registry: b-voice can call, b-mute cannot.
func callsEnv(t *testing.T) (*consoletest.Env, *consoletest.Calls) {
	t.Helper()
	var calls *consoletest.Calls
	e := consoletest.Start(t, func(c *console.Config) {
		calls = consoletest.NewCalls(c.Registry.(*consoletest.Registry))
		c.Calls = calls
	})
	ctx := context.Background()
	for _, d := range []*devices.Device{
		{ID: "b-voice", Kind: devices.KindSOSButton, Capabilities: []string{devices.CapVoice}, Location: devices.Location{Community: "青山社区"}},
		{ID: "b-mute", Kind: devices.KindSOSButton, Location: devices.Location{Community: "青山社区"}},
	} {
		if err := e.Registry.CreateDevice(ctx, d, "hash"); err != nil {
			t.Fatal(err)
		}
	}
	return e, calls
}

func answerBody(sdp string) string {
	return `{"sdp":"` + strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(sdp) + `"}`
}

func TestCallsUnavailableWithoutService(t *testing.T) {
	e := consoletest.Start(t)
	op := tok(e, accounts.RoleOperator)
	for _, rq := range []req{
		{method: "POST", path: "/api/v1/calls/c1/answer", body: answerBody(browserOffer)},
		{method: "POST", path: "/api/v1/calls/c1/hangup"},
		{method: "POST", path: "/api/v1/calls/c1/release", body: `{"reason":"media_failed"}`},
		{method: "POST", path: "/api/v1/devices/b-1/callback"},
		{method: "GET", path: "/api/v1/calls/c1/recordings/device"},
	} {
		rq.token = op
		do(t, e, rq).wantError(t, http.StatusServiceUnavailable, "unavailable", "voice calls are not available")
	}
}

func TestAnswerCall(t *testing.T) {
	e, calls := callsEnv(t)
	calls.Ring("call-1", "b-voice")
	r := do(t, e, req{method: "POST", path: "/api/v1/calls/call-1/answer", token: tok(e, accounts.RoleOperator), body: answerBody(browserOffer)})
	if r.status != http.StatusOK {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	var got struct{ SDP string }
	r.decode(t, &got)
	if got.SDP != consoletest.FakeAnswerSDP {
		t.Errorf("answer SDP = %q, want the service's", got.SDP)
	}
	c, _ := calls.Call("call-1")
	if c.State != consoletest.CallAnswered || c.Offer != browserOffer || c.AnsweredBy != (alerts.Actor{Name: "operator", Role: "operator"}) {
		t.Errorf("the service got %+v", c)
	}

	// The service's refusals come back with their codes.
	do(t, e, req{method: "POST", path: "/api/v1/calls/call-1/answer", token: tok(e, accounts.RoleSupervisor), body: answerBody(browserOffer)}).
		wantError(t, http.StatusConflict, "conflict", "already answered by operator")
	do(t, e, req{method: "POST", path: "/api/v1/calls/nope/answer", token: tok(e, accounts.RoleOperator), body: answerBody(browserOffer)}).
		wantError(t, http.StatusNotFound, "not_found", `call "nope" not found`)
	calls.Ring("call-2", "b-voice")
	do(t, e, req{method: "POST", path: "/api/v1/calls/call-2/answer", token: tok(e, accounts.RoleOperator), body: answerBody("v=0\r\nm=video 9 RTP/AVP 96\r\n")}).
		wantError(t, http.StatusBadRequest, "invalid", "not an audio SDP offer")
}

func TestAnswerCallBody(t *testing.T) {
	e, calls := callsEnv(t)
	calls.Ring("c1", "b-voice")
	op := tok(e, accounts.RoleOperator)
	answer := func(body string) response {
		return do(t, e, req{method: "POST", path: "/api/v1/calls/c1/answer", token: op, body: body})
	}
	for _, tc := range []struct {
		name, body, msg string
		status          int
		code            string
	}{
		{"no body", "", "empty", 400, "invalid"},
		{"empty sdp", `{"sdp":""}`, "sdp: required", 400, "invalid"},
		{"no sdp", `{}`, "sdp: required", 400, "invalid"},
		{"not sdp", `{"sdp":"hello"}`, "must start with v=0", 400, "invalid"},
		{"sdp after a space", answerBody(" " + browserOffer), "must start with v=0", 400, "invalid"},
		{"sdp of the wrong type", `{"sdp":12}`, `field "sdp"`, 400, "invalid"},
		{"unknown field", `{"sdp":"v=0","type":"offer"}`, `unknown field "type"`, 400, "invalid"},
		{"two values", answerBody(browserOffer) + `{}`, "more than one value", 400, "invalid"},
		{"over 64 KiB", answerBody(browserOffer + "a=x-pad:" + strings.Repeat("x", 64<<10) + "\r\n"), "larger than 65536 bytes", 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer(tc.body).wantError(t, tc.status, tc.code, tc.msg)
		})
	}
	if c, _ := calls.Call("c1"); c.State != consoletest.CallRinging {
		t.Fatalf("a refused request reached the service: %+v", c)
	}
	// An offer just under the cap is answered: the cap is 64 KiB, not less.
	big := browserOffer + "a=x-pad:" + strings.Repeat("x", 60<<10) + "\r\n"
	if r := answer(answerBody(big)); r.status != http.StatusOK {
		t.Fatalf("answer with a %d-byte offer: %d %s", len(big), r.status, r.body)
	}
}

func TestCallIDs(t *testing.T) {
	e, calls := callsEnv(t)
	long := strings.Repeat("a", 64)
	calls.Ring(long, "b-voice")
	calls.Ring("A_z-9", "b-voice")
	op := tok(e, accounts.RoleOperator)
	for _, id := range []string{strings.Repeat("a", 65), "bad.id", "with%20space", "%C3%BC", "a%2Fb", "semi%3Bcolon"} {
		t.Run(id, func(t *testing.T) {
			do(t, e, req{method: "POST", path: "/api/v1/calls/" + id + "/answer", token: op, body: answerBody(browserOffer)}).
				wantError(t, http.StatusBadRequest, "invalid", "must be 1 to 64 letters, digits, _ or -")
			do(t, e, req{method: "POST", path: "/api/v1/calls/" + id + "/hangup", token: op}).
				wantError(t, http.StatusBadRequest, "invalid", "call id")
			do(t, e, req{method: "GET", path: "/api/v1/calls/" + id + "/recordings/device", token: op}).
				wantError(t, http.StatusBadRequest, "invalid", "call id")
		})
	}
	for _, id := range []string{long, "A_z-9"} {
		if r := do(t, e, req{method: "POST", path: "/api/v1/calls/" + id + "/hangup", token: op}); r.status != http.StatusNoContent {
			t.Errorf("hang up %q: %d %s", id, r.status, r.body)
		}
	}
}

func TestCallRoles(t *testing.T) {
	e, calls := callsEnv(t)
	dir := t.TempDir()
	rec := filepath.Join(dir, "device.ogg")
	if err := os.WriteFile(rec, []byte("OggS fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	routes := func(id string) []req {
		return []req{
			{method: "POST", path: "/api/v1/calls/" + id + "/answer", body: answerBody(browserOffer)},
			{method: "GET", path: "/api/v1/calls/" + id + "/recordings/device"},
			{method: "POST", path: "/api/v1/devices/b-voice/callback"},
			{method: "POST", path: "/api/v1/calls/" + id + "/hangup"},
		}
	}
	calls.Ring("c-inst", "b-voice")
	calls.SetRecording("c-inst", "device", rec)
	for _, rq := range routes("c-inst") {
		do(t, e, rq).wantError(t, http.StatusUnauthorized, "unauthorized", "authentication required")
		rq.token = tok(e, accounts.RoleInstaller)
		do(t, e, rq).wantError(t, http.StatusForbidden, "forbidden", "role installer may not")
	}
	if c, _ := calls.Call("c-inst"); c.State != consoletest.CallRinging || len(calls.Callbacks()) != 0 {
		t.Fatalf("an installer's or an anonymous request reached the service: %+v, %v", c, calls.Callbacks())
	}
	for _, role := range []accounts.Role{accounts.RoleOperator, accounts.RoleSupervisor, accounts.RoleAdmin} {
		id := "c-" + string(role)
		calls.Ring(id, "b-voice")
		calls.SetRecording(id, "device", rec)
		for _, rq := range routes(id) {
			rq.token = tok(e, role)
			if r := do(t, e, rq); r.status >= 300 {
				t.Errorf("%s: %s %s = %d %s", role, rq.method, rq.path, r.status, r.body)
			}
		}
		if c, _ := calls.Call(id); c.State != consoletest.CallEnded || c.AnsweredBy.Name != string(role) || c.HungUpBy.Name != string(role) {
			t.Errorf("%s: call after answer and hang-up = %+v", role, c)
		}
	}
	if n := len(calls.Callbacks()); n != 3 {
		t.Errorf("%d call-backs, want one per answering role", n)
	}
}

// A browser session needs its CSRF token for every call action that
// changes something, and none to play a recording back.
func TestCallsCSRF(t *testing.T) {
	e, calls := callsEnv(t)
	rec := filepath.Join(t.TempDir(), "console.ogg")
	if err := os.WriteFile(rec, []byte("OggS fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls.Ring("c1", "b-voice")
	calls.SetRecording("c1", "console", rec)
	b := loginBrowser(t, e, "operator", "pw-operator", nil)
	for _, rq := range []breq{
		{method: "POST", path: "/api/v1/calls/c1/answer", body: answerBody(browserOffer)},
		{method: "POST", path: "/api/v1/calls/c1/hangup"},
		{method: "POST", path: "/api/v1/devices/b-voice/callback"},
	} {
		b.do(t, rq).wantError(t, http.StatusForbidden, "forbidden", "missing or invalid CSRF token")
		rq.csrf = "AAAA" + b.csrf[4:]
		b.do(t, rq).wantError(t, http.StatusForbidden, "forbidden", "missing or invalid CSRF token")
		rq.header = map[string]string{"Sec-Fetch-Site": "cross-site"}
		rq.csrf = b.csrf
		b.do(t, rq).wantError(t, http.StatusForbidden, "forbidden", "cross-origin request refused")
	}
	if c, _ := calls.Call("c1"); c.State != consoletest.CallRinging || len(calls.Callbacks()) != 0 {
		t.Fatalf("a request without the CSRF token reached the service: %+v, %v", c, calls.Callbacks())
	}
	for _, rq := range []breq{
		{method: "POST", path: "/api/v1/calls/c1/answer", body: answerBody(browserOffer), csrf: b.csrf},
		{method: "POST", path: "/api/v1/devices/b-voice/callback", csrf: b.csrf},
		{method: "GET", path: "/api/v1/calls/c1/recordings/console"},
		{method: "POST", path: "/api/v1/calls/c1/hangup", csrf: b.csrf},
	} {
		if r := b.do(t, rq); r.status >= 300 {
			t.Errorf("%s %s with the session: %d %s", rq.method, rq.path, r.status, r.body)
		}
	}
	if c, _ := calls.Call("c1"); c.State != consoletest.CallEnded || c.HungUpBy.Name != "operator" {
		t.Errorf("call after the session's answer and hang-up: %+v", c)
	}
}

func TestHangupCall(t *testing.T) {
	e, calls := callsEnv(t)
	calls.Ring("c1", "b-voice")
	op := tok(e, accounts.RoleOperator)
	if r := do(t, e, req{method: "POST", path: "/api/v1/calls/c1/hangup", token: op}); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("hang up: %d %q", r.status, r.body)
	}
	if c, _ := calls.Call("c1"); c.State != consoletest.CallEnded || c.HungUpBy.Role != "operator" {
		t.Errorf("call after hang-up: %+v", c)
	}
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/hangup", token: op}).wantError(t, http.StatusConflict, "conflict", "has ended")
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/answer", token: op, body: answerBody(browserOffer)}).wantError(t, http.StatusConflict, "conflict", "has ended")
	do(t, e, req{method: "POST", path: "/api/v1/calls/c2/hangup", token: op}).wantError(t, http.StatusNotFound, "not_found", `call "c2" not found`)
	calls.Ring("c3", "b-voice")
	do(t, e, req{method: "POST", path: "/api/v1/calls/c3/hangup", token: op, body: `{"reason":"x"}`}).wantError(t, http.StatusBadRequest, "invalid", `unknown field "reason"`)
	do(t, e, req{method: "GET", path: "/api/v1/calls/c3/hangup", token: op}).wantError(t, http.StatusMethodNotAllowed, "method_not_allowed", "GET")
}

// TestReleaseCall: the browser that answered gives back a call whose audio
// never connected; it rings again and another operator answers it.
func TestReleaseCall(t *testing.T) {
	e, calls := callsEnv(t)
	calls.Ring("c1", "b-voice")
	op, sup := tok(e, accounts.RoleOperator), tok(e, accounts.RoleSupervisor)
	if r := do(t, e, req{method: "POST", path: "/api/v1/calls/c1/answer", token: op, body: answerBody(browserOffer)}); r.status != http.StatusOK {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/release", token: op, body: `{"reason":"bored"}`}).wantError(t, http.StatusBadRequest, "invalid", "release reason")
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/release", token: op, body: `{}`}).wantError(t, http.StatusBadRequest, "invalid", "release reason")
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/release", token: sup, body: `{"reason":"media_failed"}`}).wantError(t, http.StatusConflict, "conflict", "answered by")
	if r := do(t, e, req{method: "POST", path: "/api/v1/calls/c1/release", token: op, body: `{"reason":"media_failed"}`}); r.status != http.StatusNoContent {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if c, _ := calls.Call("c1"); c.State != consoletest.CallRinging || c.ReleasedBy.Name != "operator" {
		t.Errorf("call after the release: %+v", c)
	}
	if r := do(t, e, req{method: "POST", path: "/api/v1/calls/c1/answer", token: sup, body: answerBody(browserOffer)}); r.status != http.StatusOK {
		t.Errorf("answer after the release: %d %s", r.status, r.body)
	}
	do(t, e, req{method: "POST", path: "/api/v1/calls/c9/release", token: op, body: `{"reason":"media_timeout"}`}).wantError(t, http.StatusNotFound, "not_found", `call "c9" not found`)
	do(t, e, req{method: "POST", path: "/api/v1/calls/c1/release", token: tok(e, accounts.RoleInstaller), body: `{"reason":"media_failed"}`}).wantError(t, http.StatusForbidden, "forbidden", "role installer may not")
}

func TestCallback(t *testing.T) {
	e, calls := callsEnv(t)
	sup := tok(e, accounts.RoleSupervisor)
	r := do(t, e, req{method: "POST", path: "/api/v1/devices/b-voice/callback", token: sup})
	if r.status != http.StatusAccepted {
		t.Fatalf("call back: %d %s", r.status, r.body)
	}
	if m := r.json(t); m["device"] != "b-voice" || m["requested"] != true {
		t.Errorf("call back answered %s", r.body)
	}
	want := consoletest.Callback{DeviceID: "b-voice", By: alerts.Actor{Name: "supervisor", Role: "supervisor"}}
	if cbs := calls.Callbacks(); len(cbs) != 1 || cbs[0] != want {
		t.Fatalf("call-backs = %+v, want %+v", cbs, want)
	}
	do(t, e, req{method: "POST", path: "/api/v1/devices/b-mute/callback", token: sup}).wantError(t, http.StatusBadRequest, "invalid", "cannot make voice calls")
	do(t, e, req{method: "POST", path: "/api/v1/devices/b-gone/callback", token: sup}).wantError(t, http.StatusNotFound, "not_found", `"b-gone"`)
	do(t, e, req{method: "POST", path: "/api/v1/devices/.bad/callback", token: sup}).wantError(t, http.StatusBadRequest, "invalid", "not a device id")
	do(t, e, req{method: "POST", path: "/api/v1/devices/b-voice/callback", token: sup, body: `{"alert":1}`}).wantError(t, http.StatusBadRequest, "invalid", `unknown field "alert"`)
	if n := len(calls.Callbacks()); n != 1 {
		t.Errorf("%d call-backs after refusals, want 1", n)
	}
}

func TestRecordings(t *testing.T) {
	e, calls := callsEnv(t)
	dir := t.TempDir()
	// Not a real Ogg file: the console serves what the hub recorded as is.
	body := "OggS\x00\x02" + strings.Repeat("opus", 1000)
	path := filepath.Join(dir, "device.ogg")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	calls.Ring("c1", "b-voice")
	calls.SetRecording("c1", "device", path)
	calls.SetRecording("c1", "console", filepath.Join(dir, "missing.ogg"))
	op := tok(e, accounts.RoleOperator)

	r := do(t, e, req{method: "GET", path: "/api/v1/calls/c1/recordings/device", token: op})
	if r.status != http.StatusOK || string(r.body) != body {
		t.Fatalf("recording: %d, %d bytes, want 200 and the file's %d", r.status, len(r.body), len(body))
	}
	for h, want := range map[string]string{"Content-Type": "audio/ogg", "X-Content-Type-Options": "nosniff", "Accept-Ranges": "bytes", "Cache-Control": "private, no-cache"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="call-c1-device.ogg"`) {
		t.Errorf("Content-Disposition = %q", cd)
	}

	// A player seeks with range requests.
	hr, err := http.NewRequest("GET", e.URL+"/api/v1/calls/c1/recordings/device", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+op)
	hr.Header.Set("Range", "bytes=0-3")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(part) != "OggS" || resp.Header.Get("Content-Type") != "audio/ogg" {
		t.Errorf("range request: %d %q %q", resp.StatusCode, part, resp.Header.Get("Content-Type"))
	}

	do(t, e, req{method: "GET", path: "/api/v1/calls/c1/recordings/console", token: op}).wantError(t, http.StatusNotFound, "not_found", "call c1 has no console recording")
	do(t, e, req{method: "GET", path: "/api/v1/calls/c1/recordings/both", token: op}).wantError(t, http.StatusBadRequest, "invalid", "must be device or console")
	do(t, e, req{method: "GET", path: "/api/v1/calls/c9/recordings/device", token: op}).wantError(t, http.StatusNotFound, "not_found", `call "c9" not found`)
	calls.Ring("c2", "b-voice")
	do(t, e, req{method: "GET", path: "/api/v1/calls/c2/recordings/device", token: op}).wantError(t, http.StatusNotFound, "not_found", "no device recording")
	calls.SetRecording("c2", "device", dir) // a directory is not a recording
	do(t, e, req{method: "GET", path: "/api/v1/calls/c2/recordings/device", token: op}).wantError(t, http.StatusNotFound, "not_found", "no device recording")
}

// A broken hub answers 500 without saying why to the client.
func TestCallServiceFailure(t *testing.T) {
	e, calls := callsEnv(t)
	calls.Ring("c1", "b-voice")
	calls.Fail = errors.New("pion: secret internals")
	op := tok(e, accounts.RoleOperator)
	for _, rq := range []req{
		{method: "POST", path: "/api/v1/calls/c1/answer", body: answerBody(browserOffer)},
		{method: "POST", path: "/api/v1/calls/c1/hangup"},
		{method: "POST", path: "/api/v1/devices/b-voice/callback"},
		{method: "GET", path: "/api/v1/calls/c1/recordings/device"},
	} {
		rq.token = op
		r := do(t, e, rq)
		r.wantError(t, http.StatusInternalServerError, "internal", "internal error")
		if strings.Contains(string(r.body), "secret") {
			t.Errorf("%s %s leaks the internal error: %s", rq.method, rq.path, r.body)
		}
	}
}
